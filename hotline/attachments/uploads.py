"""Files arriving in a request: the larger body allowed where files are taken, the files
read (size-limited) from a multipart form, and a clear refusal in Chinese past the limit.

MAX_CONTENT_LENGTH (1 MB) stays the limit of every other body; the endpoints that take files
(UPLOAD_ENDPOINTS) allow ATTACHMENT_MAX_FILES files of ATTACHMENT_MAX_BYTES each, set before
anything (the console's CSRF check) reads the body.
"""

from flask import Flask, render_template, request
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from hotline.attachments import service
from hotline.errors import error_body

UPLOAD_ENDPOINTS = frozenset({"attachments.upload", "console.ticket_action", "console.new_ticket",
                              "console.upload_attachments"})
FIELD = "file"
KEEP_LOCATION = "keep_location"


def init_app(app: Flask) -> None:
    app.before_request(_allow_files)
    app.register_error_handler(RequestEntityTooLarge, _too_large)


def _allow_files() -> None:
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = service.max_bytes() * service.max_files() + 1024 * 1024


def _too_large(_error):
    """The whole request was over the limit (several large files, or one far over it)."""
    error = service.too_large()
    if request.blueprint == "console":
        return render_template("console/error.html", code=413, message=error.message), 413
    return error_body(413, error.message, error.errors, error.error)


def from_form(files) -> list[service.Upload]:
    """The non-empty files of a form's `file` inputs (a form sent without choosing any gives
    one empty part), each read within the size limit."""
    chosen: list[FileStorage] = [f for f in files.getlist(FIELD) if f and f.filename]
    return [service.read_upload(f.stream, f.filename) for f in chosen]


def keep_location(form) -> bool:
    return form.get(KEEP_LOCATION) in ("1", "true", "on", "yes")
