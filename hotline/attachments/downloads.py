"""A stored file as an HTTP answer (the API's and the console's downloads alike).

The browser gets the type the content was judged to be, never sniffs another
(`nosniff`), runs nothing from it (a sandboxing CSP: a PDF or SVG cannot script the
console's origin), and keeps no copy (`no-store`: callers' material on shared computers).
Photos and PDFs may open in the browser (`inline`); everything else is a download.
"""

import io

from flask import send_file

from hotline.attachments.models import Attachment, Kind

INLINE_KINDS = (Kind.IMAGE, Kind.PDF)


def send(attachment: Attachment, data: bytes, *, inline: bool):
    response = send_file(io.BytesIO(data), mimetype=attachment.content_type,
                         as_attachment=not (inline and attachment.kind in INLINE_KINDS),
                         download_name=attachment.filename, max_age=0)
    return _guarded(response, sandbox=attachment.kind != Kind.PDF)


def send_thumbnail(attachment: Attachment, data: bytes):
    response = send_file(io.BytesIO(data), mimetype="image/jpeg", max_age=0,
                         download_name=f"thumbnail-{attachment.id}.jpg")
    return _guarded(response)


def _guarded(response, sandbox: bool = True):
    """(Chromium will not show a PDF in a sandboxed document; its viewer runs no script of the
    file in the console's origin anyway.)"""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if sandbox:
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response.headers["Cache-Control"] = "private, no-store"
    return response
