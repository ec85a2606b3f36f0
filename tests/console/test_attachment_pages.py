"""Attachments in the console and the dispatch sheet (交办单), issue 22: a reply with its
site photos shows them as thumbnails; a refused file leaves the reply undone and says why in
Chinese; the intake's material is the caller's (masked where the caller is); the sheet prints
and its PDF holds the ticket, masked as for its reader."""

import io
import re

from PIL import Image
from pypdf import PdfReader

from tests.console.helpers import INTAKE, ticket_id_from
from tests.test_attachments import GPS, PDF, photo


def thumbnails(page: str) -> list[str]:
    return re.findall(r'<img src="(/console/attachments/\d+/thumbnail)"', page)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_reply_with_a_site_photo_shows_it_as_a_thumbnail(browser, api):
    ticket = api.in_progress()
    handler = browser("handler-gulou")
    page = handler.html(f"/console/tickets/{ticket['id']}")
    assert 'capture="environment"' in page and 'enctype="multipart/form-data"' in page
    handler.action(ticket["id"], "reply", {"result": "路灯已更换，附现场照片", "resolved": "true",
                                           "file": (io.BytesIO(photo()), "整改后.jpg")})
    assert api.ticket(ticket["id"])["state"] == "replied"

    dispatcher = browser("dispatcher1")
    page = dispatcher.html(f"/console/tickets/{ticket['id']}")
    [thumb] = thumbnails(page)
    assert "整改后.jpg" in page
    image = Image.open(io.BytesIO(dispatcher.get(thumb).data))
    assert image.format == "JPEG" and max(image.size) <= 320
    full = dispatcher.get(thumb.removesuffix("/thumbnail"))
    assert full.headers["Content-Disposition"].startswith("inline")
    assert not Image.open(io.BytesIO(full.data)).getexif().get_ifd(GPS)
    [attach] = [e for e in api.events(ticket["id"]) if e["action"] == "attach"]
    assert attach["data"]["with"] == "reply"


def test_a_refused_file_leaves_the_reply_undone_and_says_why(browser, api):
    ticket = api.in_progress()
    handler = browser("handler-gulou")
    response = handler.action(ticket["id"], "reply", {
        "result": "已处理", "resolved": "true", "file": (io.BytesIO(b"MZ" + bytes(400)), "照片.jpg")},
        expect=422)
    page = handler.text(response)
    assert "不支持的文件类型" in page and "照片.jpg" in page
    assert "已处理" in page                                   # what was typed is still there
    assert api.ticket(ticket["id"])["state"] == "in_progress"


def test_a_note_with_a_file_over_the_limit_is_refused_in_chinese(app, browser, api, monkeypatch):
    ticket = api.in_progress()
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 2048)
    handler = browser("handler-gulou")
    response = handler.action(ticket["id"], "add_note", {
        "note": "补充材料", "file": (io.BytesIO(photo(size=(1200, 900))), "大照片.jpg")}, expect=413)
    assert "超过 2 KB 的大小上限" in handler.text(response)
    assert "add_note" not in api.actions_logged(ticket["id"])


def test_the_intake_material_is_the_callers_and_masked_for_a_co_unit(browser, api):
    seat = browser("seat1")
    response = seat.post("/console/tickets/new", {**INTAKE, "file": (io.BytesIO(photo()), "身份证.jpg")})
    ticket_id = ticket_id_from(response)
    api.act(ticket_id, "submit", "seat1")
    api.act(ticket_id, "dispatch", "dispatcher1", {"unit": "gulou", "co_units": ["edu"], "note": "请核实"})

    lead = browser("handler-gulou").html(f"/console/tickets/{ticket_id}")
    assert "身份证.jpg" in lead and len(thumbnails(lead)) == 1
    co_unit = browser("handler-edu")
    page = co_unit.html(f"/console/tickets/{ticket_id}")
    assert "身份证" not in page and "来电人提供的材料" in page and thumbnails(page) == []
    [attachment] = api.get(f"/api/v1/tickets/{ticket_id}/attachments", "supervisor1").json
    co_unit.get(f"/console/attachments/{attachment['id']}", expect=403)


def test_the_attachments_card_uploads_a_pdf_with_a_note(browser, api):
    ticket = api.in_progress()
    handler = browser("handler-gulou")
    handler.post(f"/console/tickets/{ticket['id']}/attachments",
                 {"file": (io.BytesIO(PDF), "整改报告.pdf"), "note": "街道盖章件"})
    page = handler.html(f"/console/tickets/{ticket['id']}")
    assert "整改报告.pdf" in page and "街道盖章件" in page
    empty = handler.post(f"/console/tickets/{ticket['id']}/attachments", {"note": "无文件"})
    assert "请选择要上传的文件" in handler.html(empty.headers["Location"].split("#")[0])


def test_the_dispatch_sheet_pdf_holds_the_ticket_masked_for_a_co_unit(browser, api):
    ticket = api.dispatched(unit="gulou", co_units=["edu"])
    api.act(ticket["id"], "acknowledge", "handler-gulou")
    api.act(ticket["id"], "supervise", "supervisor1", {"note": "请本周内修复"})
    handler = browser("handler-gulou")
    handler.post(f"/console/tickets/{ticket['id']}/attachments",
                 {"file": (io.BytesIO(photo()), "现场照片.jpg")})

    response = browser("handler-edu").get(f"/console/tickets/{ticket['id']}/sheet.pdf")
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    for expected in ("工单交办单", ticket["number"], "小区路灯不亮", "鼓楼区黄楼街道河畔社区路灯坏了一个月",
                     "鼓楼区", "市教育局", "请核实处理", "请本周内修复", "签收时限", "办理时限",
                     "现场照片.jpg", "已脱敏"):
        assert expected in text, (expected, text)
    assert "13800000001" not in text and "张三" not in text        # the caller, masked

    lead = pdf_text(handler.get(f"/console/tickets/{ticket['id']}/sheet.pdf").data)
    assert "+8613800000001" in lead and "张三" in lead


def test_the_print_layout_of_the_sheet(browser, api):
    ticket = api.dispatched(unit="gulou")
    page = browser("dispatcher1").html(f"/console/tickets/{ticket['id']}/sheet")
    assert "工单交办单" in page and ticket["number"] in page and "data-print" in page
    assert "+8613800000001" in page
    browser("handler-yunlong").get(f"/console/tickets/{ticket['id']}/sheet", expect=404)
    browser("handler-yunlong").get(f"/console/tickets/{ticket['id']}/sheet.pdf", expect=404)


def test_a_form_far_over_the_limit_gets_a_chinese_page_not_a_bare_413(app, browser, api, monkeypatch):
    ticket = api.in_progress()
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 2048)
    handler = browser("handler-gulou")
    response = handler.action(ticket["id"], "add_note", {
        "note": "录像", "file": (io.BytesIO(bytes(1200 * 1024)), "录像.mp4")}, expect=413)
    assert response.mimetype == "text/html" and "超过 2 KB 的大小上限" in handler.text(response)
