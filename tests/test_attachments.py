"""Attachments (issue 22): files on a ticket, judged by their content, a photo's location taken
out unless kept, size-limited with a Chinese refusal, scoped and masked like the ticket, every
read audited."""

import hashlib
import io
import json
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from PIL import Image
from sqlalchemy import select

from hotline.attachments import storage
from hotline.attachments.models import Attachment
from hotline.attachments.storage import StorageMissing
from hotline.extensions import db
from hotline.retention import anonymise
from referrals.models import ReadAudit

GPS = 0x8825


def photo(*, gps: bool = True, size=(640, 480)) -> bytes:
    """A JPEG as a phone takes it: the camera's name and, unless said otherwise, where."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneCam"
    if gps:
        exif[GPS] = {1: "N", 2: (32.0, 15.0, 30.0), 3: "E", 4: (117.0, 11.0, 5.0)}
    out = io.BytesIO()
    Image.new("RGB", size, (40, 120, 200)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
AMR = b"#!AMR\n" + bytes(200)


def upload(api, ticket_id: int, as_user: str, data: bytes, name: str = "现场照片.jpg",
           expect: int | None = 201, **form):
    response = api.client.post(f"/api/v1/tickets/{ticket_id}/attachments", headers=api.headers(as_user),
                               data={"file": (io.BytesIO(data), name), **form},
                               content_type="multipart/form-data")
    if expect is not None:
        assert response.status_code == expect, response.get_json()
    return response


def download(api, attachment_id: int, as_user: str, expect: int = 200, what: str = "content"):
    return api.get(f"/api/v1/attachments/{attachment_id}/{what}", as_user, expect=expect)


def exif_of(data: bytes) -> Image.Exif:
    return Image.open(io.BytesIO(data)).getexif()


def test_a_handlers_site_photo_is_stored_without_its_location_checksummed_and_thumbnailed(api):
    ticket = api.in_progress()
    body = upload(api, ticket["id"], "handler-gulou", photo(), note="整改后现场").get_json()
    assert body["filename"] == "现场照片.jpg" and body["content_type"] == "image/jpeg"
    assert body["kind"] == "image" and body["thumbnail"] and body["uploaded_by"] == "handler-gulou"
    assert not body["location_kept"]

    stored = download(api, body["id"], "dispatcher1")
    assert hashlib.sha256(stored.data).hexdigest() == body["sha256"] and len(stored.data) == body["size"]
    assert stored.headers["X-Content-Type-Options"] == "nosniff"
    assert not exif_of(stored.data).get_ifd(GPS)              # where it was taken: gone
    assert exif_of(stored.data)[0x010F] == "PhoneCam"         # the rest of the EXIF kept
    thumb = Image.open(io.BytesIO(download(api, body["id"], "dispatcher1", what="thumbnail").data))
    assert max(thumb.size) <= 320

    [listed] = api.get(f"/api/v1/tickets/{ticket['id']}/attachments", "supervisor1").json
    assert listed["id"] == body["id"] and listed["note"] == "整改后现场"
    [event] = [e for e in api.events(ticket["id"]) if e["action"] == "attach"]
    assert event["actor"] == "handler-gulou"
    assert event["data"]["attachments"][0]["sha256"] == body["sha256"]


def test_the_uploader_may_keep_a_photos_location(api):
    ticket = api.in_progress()
    body = upload(api, ticket["id"], "handler-gulou", photo(), keep_location="true").get_json()
    assert body["location_kept"]
    assert exif_of(download(api, body["id"], "handler-gulou").data).get_ifd(GPS)[1] == "N"


@pytest.mark.parametrize(("data", "name", "kind", "content_type"), [
    (PDF, "整改报告.pdf", "pdf", "application/pdf"),
    (docx(), "情况说明", "document",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (AMR, "语音.amr", "audio", "audio/amr"),
])
def test_pdfs_office_documents_and_audio_are_accepted_by_their_content(api, data, name, kind, content_type):
    ticket = api.in_progress()
    body = upload(api, ticket["id"], "handler-gulou", data, name=name).get_json()
    assert (body["kind"], body["content_type"]) == (kind, content_type)
    assert not body["thumbnail"]
    if name == "情况说明":                      # named after what it is
        assert body["filename"] == "情况说明.docx"


def test_a_program_named_like_a_photo_is_refused_in_chinese(api):
    ticket = api.in_progress()
    response = upload(api, ticket["id"], "handler-gulou", b"MZ\x90\x00" + bytes(300),
                      name="photo.jpg", expect=422)
    body = api.assert_error(response, 422, "file")
    assert body["error"] == "attachment.unsupported_type"
    assert "不支持的文件类型" in body["message"] and "photo.jpg" in body["message"]
    assert api.get(f"/api/v1/tickets/{ticket['id']}/attachments", "handler-gulou").json == []


def test_a_file_over_the_limit_is_refused_clearly_and_nothing_is_kept(app, api, monkeypatch):
    ticket = api.in_progress()
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 4096)
    big = photo(size=(1600, 1200))
    assert len(big) > 4096
    body = api.assert_error(upload(api, ticket["id"], "handler-gulou", big, expect=413), 413, "file")
    assert body["error"] == "attachment.too_large"
    assert "超过 4 KB 的大小上限" in body["message"]
    # A request far past the limit of the whole form is refused before it is read.
    huge = upload(api, ticket["id"], "handler-gulou", bytes(6 * 4096 + 2 * 1024 * 1024), expect=413)
    assert "超过 4 KB 的大小上限" in huge.get_json()["message"]
    assert api.get(f"/api/v1/tickets/{ticket['id']}/attachments", "handler-gulou").json == []


def test_the_default_limit_is_20_mb(app, api):
    assert app.config["ATTACHMENT_MAX_BYTES"] == 20 * 1024 * 1024
    ticket = api.in_progress()
    response = upload(api, ticket["id"], "handler-gulou", b"\xff\xd8\xff" + bytes(20 * 1024 * 1024),
                      expect=413)
    assert "20 MB" in response.get_json()["message"]


def test_files_go_with_the_ticket_a_role_that_cannot_see_it_gets_404(api):
    ticket = api.in_progress()
    body = upload(api, ticket["id"], "handler-gulou", photo()).get_json()
    api.get(f"/api/v1/tickets/{ticket['id']}/attachments", "handler-yunlong", expect=404)
    download(api, body["id"], "handler-yunlong", expect=404)
    download(api, body["id"], "handler-yunlong", expect=404, what="thumbnail")
    download(api, body["id"], "partner-xz-xinli", expect=404)
    upload(api, ticket["id"], "handler-yunlong", photo(), expect=404)


def test_the_callers_own_material_is_masked_for_a_co_unit_as_the_caller_is(api):
    ticket = api.dispatched(unit="gulou", co_units=["edu"])
    api.act(ticket["id"], "acknowledge", "handler-gulou")
    callers = upload(api, ticket["id"], "seat1", photo(), name="来电人身份证.jpg").get_json()
    site = upload(api, ticket["id"], "handler-gulou", photo(), name="现场.jpg").get_json()

    listed = {a["id"]: a for a in api.get(f"/api/v1/tickets/{ticket['id']}/attachments", "handler-edu").json}
    assert listed[callers["id"]]["masked"] and "身份证" not in listed[callers["id"]]["filename"]
    assert listed[callers["id"]]["sha256"] is None
    assert not listed[site["id"]]["masked"]
    refused = download(api, callers["id"], "handler-edu", expect=403)
    assert refused.get_json()["error"] == "attachment.masked"
    download(api, site["id"], "handler-edu")
    download(api, callers["id"], "handler-gulou")                 # the lead unit sees the caller


def test_every_download_is_in_the_read_audit(app, api):
    ticket = api.in_progress()
    body = upload(api, ticket["id"], "handler-gulou", photo()).get_json()
    download(api, body["id"], "dispatcher1")
    download(api, body["id"], "dispatcher1", what="thumbnail")
    with app.app_context():
        rows = list(db.session.scalars(select(ReadAudit).where(
            ReadAudit.subject == "ticket", ReadAudit.subject_id == ticket["id"]).order_by(ReadAudit.id)))
        assert [(r.view, r.detail["attachment"]) for r in rows] == [
            ("attachment", body["id"]), ("attachment_thumbnail", body["id"])]
    audit = api.get(f"/api/v1/audit/reads?ticket={ticket['id']}", "supervisor1").json
    assert {row["view"] for row in audit} >= {"attachment"}


def test_a_file_changed_on_disk_is_refused_not_served(app, api):
    ticket = api.in_progress()
    body = upload(api, ticket["id"], "handler-gulou", PDF, name="a.pdf").get_json()
    with app.test_request_context():
        key = db.session.get(Attachment, body["id"]).storage_key
        storage.storage().put(key, PDF + b"tampered")
    refused = download(api, body["id"], "dispatcher1", expect=410)
    assert refused.get_json()["error"] == "attachment.checksum_mismatch"


def test_a_childs_files_keep_to_the_childrens_desk_and_every_look_is_audited(app, api):
    child = {"phone": "+8613900000013", "name": "小明", "is_minor": True, "age": 13}
    ticket = api.create(as_user="seat2", desk="children", category="psych_support", subject="孩子情绪低落",
                        content="孩子在学校被欺负，不愿上学", caller=child)
    drawing = upload(api, ticket["id"], "seat2", photo(), name="孩子的画.jpg").get_json()
    upload(api, ticket["id"], "seat3", photo(), expect=404)          # not on the children's desk
    download(api, drawing["id"], "seat3", expect=404)
    download(api, drawing["id"], "seat2")
    api.get(f"/api/v1/tickets/{ticket['id']}/attachments", "supervisor1")
    with app.app_context():
        views = list(db.session.scalars(select(ReadAudit.view).where(
            ReadAudit.subject == "ticket", ReadAudit.subject_id == ticket["id"]).order_by(ReadAudit.id)))
    assert "attachment" in views and "attachments" in views


def test_retention_forgets_a_childs_files_and_the_log_never_named_them(app, api):
    child = {"phone": "+8613900000099", "name": "张小明", "is_minor": True, "age": 15}
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        old = api.create(as_user="seat2", desk="children", category="psych_support",
                         content="孩子和父母吵架后离家", caller=child)
        stored = upload(api, old["id"], "seat2", photo(), name="张小明的日记.jpg").get_json()
        api.act(old["id"], "answer", "seat2", {"answer": "已提供家庭教育指导"})
    api.forget_tokens()
    with app.test_request_context():
        key = db.session.get(Attachment, stored["id"]).storage_key
        assert anonymise(365, apply=True)["attachments"] == 1
        db.session.commit()
        assert db.session.get(Attachment, stored["id"]) is None
        with pytest.raises(StorageMissing):
            storage.storage().get(key)
    download(api, stored["id"], "supervisor1", expect=404)
    assert "张小明" not in json.dumps(api.events(old["id"]), ensure_ascii=False)
    assert api.events(old["id"])[-1]["data"]["attachments"] == 1
