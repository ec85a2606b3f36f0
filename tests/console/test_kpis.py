"""KPI formulas on a small fixed data set built through the API, checked against numbers by hand.

The week of Monday 2026-11-23 (Shanghai). All tickets: general desk, category help, location
鼓楼区 — limits dispatch 2h, acknowledge 1wd, respond 1wd, handle 10wd.

T1  Mon 10:00 filed, submitted; 10:30 dispatched to gulou (dispatch on time); 11:00
    acknowledged (on time); 11:30 caller contacted (respond on time); 12:00 replied (handle
    on time); 12:30 reply approved; 13:00 callback reached, resolved, satisfied -> closed.
T2  Mon 10:00 filed, submitted; 13:00 dispatched to gulou (dispatch due 12:00: late);
    Wed 14:00 acknowledged (due Tue 13:00: late); never contacted (respond due Tue 13:00:
    open past due = late); Wed 15:00 replied (handle on time); 15:10 approved; 15:20
    callback reached, not resolved, not satisfied -> rework (a new handle clock, not due).
T3  Mon 10:00 filed, answered directly.
T4  Mon 10:00 filed, submitted; 10:10 dispatched to yunlong (dispatch on time); 10:20
    yunlong returns; 10:30 return approved (yunlong's clocks cancelled, a new dispatch
    clock); 10:40 dispatched to gulou (on time); 11:00 acknowledged (on time); 11:10
    extension of 3wd requested, 11:20 approved; never contacted (respond late by Thursday).
T5  Mon 10:00 filed, rejected.

Computed on Thursday 2026-11-26 10:00 for 2026-11-23..2026-11-26:

dispatch_on_time      T1 yes, T2 no, T4a yes, T4b yes                      3/4
acknowledged_on_time  T1 yes, T2 no, T4b yes  (T4a cancelled)              2/3
responded_on_time     T1 yes, T2 no, T4b no                                1/3
replied_on_time       T1 yes, T2a yes  (T2b and T4b not due yet)           2/2
resolved              T1 yes, T2 no                                        1/2
satisfied             T1 yes, T2 no                                        1/2
answered_directly     T3 of T1..T5                                         1/5
returned              dispatches T1, T2, T4->yunlong (returned), T4->gulou 1/4
extended              handle clocks T1, T2a, T2b, T4b; T4b extended        1/4
overdue               late unit clocks: T2 ack, T2 respond, T4b respond    3/8
reworked              replies T1 (no), T2 (dissatisfied callback)          1/2
"""

import contextlib
import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from hotline.kpis import KPI_NAMES

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD = "from=2026-11-23&to=2026-11-26"

EXPECTED = {
    "dispatch_on_time": (3, 4), "acknowledged_on_time": (2, 3), "responded_on_time": (1, 3),
    "replied_on_time": (2, 2), "resolved": (1, 2), "satisfied": (1, 2),
    "answered_directly": (1, 5), "returned": (1, 4), "extended": (1, 4), "overdue": (3, 8),
    "reworked": (1, 2),
}
# gulou's subtree: T4's first dispatch went to yunlong.
EXPECTED_GULOU = {**EXPECTED, "dispatch_on_time": (2, 3), "returned": (0, 3)}
EXPECTED_YUNLONG = {key: (0, 0) for key in EXPECTED} | {"dispatch_on_time": (1, 1),
                                                        "returned": (1, 1)}
# Wednesday alone: T2's reply, callback and new handle clock happened then.
EXPECTED_WEDNESDAY = {key: (0, 0) for key in EXPECTED} | {
    "resolved": (0, 1), "satisfied": (0, 1), "reworked": (1, 1), "extended": (0, 1),
}


def kpi_counts(rows, unit: str) -> dict[str, tuple[int, int]]:
    """An export's KPI rows of one unit (a name, or 全部): {key: (numerator, denominator)}."""
    keys = {name: key for key, name in KPI_NAMES.items()}
    return {keys[row[4]]: (int(row[5]), int(row[6])) for row in rows[1:] if row[2] == unit}


@contextlib.contextmanager
def at(api, day, hour, minute):
    api.forget_tokens()
    with time_machine.travel(datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI), tick=False):
        yield
    api.forget_tokens()


@pytest.fixture
def week(api):
    """Build T1..T5 through the API, then stand on Thursday 10:00."""
    with at(api, 23, 10, 0):
        t1, t2, t3, t4, t5 = (api.create() for _ in range(5))
        for ticket in (t1, t2, t4):
            api.act(ticket["id"], "submit", "seat1")
        api.act(t3["id"], "answer", "seat1", {"answer": "已告知"})
        api.act(t5["id"], "reject", "seat1", {"reason": "重复来电"})
    steps = [
        ((23, 10, 10), t4, "dispatch", "dispatcher1", {"unit": "yunlong"}),
        ((23, 10, 20), t4, "return", "handler-yunlong", {"reason": "不属于本区"}),
        ((23, 10, 30), t1, "dispatch", "dispatcher1", {"unit": "gulou"}),
        ((23, 10, 30), t4, "approve_return", "dispatcher1", {}),
        ((23, 10, 40), t4, "dispatch", "dispatcher1", {"unit": "gulou"}),
        ((23, 11, 0), t1, "acknowledge", "handler-gulou", {}),
        ((23, 11, 0), t4, "acknowledge", "handler-gulou", {}),
        ((23, 11, 10), t4, "request_extension", "handler-gulou", {"days": 3, "reason": "需协调"}),
        ((23, 11, 20), t4, "approve_extension", "dispatcher1", {}),
        ((23, 11, 30), t1, "contact_caller", "handler-gulou", {"note": "已联系"}),
        ((23, 12, 0), t1, "reply", "handler-gulou", {"result": "已修复", "resolved": True}),
        ((23, 12, 30), t1, "approve_reply", "dispatcher1", {}),
        ((23, 13, 0), t1, "record_callback", "seat1",
         {"reached": True, "resolved": True, "satisfied": True}),
        ((23, 13, 0), t2, "dispatch", "dispatcher1", {"unit": "gulou"}),
        ((25, 14, 0), t2, "acknowledge", "handler-gulou", {}),
        ((25, 15, 0), t2, "reply", "handler-gulou", {"result": "已处理", "resolved": True}),
        ((25, 15, 10), t2, "approve_reply", "dispatcher1", {}),
        ((25, 15, 20), t2, "record_callback", "seat1",
         {"reached": True, "resolved": False, "satisfied": False}),
    ]
    for when, ticket, action, username, body in steps:
        with at(api, *when):
            api.act(ticket["id"], action, username, body)
    api.forget_tokens()
    with time_machine.travel(datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI), tick=False):
        yield {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5}
    api.forget_tokens()


def numbers(body) -> dict:
    return {kpi["key"]: (kpi["numerator"], kpi["denominator"]) for kpi in body["kpis"]}


def test_each_kpi_matches_the_hand_count(api, week):
    body = api.get(f"/api/v1/reports/kpis?{PERIOD}", "supervisor1").json
    assert numbers(body) == EXPECTED
    rates = {kpi["key"]: kpi["rate"] for kpi in body["kpis"]}
    assert rates["dispatch_on_time"] == pytest.approx(0.75)
    assert rates["overdue"] == pytest.approx(3 / 8)
    assert body["from"] == "2026-11-23" and body["to"] == "2026-11-26"
    names = {kpi["key"]: kpi["name"] for kpi in body["kpis"]}
    assert names["acknowledged_on_time"] == "及时签收率" and names["reworked"] == "重办率"


def test_per_unit_desk_and_period(api, week):
    get = lambda query: numbers(api.get(f"/api/v1/reports/kpis?{query}", "supervisor1").json)  # noqa: E731
    assert get(f"{PERIOD}&unit=gulou") == EXPECTED_GULOU
    assert get(f"{PERIOD}&unit=xz") == EXPECTED
    assert get(f"{PERIOD}&unit=yunlong") == EXPECTED_YUNLONG
    assert get(f"{PERIOD}&desk=children") == {key: (0, 0) for key in EXPECTED}
    assert get(f"{PERIOD}&desk=general") == EXPECTED
    assert get("from=2026-11-25&to=2026-11-25") == EXPECTED_WEDNESDAY
    body = api.get(f"/api/v1/reports/kpis?{PERIOD}&unit=yunlong", "supervisor1").json
    assert {kpi["key"]: kpi["rate"] for kpi in body["kpis"]}["resolved"] is None


def daily(app, start: date, end: date) -> dict:
    """The dashboard's series: KPI -> {day: (numerator, denominator)} of the days with facts."""
    from hotline import kpis

    with app.app_context():
        report = kpis.compute(start, end)
    return {key: {day.isoformat(): (hits, total) for day, hits, total in rows if total}
            for key, rows in report.series.items()}


def test_the_daily_series_puts_each_fact_on_its_day(app, week):
    series = daily(app, date(2026, 11, 23), date(2026, 11, 26))

    assert series["dispatch_on_time"] == {"2026-11-23": (3, 4)}
    assert series["resolved"] == {"2026-11-23": (1, 1), "2026-11-25": (0, 1)}
    assert series["reworked"] == {"2026-11-23": (0, 1), "2026-11-25": (1, 1)}
    assert series["extended"] == {"2026-11-23": (1, 3), "2026-11-25": (0, 1)}
    assert series["answered_directly"] == {"2026-11-23": (1, 5)}


def test_a_fact_after_midnight_in_shanghai_counts_on_that_day(app, api):
    # 07:30 on Tuesday in Shanghai is still Monday in UTC.
    with at(api, 24, 7, 30):
        ticket = api.create()
        api.act(ticket["id"], "answer", "seat1", {"answer": "已告知"})

    with at(api, 26, 10, 0):
        assert daily(app, date(2026, 11, 23), date(2026, 11, 26))["answered_directly"] == {
            "2026-11-24": (1, 1)}
        tuesday = api.get("/api/v1/reports/kpis?from=2026-11-24&to=2026-11-24", "supervisor1").json
        monday = api.get("/api/v1/reports/kpis?from=2026-11-23&to=2026-11-23", "supervisor1").json
    assert numbers(tuesday)["answered_directly"] == (1, 1)
    assert numbers(monday)["answered_directly"] == (0, 0)


def test_a_unit_handler_sees_only_its_own_subtree(api, week):
    body = api.get(f"/api/v1/reports/kpis?{PERIOD}", "handler-gulou").json
    assert body["unit"] == "gulou" and numbers(body) == EXPECTED_GULOU
    api.get(f"/api/v1/reports/kpis?{PERIOD}&unit=gulou-edu", "handler-gulou")
    response = api.get(f"/api/v1/reports/kpis?{PERIOD}&unit=yunlong", "handler-gulou", expect=403)
    api.assert_error(response, 403)
    api.assert_error(api.get(f"/api/v1/reports/kpis?{PERIOD}", "seat1", expect=403), 403)


def test_bad_report_arguments_are_422_naming_the_field(api):
    api.assert_error(api.get("/api/v1/reports/kpis?from=2026-13-01", "supervisor1", expect=422),
                     422, "from")
    api.assert_error(api.get("/api/v1/reports/kpis?from=2026-11-26&to=2026-11-01", "supervisor1",
                             expect=422), 422, "to")
    api.assert_error(api.get("/api/v1/reports/kpis?from=2024-01-01&to=2026-01-01", "supervisor1",
                             expect=422), 422, "from")
    api.assert_error(api.get("/api/v1/reports/kpis?unit=nowhere", "supervisor1", expect=422),
                     422, "unit")
    api.assert_error(api.get("/api/v1/reports/kpis?desk=x", "supervisor1", expect=422), 422, "desk")
    api.assert_error(api.get("/api/v1/reports/kpis?format=pdf", "supervisor1", expect=422),
                     422, "format")
    assert api.client.get("/api/v1/reports/kpis").status_code == 401


def test_default_period_is_the_last_30_days(api):
    body = api.get("/api/v1/reports/kpis", "supervisor1").json
    assert body["to"] == "2026-11-23" and body["from"] == "2026-10-25"
    assert all(kpi["rate"] is None for kpi in body["kpis"])


def test_kpi_downloads_from_the_api(api, week):
    response = api.get(f"/api/v1/reports/kpis?{PERIOD}&unit=gulou&format=csv", "supervisor1")
    assert response.mimetype == "text/csv"
    assert "kpis_2026-11-23_2026-11-26_gulou.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["开始日期", "结束日期", "单位", "专席", "指标", "分子", "分母", "比率"]
    assert kpi_counts(rows, "鼓楼区") == EXPECTED_GULOU
    assert rows[1][:5] == ["2026-11-23", "2026-11-26", "鼓楼区", "全部", "派单及时率"]
    response = api.get(f"/api/v1/reports/kpis?{PERIOD}&format=xlsx", "supervisor1")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    values = list(load_workbook(io.BytesIO(response.data)).active.values)
    assert kpi_counts(values, "全部") == EXPECTED
    # ... and each county's rows under it, for a pivot table
    assert kpi_counts(values, "云龙区") == EXPECTED_YUNLONG
    assert values[1][7] == 0.75 and values[1][0] == datetime(2026, 11, 23)


def test_dashboard_has_a_chart_per_kpi_and_exports(browser, api, week):
    supervisor = browser("supervisor1")
    page = supervisor.html(f"/console/kpis?{PERIOD}")
    assert page.count('<svg class="chart"') == len(EXPECTED)
    assert "及时签收率" in page and "66.7%" in page and "2 / 3" in page
    assert "2026-11-23: 2/3" in page  # a point of a chart: Monday's acknowledge clocks
    assert "<rect class=\"bar\"" in page  # and under it, the count of each day
    assert "分单位" in page and "鼓楼区" in page
    response = supervisor.get(f"/console/kpis/export?{PERIOD}&format=csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert kpi_counts(rows, "全部") == EXPECTED
    response = supervisor.get(f"/console/kpis/export?{PERIOD}&unit=yunlong&format=xlsx")
    values = list(load_workbook(io.BytesIO(response.data)).active.values)
    assert kpi_counts(values, "云龙区") == EXPECTED_YUNLONG

    handler = browser("handler-gulou")
    page = handler.html(f"/console/kpis?{PERIOD}")
    assert "66.7%" in page  # gulou's own acknowledge clocks: 2 of 3
    handler.get(f"/console/kpis?{PERIOD}&unit=yunlong", expect=403)
    browser("seat1").get("/console/kpis", expect=403)
    page = supervisor.text(supervisor.get("/console/kpis?from=2026-02-30", expect=422))
    assert "日期格式应为 YYYY-MM-DD" in page


def test_a_forward_hands_the_unit_clocks_and_outcomes_to_the_unit_below(app, api):
    """T6, Mon 10:00 filed; 10:10 dispatched to gulou, 10:20 acknowledged (on time); 10:30
    forwarded to gulou-edu (a new acknowledge clock, gulou-edu's); Wed 14:00 gulou-edu
    acknowledges (due Tue 10:30: late), 14:10 replies, 14:20 approved, 14:30 the caller is
    satisfied -> closed; Thu 09:00 reopened (the reply is reworked)."""
    with at(api, 23, 10, 0):
        tid = api.create()["id"]
        api.act(tid, "submit", "seat1")
    steps = [
        ((23, 10, 10), "dispatch", "dispatcher1", {"unit": "gulou"}),
        ((23, 10, 20), "acknowledge", "handler-gulou", {}),
        ((23, 10, 30), "forward", "handler-gulou", {"unit": "gulou-edu", "note": "请教育局办理"}),
        ((25, 14, 0), "acknowledge", "handler-gulou-edu", {}),
        ((25, 14, 10), "reply", "handler-gulou-edu", {"result": "已处理", "resolved": True}),
        ((25, 14, 20), "approve_reply", "dispatcher1", {}),
        ((25, 14, 30), "record_callback", "seat1", {"reached": True, "resolved": True, "satisfied": True}),
        ((26, 9, 0), "reopen", "seat1", {"reason": "来电人称问题复发"}),
    ]
    for when, action, username, body in steps:
        with at(api, *when):
            api.act(tid, action, username, body)

    with at(api, 26, 10, 0):
        edu = numbers(api.get(f"/api/v1/reports/kpis?{PERIOD}&unit=gulou-edu", "supervisor1").json)
        gulou = numbers(api.get(f"/api/v1/reports/kpis?{PERIOD}&unit=gulou", "supervisor1").json)
    assert edu["acknowledged_on_time"] == (0, 1)
    assert (edu["resolved"], edu["satisfied"], edu["reworked"]) == ((1, 1), (1, 1), (1, 1))
    assert edu["dispatch_on_time"] == (0, 0) and edu["returned"] == (0, 0)   # gulou's dispatch
    assert gulou["acknowledged_on_time"] == (1, 2)   # its own, and gulou-edu's below it
    assert gulou["dispatch_on_time"] == (1, 1) and gulou["reworked"] == (1, 1)


def test_a_refused_period_is_said_in_chinese_and_shows_no_cards_of_another_period(browser):
    """Issue 22: not "before from", and no cards of the default period passing for the one asked."""
    supervisor = browser("supervisor1")
    page = supervisor.text(supervisor.get("/console/kpis?from=2026-11-20&to=2026-11-01", expect=422))
    assert "结束日期早于开始日期" in page and "before from" not in page
    assert "未统计：请改正上面标红的条件" in page and 'class="card kpi"' not in page
    page = supervisor.text(supervisor.get("/console/kpis?from=2024-01-01&to=2026-01-01", expect=422))
    assert "统计区间不能超过 366 天" in page and "at most" not in page
    page = supervisor.html("/console/kpis")
    assert "hotline/kpis.py" not in page
    assert "各指标怎么算" in page and "回访接通的来电人中，评价满意或基本满意的比例" in page
