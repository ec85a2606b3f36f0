"""Crisis first: GET /api/v1/tickets sorts by priority, then the nearest running deadline.

`sort=due` puts the nearest deadline first, `sort=newest` is newest first (only on request);
paging follows the same order, and an unknown sort is a 422 saying which values exist.
"""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def six(api):
    """Six tickets, oldest first, named for what makes each one's place."""
    with time_machine.travel(datetime(2026, 11, 19, 10, 0, tzinfo=SHANGHAI), tick=False):
        api.forget_tokens()
        old_normal = api.create(subject="上周的路灯")           # its dispatch clock is overdue now
        api.act(old_normal["id"], "submit", "seat1")
    api.forget_tokens()
    crisis_intake = api.create(priority="crisis", subject="危机，尚未提交")  # no clock yet
    crisis = api.create(priority="crisis", subject="危机，待派单")
    api.act(crisis["id"], "submit", "seat1")                     # dispatch due in 10 minutes
    urgent = api.create(priority="urgent", subject="紧急，待派单")
    api.act(urgent["id"], "submit", "seat1")                     # dispatch due in an hour
    fresh = api.create(subject="今天的路灯")
    api.act(fresh["id"], "submit", "seat1")                      # dispatch due tomorrow
    newest = api.create(subject="最新的咨询")                     # no clock
    return {"old_normal": old_normal["id"], "crisis_intake": crisis_intake["id"], "crisis": crisis["id"],
            "urgent": urgent["id"], "fresh": fresh["id"], "newest": newest["id"]}


def listed(api, query: str = "", as_user: str = "supervisor1") -> list[int]:
    return [row["id"] for row in api.get(f"/api/v1/tickets?per_page=100{query}", as_user).json]


def nearest_due(api, ticket_id: int) -> str:
    return min(t["due_at"] for t in api.ticket(ticket_id)["timers"]
               if t["state"] in ("running", "warned", "overdue"))


def test_the_default_order_is_crisis_first_then_the_nearest_deadline(api, six):
    expected = ["crisis", "crisis_intake", "urgent", "old_normal", "fresh", "newest"]
    assert listed(api) == [six[name] for name in expected]
    assert listed(api, "&sort=priority") == [six[name] for name in expected]


def test_sort_due_puts_the_nearest_deadline_first_and_tickets_without_a_clock_last(api, six):
    dues = [nearest_due(api, six[name]) for name in ("old_normal", "crisis", "urgent", "fresh")]
    assert dues == sorted(dues)   # the fixture is what it says: overdue, 10 min, 1 h, tomorrow
    expected = ["old_normal", "crisis", "urgent", "fresh", "crisis_intake", "newest"]
    assert listed(api, "&sort=due") == [six[name] for name in expected]


def test_sort_newest_is_newest_first(api, six):
    expected = ["newest", "fresh", "urgent", "crisis", "crisis_intake", "old_normal"]
    assert listed(api, "&sort=newest") == [six[name] for name in expected]


@pytest.mark.parametrize("sort", ["priority", "due", "newest"])
@pytest.mark.parametrize("per_page", [1, 2, 4, 5])
def test_pages_follow_the_order(api, six, sort, per_page):
    whole = listed(api, f"&sort={sort}")
    pages = [api.get(f"/api/v1/tickets?per_page={per_page}&page={n}&sort={sort}", "supervisor1")
             for n in range(1, 7 // per_page + 2)]
    assert [row["id"] for page in pages for row in page.json] == whole
    assert pages[0].headers["X-Total-Count"] == "6"


def test_a_county_and_the_filters_keep_the_order(api):
    routine = api.dispatched(subject="例行工单")
    crisis = api.dispatched(subject="危机工单", priority="crisis")
    later = api.dispatched(subject="更新的例行工单")
    assert listed(api, "", "handler-gulou") == [crisis["id"], routine["id"], later["id"]]
    assert listed(api, "&state=dispatched&unit=gulou") == [crisis["id"], routine["id"], later["id"]]
    assert listed(api, "&state=dispatched&sort=newest") == [later["id"], crisis["id"], routine["id"]]


def test_the_overdue_list_is_crisis_first_too(api, six, app):
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI), tick=False):
        api.forget_tokens()   # every dispatch clock is past due now
        ids = listed(api, "&overdue=true")
    assert ids == [six[name] for name in ("crisis", "urgent", "old_normal", "fresh")]


def test_an_unknown_sort_is_422_naming_the_choices(api):
    response = api.get("/api/v1/tickets?sort=oldest", "supervisor1", expect=422)
    assert "sort" in response.json["errors"]
    assert "priority" in response.json["errors"]["sort"][0] and "newest" in response.json["errors"]["sort"][0]
    assert "sort" in response.json["message"]


def test_the_alerts_api_lists_a_crisis_until_the_caller_acknowledges_it(api):
    ticket = api.create(subject="孩子一直哭")
    assert api.get("/api/v1/alerts", "dispatcher1").json == []
    api.act(ticket["id"], "flag_crisis", "seat1", {"reason": "孩子表达轻生念头"})
    [alert] = api.get("/api/v1/alerts", "dispatcher1").json
    assert (alert["ticket"], alert["number"]) == (ticket["id"], ticket["number"])
    ack = api.post(f"/api/v1/alerts/{alert['id']}/acknowledge", "dispatcher1").json
    assert ack["ticket"] == ticket["id"] and ack["acknowledged_at"]
    assert api.get("/api/v1/alerts", "dispatcher1").json == []
    assert len(api.get("/api/v1/alerts", "supervisor1").json) == 1
    assert api.get("/api/v1/alerts", "seat1").json == []
    api.post(f"/api/v1/alerts/{alert['id']}/acknowledge", "seat1", expect=404)


def test_a_long_list_is_counted_up_to_the_cap_and_says_so(app, api, six, monkeypatch):
    """A year of a province is millions of tickets: the list counts up to LIST_COUNT_CAP and
    says the total is "at least" (X-Pagination `total_capped`), as a search does."""
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 4)
    response = api.get("/api/v1/tickets?per_page=3", "supervisor1")
    assert response.headers["X-Total-Count"] == "4"
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total_capped"] is True and pagination["total_pages"] == 2
    assert [row["id"] for row in response.json] == listed(api)[:3]
    narrowed = api.get("/api/v1/tickets?state=intake", "supervisor1")
    assert narrowed.headers["X-Total-Count"] == "2"
    assert json.loads(narrowed.headers["X-Pagination"])["total_capped"] is False


def test_past_a_capped_total_the_pages_go_on_in_the_same_order(app, api, six, monkeypatch):
    """Past the cap a page counts up to its own end: total_pages offers the next page while
    there is one, and the last page knows the exact total."""
    whole = listed(api)
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 2)
    seen, totals, page = [], [], 1
    while True:
        response = api.get(f"/api/v1/tickets?per_page=2&page={page}", "supervisor1")
        pagination = json.loads(response.headers["X-Pagination"])
        seen += [row["id"] for row in response.json]
        totals.append((pagination["total"], pagination["total_capped"], pagination["total_pages"]))
        if page >= pagination["total_pages"]:
            break
        page += 1
    assert seen == whole
    assert totals == [(2, True, 2), (4, True, 3), (6, False, 3)]


def test_the_first_page_reads_no_whole_list(api, six, statements):
    """Statement shape, the planner aside: the first page neither counts every ticket nor
    groups every open clock; each part of the order is a walk with a LIMIT."""
    statements.clear()
    api.get("/api/v1/tickets?per_page=2", "supervisor1")
    listing = [" ".join(s.split()) for s in statements if "FROM tickets" in s]
    assert listing and all("LIMIT" in s for s in listing)
    assert not [s for s in statements if "GROUP BY" in s]
