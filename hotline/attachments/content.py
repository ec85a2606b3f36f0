"""What a file is, by its bytes, and the work done on a photo when it is stored.

The type comes from the content (`filetype`, which reads the magic numbers and, for the
OOXML formats, the zip's parts), never from the name or the browser's Content-Type: a
renamed program is refused whatever it is called. Only what a ticket needs is accepted:
photos, PDFs, office documents and audio (MMS voice notes are AMR).

A photo's EXIF location (the GPS block) is taken out before it is stored unless the uploader
asked to keep it; the image is otherwise kept as it was (JPEG re-saved with its own
quantisation tables). A thumbnail (JPEG, at most THUMBNAIL_SIZE px) is made for the ticket page.
"""

import io
import logging
import zipfile
from dataclasses import dataclass

import filetype
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from hotline.attachments.models import Kind
from hotline.errors import Invalid

log = logging.getLogger(__name__)

THUMBNAIL_SIZE = (320, 320)
GPS_IFD = 0x8825
# Pillow refuses larger images itself (a decompression bomb); phone photos are far below.
Image.MAX_IMAGE_PIXELS = 80_000_000

# MIME type (as filetype names it) -> kind and the extension a download gets.
ACCEPTED: dict[str, tuple[Kind, str]] = {
    "image/jpeg": (Kind.IMAGE, "jpg"), "image/png": (Kind.IMAGE, "png"),
    "image/gif": (Kind.IMAGE, "gif"), "image/webp": (Kind.IMAGE, "webp"),
    "application/pdf": (Kind.PDF, "pdf"),
    "application/msword": (Kind.DOCUMENT, "doc"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (Kind.DOCUMENT, "docx"),
    "application/vnd.ms-excel": (Kind.DOCUMENT, "xls"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (Kind.DOCUMENT, "xlsx"),
    "application/vnd.ms-powerpoint": (Kind.DOCUMENT, "ppt"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (Kind.DOCUMENT, "pptx"),
    "application/vnd.oasis.opendocument.text": (Kind.DOCUMENT, "odt"),
    "application/vnd.oasis.opendocument.spreadsheet": (Kind.DOCUMENT, "ods"),
    "application/vnd.oasis.opendocument.presentation": (Kind.DOCUMENT, "odp"),
    "audio/mpeg": (Kind.AUDIO, "mp3"), "audio/amr": (Kind.AUDIO, "amr"),
    "audio/x-wav": (Kind.AUDIO, "wav"), "audio/mp4": (Kind.AUDIO, "m4a"),
    "audio/ogg": (Kind.AUDIO, "ogg"), "audio/aac": (Kind.AUDIO, "aac"),
}
ACCEPTED_TEXT = _l("照片（JPG、PNG、GIF、WebP）、PDF、Word/Excel/PowerPoint 文档"
                   "或录音（MP3、AMR、WAV、M4A、OGG）")
# What the file input of a form suggests to the browser (the server judges the bytes anyway).
ACCEPT_ATTRIBUTE = "image/*,audio/*,.pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp"


@dataclass
class Examined:
    content_type: str
    kind: Kind
    extension: str
    data: bytes                       # what is stored (a photo without its location)
    thumbnail: bytes | None = None
    location_found: bool = False     # the photo said where it was taken
    location_kept: bool = False      # ... and the uploader asked to keep that


def detect(data: bytes) -> tuple[str, Kind, str]:
    """The MIME type, kind and extension of `data`; 422 when it is none of the accepted kinds."""
    guess = filetype.guess(data)
    mime = guess.mime if guess else None
    if mime == "application/zip":
        mime = _office_zip(data)
    if mime not in ACCEPTED:
        errors = {"file": ["不支持的文件类型 (unsupported file type)"]}
        if mime is None:
            raise Invalid(errors=errors, error="attachment.unknown_type", params={"accepted": ACCEPTED_TEXT})
        raise Invalid(errors=errors, error="attachment.unsupported_type",
                      params={"mime": mime, "accepted": ACCEPTED_TEXT})
    kind, extension = ACCEPTED[mime]
    return mime, kind, extension


def _office_zip(data: bytes) -> str | None:
    """A zip that filetype did not name: an OOXML document written with its parts in another
    order (LibreOffice, WPS) is still one."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        return None
    for prefix, mime in (("word/", "wordprocessingml.document"), ("xl/", "spreadsheetml.sheet"),
                         ("ppt/", "presentationml.presentation")):
        if "[Content_Types].xml" in names and any(name.startswith(prefix) for name in names):
            return f"application/vnd.openxmlformats-officedocument.{mime}"
    return None


def examine(data: bytes, *, keep_location: bool = False) -> Examined:
    """Check `data` and prepare what is stored: the bytes (a photo's location out unless kept)
    and, for a photo, its thumbnail."""
    mime, kind, extension = detect(data)
    examined = Examined(mime, kind, extension, data)
    if kind == Kind.IMAGE:
        _prepare_image(examined, keep_location)
    return examined


def _prepare_image(examined: Examined, keep_location: bool) -> None:
    try:
        image = Image.open(io.BytesIO(examined.data))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        log.info("unreadable image: %s", error)
        raise Invalid(errors={"file": ["图片无法读取 (unreadable image)"]},
                      error="attachment.bad_image") from None
    exif = image.getexif()
    examined.location_found = bool(exif.get_ifd(GPS_IFD)) or GPS_IFD in exif
    if examined.location_found and not keep_location:
        examined.data = _without_location(image, exif)
    examined.location_kept = examined.location_found and keep_location
    examined.thumbnail = _thumbnail(image)


def _without_location(image: Image.Image, exif: Image.Exif) -> bytes:
    """The same image, its EXIF without the GPS block (and no XMP, which may repeat it)."""
    del exif[GPS_IFD]
    out = io.BytesIO()
    params: dict = {"exif": exif.tobytes()}
    if image.info.get("icc_profile"):
        params["icc_profile"] = image.info["icc_profile"]
    if image.format == "JPEG":
        params["quality"] = "keep"      # the original's quantisation tables: no visible loss
    image.save(out, image.format, **params)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    thumb = ImageOps.exif_transpose(image.copy())
    thumb.thumbnail(THUMBNAIL_SIZE)
    if thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80)
    return out.getvalue()
