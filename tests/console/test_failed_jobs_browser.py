"""The failed-job page in a real browser, wide and at a handler's phone width (375 px)."""

from hotline.channels.models import InboundSms
from tests.console.test_browser import ARTIFACTS, chromium, live_server, menu, person  # noqa: F401  (fixtures)
from tests.test_input_never_lost import Clock, timeline_refused, work_off
from tests.twilio_fakes import rows, sms_params


def test_the_failed_job_page_reads_well_wide_and_narrow(app, twilio, person):  # noqa: F811
    clock = Clock()
    with timeline_refused(app):
        twilio.post("/twilio/sms", sms_params("楼道里的灯坏了", "+8613811114444"))
        work_off(app, clock)
    [sms] = rows(app, InboundSms)
    for width, name in ((1360, "failed-jobs"), (375, "failed-jobs-375")):
        page = person("supervisor1", viewport={"width": width, "height": 800})
        menu(page, "失败任务")
        row = page.locator(f'tr[data-job="sms-{sms.id}"]')
        assert row.is_visible()
        assert "市民短信" in row.inner_text() and "read-only" in row.inner_text()
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow}px wider than the screen at {width}px"
