"""In a real browser (issue 22): a village handler on a 375 px phone acknowledges a ticket and
replies with a photo from the camera input; the photo then shows as a thumbnail on the
ticket page. The desktop ticket page prints without the console around it. Screenshots go to
test-artifacts/; with UPDATE_SCREENSHOTS=1 also to docs/screenshots/ (the product as a
newcomer sees it, kept in the repository), so an ordinary run leaves the tree unchanged."""

import io
import os
from pathlib import Path

from PIL import Image, ImageDraw

from tests.console import test_browser
from tests.console.test_browser import shot

live_server, chromium, person = test_browser.live_server, test_browser.chromium, test_browser.person
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 375, "height": 812}
# A phone's browser (375 px, touch), for `person(username, **ON_A_PHONE)`.
ON_A_PHONE = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def docs_shot(page, name: str) -> None:
    shot(page, name)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def street_photo() -> bytes:
    """A photo of the mended street light at dusk, as a phone's camera saves it (with GPS)."""
    image = Image.new("RGB", (1200, 900))
    draw = ImageDraw.Draw(image)
    for y in range(900):                                   # the evening sky, then the road
        draw.line([(0, y), (1200, y)], fill=(40 + y // 8, 60 + y // 9, 120 + y // 10) if y < 620
                  else (70, 70, 75))
    draw.rectangle([560, 180, 590, 640], fill=(90, 95, 100))            # the pole
    draw.rectangle([520, 160, 700, 190], fill=(90, 95, 100))            # the arm
    draw.ellipse([640, 180, 720, 230], fill=(255, 236, 150))            # the lamp, lit
    draw.polygon([(600, 900), (660, 620), (720, 620), (900, 900)], fill=(255, 240, 190))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (34.0, 15.0, 30.0), 3: "E", 4: (117.0, 11.0, 5.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# The thumbnail has arrived and decoded (waits for it: the page may be drawn before the image).
LOADED = ("img => img.complete ? img.naturalWidth > 0 : new Promise(done => {"
          " img.onload = () => done(img.naturalWidth > 0); img.onerror = () => done(false); })")


def test_a_handler_on_a_phone_acknowledges_and_replies_with_a_photo(person, api):
    ticket = api.dispatched(unit="gulou", content="河畔社区3号楼前路灯坏了一个月，晚上看不见路。")
    page = person("handler-gulou", **ON_A_PHONE)
    page.goto(f"/console/tickets/{ticket['id']}")
    assert fits(page)
    acknowledge = page.locator("#action-acknowledge")
    button = acknowledge.get_by_role("button", name="签收")
    box = button.bounding_box()
    assert box["height"] >= 40 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    button.tap()
    page.get_by_text("已完成：签收").wait_for()
    assert "办理中" in page.locator(".state-badge").inner_text()

    reply = page.locator("#action-reply")
    if reply.get_attribute("open") is None:
        reply.locator("summary").tap()
    reply.locator("textarea[name=result]").fill("已更换灯泡，路灯恢复照明，附整改后照片。")
    resolved = reply.locator("[name=resolved]")
    if resolved.count() > 1:                          # yes/no radios
        reply.locator("[name=resolved][value=true]").check()
    else:
        resolved.fill("true")
    camera = reply.locator('input[type=file][capture="environment"]')
    assert camera.get_attribute("accept") == "image/*"
    camera.set_input_files(files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg",
                                   "buffer": street_photo()}])
    assert "IMG_0001.jpg" in reply.locator(".chosen").inner_text()
    reply.locator("span", has_text="拍照").scroll_into_view_if_needed()
    assert fits(page)
    docs_shot(page, "ticket-phone-reply")
    reply.get_by_role("button", name="办理回复").tap()
    page.get_by_text("已完成：办理回复").wait_for()

    assert "待审核" in page.locator(".state-badge").inner_text()
    thumb = page.locator("#attachments .thumbs img")
    thumb.scroll_into_view_if_needed()
    assert thumb.count() == 1 and thumb.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "IMG_0001.jpg" in page.locator("#attachments").inner_text()
    assert fits(page)
    docs_shot(page, "ticket-phone-photo")

    dispatcher = person("dispatcher1")
    dispatcher.goto(f"/console/tickets/{ticket['id']}")
    assert dispatcher.locator("#attachments .thumbs img").evaluate(LOADED)
    docs_shot(dispatcher, "ticket-page")
    dispatcher.emulate_media(media="print")
    assert not dispatcher.locator("aside.actions").is_visible()
    assert not dispatcher.locator("header.top").is_visible()
    assert dispatcher.locator("#attachments .thumbs img").is_visible()
    shot(dispatcher, "ticket-page-print")
    dispatcher.emulate_media(media="screen")
    with dispatcher.expect_popup() as opened:
        dispatcher.get_by_role("link", name="打印交办单").click()
    sheet = opened.value
    sheet.wait_for_load_state()
    assert ticket["number"] in sheet.locator(".dispatch-sheet").inner_text()
    docs_shot(sheet, "dispatch-sheet")
