"""Reports a centre hands in (issue 22, part 5): exports a supervisor can sort and pivot,
volumes, unit rankings, the daily and weekly reports — checked against counts by hand.

The day: Monday 2026-11-23 (Shanghai), and the Sunday before it for the comparison.

Sunday 15:00   P1 help, voice, general, at 黄楼街道 (鼓楼区)
               P2 complaint, voice, general, at 云龙区; submitted, never dispatched
Monday 09:00   M1 help, voice, general, at 河畔社区 (鼓楼区 › 黄楼街道); dispatched to 鼓楼区
       10:00   M2 help, sms, general, at 鼓楼区
       11:00   M3 complaint, web, general, at 彭城街道 (云龙区)
       12:00   M4 psych_support, voice, children's desk, crisis, a child of 12, at 鼓楼区;
               dispatched to 鼓楼区 with 市教育局 as co-unit
       23:30   M5 help, voice, general, at 贾汪区 (still Monday in Shanghai, Monday 15:30 UTC)
Tuesday 00:10  T1 help, voice, general, at 贾汪区 (Tuesday: not Monday's)

Monday by hand: 5 tickets. Category help 3, complaint 1, psych_support 1. Channel voice 3,
sms 1, web 1. Desk general 4, children 1. Area 鼓楼区 3, 云龙区 1, 贾汪区 1.
Sunday: 2 tickets; help 1, complaint 1; 鼓楼区 1, 云龙区 1.
鼓楼区's own view (what its handlers see: M1 and M4): 2 tickets, areas 黄楼街道 1 and 鼓楼区 1.
"""

import csv
import io
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import select, text

from hotline import reports
from hotline.console import charts
from hotline.extensions import db
from referrals.models import ReadAudit
from tests.console.test_kpis import EXPECTED, at, week  # noqa: F401  (week: a fixture)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = reports.Period.day(date(2026, 11, 23))
TICKET_HEADER = ["工单编号", "受理时间", "状态", "专席", "渠道", "类别", "紧急程度", "标题", "来电人姓名",
                 "来电号码", "未成年人", "所在区域", "承办单位", "协办单位", "受理人", "办结方式", "办结时间",
                 "超期"]


def ticket(api, category="help", channel="voice", unit="gulou", **more) -> dict:
    return api.create(category=category, channel=channel,
                      location={"unit": unit, "address": "测试地址"}, **more)


@pytest.fixture
def monday(api):
    made = {}
    with at(api, 22, 15, 0):
        made["P1"] = ticket(api, unit="gulou-huanglou")
        made["P2"] = ticket(api, "complaint", unit="yunlong")
        api.act(made["P2"]["id"], "submit", "seat1")
    with at(api, 23, 9, 0):
        made["M1"] = ticket(api, unit="gulou-huanglou-hepan")
        api.act(made["M1"]["id"], "submit", "seat1")
        api.act(made["M1"]["id"], "dispatch", "dispatcher1", {"unit": "gulou", "note": "请处理"})
    with at(api, 23, 10, 0):
        made["M2"] = ticket(api, channel="sms")
    with at(api, 23, 11, 0):
        made["M3"] = ticket(api, "complaint", "web", unit="yunlong-pengcheng")
    with at(api, 23, 12, 0):
        made["M4"] = api.create(
            as_user="seat2", desk="children", category="psych_support", priority="crisis",
            subject="孩子说不想活了", content="孩子在学校被欺负，说不想活了",
            caller={"phone": "+8613900000012", "name": "李小雨", "is_minor": True, "age": 12},
            location={"unit": "gulou", "address": "黄楼街道"})
        api.act(made["M4"]["id"], "submit", "seat2")
        api.act(made["M4"]["id"], "dispatch", "dispatcher1",
                {"unit": "gulou", "co_units": ["edu"], "note": "危机，请立即处理"})
    with at(api, 23, 23, 30):
        made["M5"] = ticket(api, unit="jiawang")
    with at(api, 24, 0, 10):
        made["T1"] = ticket(api, unit="jiawang")
    api.forget_tokens()
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI), tick=False):
        yield made   # the next morning: Monday's report is handed in


def test_volumes_by_category_area_channel_and_desk_match_the_hand_count(app, monday):
    with app.app_context():
        volumes = reports.volumes(MONDAY, reports.Scope())
        sunday = reports.volumes(MONDAY.previous(), reports.Scope())
        gulou = reports.volumes(MONDAY, reports.Scope(unit="gulou"))
        children = reports.volumes(MONDAY, reports.Scope(desk="children"))
    assert volumes.total == 5
    assert volumes.by["category"] == {"help": 3, "complaint": 1, "psych_support": 1}
    assert volumes.by["channel"] == {"voice": 3, "sms": 1, "web": 1}
    assert volumes.by["desk"] == {"general": 4, "children": 1}
    assert volumes.by["area"] == {"gulou": 3, "yunlong": 1, "jiawang": 1}
    assert volumes.by_day == {date(2026, 11, 23): 5}
    assert (sunday.total, sunday.by["category"], sunday.by["area"]) == (
        2, {"help": 1, "complaint": 1}, {"gulou": 1, "yunlong": 1})
    assert (gulou.total, gulou.by["area"]) == (2, {"gulou-huanglou": 1, "gulou": 1})
    assert (children.total, children.by["category"]) == (1, {"psych_support": 1})

    week_volumes = None
    with app.app_context():
        week_volumes = reports.volumes(reports.Period.week(date(2026, 11, 25)), reports.Scope())
    # Monday 23 to Sunday 29: Monday's five and Tuesday's one.
    assert week_volumes.total == 6
    assert week_volumes.by_day[date(2026, 11, 24)] == 1


def test_the_daily_report_shows_volumes_hotspots_overdue_crisis_and_kpis(app, browser, monday):
    supervisor = browser("supervisor1")
    page = supervisor.html("/console/reports/daily?day=2026-11-23")
    assert "12345 热线 日报 2026-11-23" in page
    assert "本期受理 <strong class=\"total\">5</strong> 件" in page
    assert "上期 2 件" in page and "+3" in page
    # Hotspots: help first, 3 now against 1 on Sunday.
    hotspots = page.split('id="hotspots"')[1].split("</section>")[0]
    assert "1. 求助</td><td class=\"num\">3</td><td class=\"num\">1</td>" in hotspots
    assert "1. 鼓楼区</td><td class=\"num\">3</td>" in hotspots
    # P2 was submitted on Sunday and never dispatched: its dispatch clock is overdue.
    overdue = page.split('id="overdue"')[1].split("</section>")[0]
    assert monday["P2"]["number"] in overdue and "派单时限" in overdue
    assert monday["M2"]["number"] not in overdue      # never submitted: no clock
    crisis = page.split('id="crisis"')[1].split("</section>")[0]
    assert monday["M4"]["number"] in crisis and "李小雨" in crisis and "+8613900000012" in crisis
    # KPIs against Sunday: M1 and M4 dispatched on time (2/2), P2's dispatch late (0/1): good news.
    changes = page.split('id="kpi-changes"')[1].split("</section>")[0]
    assert "2/2" in changes and "0/1" in changes and 'class="better">+100.0 个百分点' in changes

    # The co-unit sees the case masked, as everywhere else, and only its own subtree.
    edu = browser("handler-edu").html("/console/reports/daily?day=2026-11-23")
    crisis = edu.split('id="crisis"')[1].split("</section>")[0]
    assert monday["M4"]["number"] in crisis and "李小雨" not in crisis and "+8613900000012" not in crisis
    assert "本期受理 <strong class=\"total\">1</strong> 件" in edu
    assert "<td>鼓楼区</td>" in edu.split('id="volumes-area"')[1].split("</table>")[0]  # where it is
    browser("handler-edu").get("/console/reports/daily?day=2026-11-23&unit=gulou", expect=403)
    browser("seat1").get("/console/reports/daily", expect=403)
    # Reading the child's case in a report is in the read audit.
    with app.app_context():
        views = set(db.session.scalars(select(ReadAudit.view).where(
            ReadAudit.subject_id == monday["M4"]["id"])))
    assert "report" in views


def test_a_clock_overdue_at_the_days_end_stays_in_its_report_when_met_later(app, api, monday):
    """The overdue list of a day is the clocks open and past due at its end: P2's dispatch
    clock, met the next morning, is still in Monday's list and not in Tuesday's (read from the
    open clocks and the clocks met late, not from every clock of the year)."""
    with time_machine.travel(datetime(2026, 11, 24, 9, 30, tzinfo=SHANGHAI), tick=False):
        api.forget_tokens()
        api.act(monday["P2"]["id"], "dispatch", "dispatcher1", {"unit": "yunlong"})
        api.forget_tokens()
        with app.app_context():
            listed = {day: [(row.ticket.number, row.timer.kind.value)
                            for row in reports.overdue(reports.Period.day(day), reports.Scope())]
                      for day in (date(2026, 11, 23), date(2026, 11, 24))}
    assert (monday["P2"]["number"], "dispatch") in listed[date(2026, 11, 23)]
    assert monday["P2"]["number"] not in [number for number, _ in listed[date(2026, 11, 24)]]


def test_the_daily_report_downloads_as_a_workbook(app, browser, monday):
    response = browser("supervisor1").get("/console/reports/daily?day=2026-11-23&format=xlsx")
    with app.app_context():
        [export] = db.session.scalars(select(ReadAudit).where(ReadAudit.kind == "export")).all()
        assert export.view == "daily_report" and export.detail["filters"] == {"day": "2026-11-23"}
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["受理量", "指标变化", "超期工单", "危机工单"]
    volumes = list(book["受理量"].values)
    assert volumes[0] == ("维度", "名称", "本期", "上期", "变化")
    assert ("类别", "求助", 3, 1, 2) in volumes and ("区域", "贾汪区", 1, 0, 1) in volumes
    crisis = list(book["危机工单"].values)
    assert crisis[1][0] == monday["M4"]["number"] and crisis[1][1] == datetime(2026, 11, 23, 12, 0)
    overdue = list(book["超期工单"].values)
    assert any(row[0] == monday["P2"]["number"] and row[2] == "派单时限" for row in overdue[1:])


def test_the_ticket_export_opens_in_excel_with_chinese_headers_names_and_shanghai_times(browser, api):
    with at(api, 23, 10, 0):
        made = api.dispatched(unit="gulou", co_units=["edu"])
    supervisor = browser("supervisor1")
    book = load_workbook(io.BytesIO(supervisor.get("/console/tickets/export?format=xlsx").data))
    sheet = book.active
    rows = list(sheet.values)
    assert list(rows[0]) == TICKET_HEADER
    row = dict(zip(TICKET_HEADER, rows[1], strict=True))
    assert row["工单编号"] == made["number"]
    assert row["受理时间"] == datetime(2026, 11, 23, 10, 0)        # Shanghai wall-clock time
    assert sheet["B2"].number_format == "yyyy-mm-dd hh:mm"
    assert (row["状态"], row["专席"], row["渠道"], row["类别"], row["紧急程度"]) == (
        "待签收", "综合专席", "电话", "求助", "一般")
    assert (row["所在区域"], row["承办单位"], row["协办单位"], row["受理人"]) == (
        "鼓楼区", "鼓楼区", "市教育局", "坐席一号")
    assert (row["未成年人"], row["超期"], row["办结时间"]) == ("否", "否", None)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:R2"
    assert sheet.column_dimensions["B"].width == 17

    response = supervisor.get("/console/tickets/export?format=csv")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == TICKET_HEADER and rows[1][1] == "2026-11-23 10:00:00" and rows[1][2] == "待签收"

    # In English for a reader who chose English; the API's export is the same table.
    supervisor.get("/console/lang/en", expect=302)
    english = list(csv.reader(io.StringIO(
        supervisor.get("/console/tickets/export?format=csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert english[0][:3] == ["Number", "Opened", "State"] and english[1][2] == "To acknowledge"
    api_rows = list(load_workbook(io.BytesIO(
        api.get("/api/v1/tickets/export?format=xlsx", "supervisor1").data)).active.values)
    assert list(api_rows[0]) == TICKET_HEADER and api_rows[1][1] == datetime(2026, 11, 23, 10, 0)


@pytest.mark.usefixtures("week")
def test_units_rank_on_any_kpi_with_the_counts_behind_each_rate(app, browser):
    """The week of tests/console/test_kpis.py: 鼓楼区 dispatched on time 2 of 3 and
    acknowledged on time 2 of 3; 云龙区 had one dispatch, on time, and returned it."""
    period = reports.Period(date(2026, 11, 23), date(2026, 11, 26))
    with app.app_context():
        by_dispatch = reports.rankings(period, reports.Scope(), "dispatch_on_time")
        by_acknowledge = reports.rankings(period, reports.Scope(), "acknowledged_on_time")
        ascending = reports.rankings(period, reports.Scope(), "dispatch_on_time", descending=False)
    assert [(r.unit, r.kpis["dispatch_on_time"].numerator, r.kpis["dispatch_on_time"].denominator)
            for r in by_dispatch] == [("yunlong", 1, 1), ("gulou", 2, 3)]
    # 云龙区 acknowledged nothing: no rate, ranked last
    assert [r.unit for r in by_acknowledge] == ["gulou", "yunlong"]
    assert by_acknowledge[1].kpis["acknowledged_on_time"].rate is None
    assert [r.unit for r in ascending] == ["gulou", "yunlong"]

    supervisor = browser("supervisor1")
    page = supervisor.html("/console/reports?from=2026-11-23&to=2026-11-26&sort=returned&order=desc")
    ranking = page.split('id="rankings"')[1]
    assert ranking.index("云龙区") < ranking.index("鼓楼区")         # returned 1/1 before 0/3
    assert "1/1" in ranking and "0/3" in ranking and 'aria-sort="descending"' in ranking
    volumes = page.split('id="volumes-category"')[1].split("</table>")[0]
    assert "求助</td><td class=\"num\">5</td>" in volumes

    book = load_workbook(io.BytesIO(supervisor.get(
        "/console/reports?from=2026-11-23&to=2026-11-26&sort=dispatch_on_time&format=xlsx").data))
    rows = list(book["单位排名"].values)
    assert rows[0][:5] == ("名次", "单位", "派单及时率", "派单及时率 分子", "派单及时率 分母")
    assert [row[:5] for row in rows[1:]] == [(1, "云龙区", 1, 1, 1), (2, "鼓楼区", 2 / 3, 2, 3)]

    # A county's handler ranks its own subtree only (the facts of the week are all 鼓楼区's own).
    handler = browser("handler-gulou").html("/console/reports?from=2026-11-23&to=2026-11-26")
    assert "云龙区" not in handler.split('id="rankings"')[1]


def test_the_api_answers_volumes_and_rankings_of_the_callers_scope(api, monday):
    body = api.get("/api/v1/reports/volumes?from=2026-11-23&to=2026-11-23", "supervisor1").json
    assert body["total"] == 5
    assert body["by"]["category"][0] == {"code": "help", "name": "求助", "count": 3}
    assert {row["code"]: row["count"] for row in body["by"]["area"]} == {
        "gulou": 3, "yunlong": 1, "jiawang": 1}
    assert body["by_day"] == [{"day": "2026-11-23", "count": 5}]
    # A county's handler: what it leads or co-handles, by its own towns.
    body = api.get("/api/v1/reports/volumes?from=2026-11-23&to=2026-11-23", "handler-gulou").json
    assert (body["unit"], body["total"]) == ("gulou", 2)
    assert {row["name"]: row["count"] for row in body["by"]["area"]} == {"黄楼街道": 1, "鼓楼区": 1}
    api.get("/api/v1/reports/volumes?unit=yunlong", "handler-gulou", expect=403)
    api.get("/api/v1/reports/rankings?sort=bogus", "supervisor1", expect=422)

    body = api.get("/api/v1/reports/rankings?from=2026-11-22&to=2026-11-23&sort=dispatch_on_time",
                   "supervisor1").json
    # 鼓楼区: M1 and M4 dispatched on time, 2/2 (P2, never dispatched, has no unit); 云龙区 and
    # 贾汪区 only where their tickets are (直接答复率): no dispatch rate, so after it.
    gulou, *others = body["items"]
    assert gulou["name"] == "鼓楼区" and {row["name"] for row in others} == {"云龙区", "贾汪区"}
    kpi = {k["key"]: (k["numerator"], k["denominator"]) for k in gulou["kpis"]}
    assert kpi["dispatch_on_time"] == (2, 2) and kpi["acknowledged_on_time"] == (0, 2)
    assert all(row["kpis"][0]["rate"] is None for row in others)


@pytest.mark.parametrize("username, status", [
    ("supervisor1", 200), ("dispatcher1", 200), ("admin", 200), ("handler-gulou", 200),
    ("seat1", 403), ("partner-xz-xinli", 403), ("admin-gulou", 403),
])
def test_who_opens_the_report_pages(browser, username, status):
    person = browser(username)
    for path in ("/console/reports", "/console/reports/daily", "/console/reports/weekly"):
        person.get(path, expect=status)
    if status == 200:
        assert 'href="/console/reports"' in person.html("/console/reports")   # in the navigation


@pytest.mark.usefixtures("week")
def test_the_weekly_report_compares_kpis_with_the_week_before(browser):
    page = browser("supervisor1").html("/console/reports/weekly?week=2026-11-25")
    assert "周报 2026-11-23 — 2026-11-29" in page
    changes = page.split('id="kpi-changes"')[1].split("</section>")[0]
    numerator, denominator = EXPECTED["dispatch_on_time"]
    assert f"{numerator}/{denominator}" in changes and "0/0" in changes


def test_each_kpi_chart_draws_the_days_volume_as_bars_under_its_rate():
    points = [(date(2026, 11, 23), 1, 2), (date(2026, 11, 24), 0, 0), (date(2026, 11, 25), 4, 4)]
    svg = str(charts.rate_chart(points, "及时签收率"))
    bars = re.findall(r'<rect class="bar" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)">'
                      r"<title>([^<]+)</title>", svg)
    assert [title for _height, title in bars] == ["2026-11-23: 2", "2026-11-25: 4"]
    assert float(bars[0][0]) * 2 == pytest.approx(float(bars[1][0]))     # 2 against 4
    dots = re.findall(r'<circle class="dot"[^>]*><title>([^<]+)</title>', svg)
    assert dots == ["2026-11-23: 1/2", "2026-11-25: 4/4"]                # no dot without a count


def test_the_crisis_list_reads_the_crisis_tickets_not_every_ticket(app):
    """At 90,000 tickets the daily report spent ~2 s on its crisis list: the filter read every
    ticket (and its estimate made PostgreSQL compile the query with JIT). Crisis tickets are
    few; the list starts from them (SQLite's plan shows it as PostgreSQL's does)."""
    period = reports.Period(date(2026, 11, 23), date(2026, 11, 23))
    with app.app_context():
        stmt = reports.crisis_query(period, reports.Scope())
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(db.session.execute(text(f"EXPLAIN {sql}")).scalars())
        else:
            plan = "\n".join(str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        db.session.rollback()
    assert "ix_tickets_crisis_created_at" in plan, plan
