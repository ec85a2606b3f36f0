"""The daily report in a real browser: printed to PDF by Chromium (A4, the print stylesheet) and
its text read back; a screenshot for the docs (docs/screenshots/daily_report.png)."""

import io
import unicodedata
from pathlib import Path

from pypdf import PdfReader

from tests.console.test_browser import ARTIFACTS, chromium, live_server, person, shot  # noqa: F401  (fixtures)
from tests.console.test_kpis import week  # noqa: F401  (fixture)
from tests.console.test_reports import monday  # noqa: F401  (fixture)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pdf_text(pdf: PdfReader) -> str:
    """The PDF's text as read: the CJK fonts map some characters to their Kangxi radical
    look-alikes (⽇ for 日), which NFKC folds back."""
    return unicodedata.normalize("NFKC", "".join(page.extract_text() for page in pdf.pages))


def test_the_daily_report_prints_on_a4_with_what_the_centre_hands_in(person, monday):  # noqa: F811
    supervisor = person("supervisor1")
    supervisor.goto("/console/reports/daily?day=2026-11-23")
    supervisor.get_by_role("heading", name="一、受理概况").wait_for()
    SCREENSHOTS.mkdir(exist_ok=True)
    supervisor.screenshot(path=str(SCREENSHOTS / "daily_report.png"), full_page=True)

    supervisor.emulate_media(media="print")
    supervisor.set_viewport_size({"width": 794, "height": 1123})   # A4 at 96 dpi
    supervisor.screenshot(path=str(ARTIFACTS / "daily_report_print.png"), full_page=True)
    pdf = PdfReader(io.BytesIO(supervisor.pdf(format="A4", print_background=True)))
    first = pdf.pages[0].mediabox
    assert abs(float(first.width) - 595.3) < 2 and abs(float(first.height) - 841.9) < 2  # A4, in points
    text = pdf_text(pdf).replace(" ", "")
    assert "12345热线日报2026-11-23" in text
    for heading in ("一、受理概况", "二、热点", "三、指标变化", "四、超期工单", "五、危机工单"):
        assert heading in text, heading
    assert "本期受理5件" in text and "上期2件" in text
    assert monday["P2"]["number"] in text and monday["M4"]["number"] in text
    assert "李小雨" in text                           # the supervisor sees the caller
    # The page's chrome stays on the screen: no navigation, filters or buttons on paper.
    assert "退出" not in text and "下载XLSX" not in text and "工单查询" not in text

    # The co-unit's handler prints its own report, the child's name masked.
    edu = person("handler-edu")
    edu.set_viewport_size({"width": 375, "height": 800})     # a handler's phone
    edu.goto("/console/reports/daily?day=2026-11-23")
    page_width = edu.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 375, page_width                       # wide tables scroll in their box
    shot(edu, "daily_report_phone")
    text = pdf_text(PdfReader(io.BytesIO(edu.pdf(format="A4"))))
    assert monday["M4"]["number"] in text and "李小雨" not in text


def test_kpi_charts_and_rankings_on_screen(person, week):  # noqa: F811
    supervisor = person("supervisor1")
    supervisor.goto("/console/kpis?from=2026-11-23&to=2026-11-26")
    card = supervisor.locator("#kpi-extended")
    # Handling clocks started Monday (T1, T2, T4: 3) and Wednesday (T2's rework: 1).
    assert card.locator("rect.bar").count() == 2 and card.locator("circle.dot").count() == 2
    card.screenshot(path=str(ARTIFACTS / "kpi_chart_extended.png"))
    supervisor.goto("/console/reports?from=2026-11-23&to=2026-11-26")
    supervisor.get_by_role("link", name="退单率").click()
    supervisor.wait_for_url("**sort=returned**")
    first = supervisor.locator("table.ranking tbody tr").first
    assert "云龙区" in first.inner_text() and "1/1" in first.inner_text()
    shot(supervisor, "reports_overview")
