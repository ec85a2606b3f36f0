"""Issue 22: dispatching as a day's work in the console — the unit picker's search, actions on
many rows with a result per row, each unit's workload, refusals that say what happened; the intake
form's phone stored in E.164."""

import re
from datetime import timedelta

import time_machine

from tests.conftest import SUITE_START
from tests.console.helpers import INTAKE, ticket_id_from


def pending(api, **ticket) -> dict:
    created = api.create(**ticket)
    api.act(created["id"], "submit", "seat1")
    return created


def test_the_unit_picker_finds_units_by_two_characters_of_a_name_or_code_with_their_place(browser):
    dispatcher = browser("dispatcher1")
    found = dispatcher.get("/console/units/search?q=黄楼").json["items"]
    assert [(u["code"], u["path"]) for u in found] == [("gulou-huanglou", "鼓楼区")]
    assert found[0]["name"] == "黄楼街道" and found[0]["kind"] == "街道/镇"
    by_code = dispatcher.get("/console/units/search?q=yunlong").json["items"]
    assert by_code[0]["code"] == "yunlong"          # the county before the units below it
    assert {u["code"] for u in by_code} >= {"yunlong", "yunlong-edu", "yunlong-pengcheng"}
    # Only what a ticket is dispatched to, for the lead unit; nothing for one character.
    leads = dispatcher.get("/console/units/search?q=yunlong&for=lead").json["items"]
    assert {u["code"] for u in leads} == {"yunlong", "yunlong-edu"}     # not the town
    assert dispatcher.get("/console/units/search?q=云").json["items"] == []



def test_a_refused_action_closes_its_form_and_says_what_happened_and_what_to_do(browser, api):
    ticket = pending(api)
    api.act(ticket["id"], "dispatch", "dispatcher1", {"unit": "gulou"})
    dispatcher = browser("dispatcher1")
    # The dispatcher's page was open before someone else dispatched: the second try is refused.
    answer = dispatcher.action(ticket["id"], "dispatch", {"unit": "yunlong"})
    assert answer.headers["Location"].endswith(f"/console/tickets/{ticket['id']}")
    page = dispatcher.html(f"/console/tickets/{ticket['id']}")
    assert "未能派单。工单现在是「待签收」，已不能派单" in page
    assert "请查看处理记录" in page
    assert 'id="action-dispatch"' not in page          # no form left open to try again
    assert "dispatched" not in re.sub(r"<[^>]+>", "", page.split("flash error")[1][:300])


def test_bulk_dispatch_sends_each_ticket_and_reports_each_row(browser, api):
    first, second, third = pending(api), pending(api), pending(api)
    api.act(third["id"], "dispatch", "dispatcher1", {"unit": "gulou"})   # someone was faster
    dispatcher = browser("dispatcher1")
    data = {"unit": "quanshan", "co_units": ["yunlong", "gulou-edu"], "note": "请会同办理",
            "next": "/console/dispatch", "ticket": [str(t["id"]) for t in (first, second, third)]}
    page = dispatcher.text(dispatcher.post("/console/bulk/dispatch", data, expect=200))
    assert "2 张已完成，1 张未处理" in page
    assert re.search(rf'class="refused" data-ticket="{third["number"]}">.*?已不能派单', page, re.S)
    for ticket in (first, second):
        done = api.ticket(ticket["id"])
        assert (done["state"], done["lead_unit"], sorted(done["co_units"])) == \
            ("dispatched", "quanshan", ["gulou-edu", "yunlong"])
    assert api.ticket(third["id"])["lead_unit"] == "gulou"


def test_bulk_acknowledge_from_the_inbox_and_bulk_supervision_from_the_board(browser, api):
    tickets = [api.dispatched(unit="gulou")["id"] for _ in range(2)]
    handler = browser("handler-gulou")
    inbox = handler.html("/console/inbox")
    assert 'id="bulk-form"' in inbox and 'name="ticket"' in inbox
    handler.post("/console/bulk/acknowledge", {"ticket": [str(t) for t in tickets]}, expect=200)
    assert {api.ticket(t)["state"] for t in tickets} == {"in_progress"}
    supervisor = browser("supervisor1")
    page = supervisor.text(supervisor.post(
        "/console/bulk/supervise", {"note": "今日内回复", "ticket": [str(t) for t in tickets]},
        expect=200))
    assert "2 张已完成，0 张未处理" in page
    assert {api.ticket(t)["supervise_count"] for t in tickets} == {1}
    # Without a note nothing is done, and the page says why.
    refused = supervisor.post("/console/bulk/supervise",
                              {"ticket": [str(tickets[0])], "next": "/console/boards/overdue"})
    page = supervisor.html(refused.headers["Location"])
    assert "未处理任何工单" in page and "此项为必填项" in page, page[page.find("<main"):][:800]


def test_a_supervisor_dispatches_from_the_queue_and_the_ticket_page(browser, api):
    ticket = pending(api, priority="crisis")
    supervisor = browser("supervisor1")
    assert ticket["number"] in supervisor.html("/console/dispatch")
    assert 'id="action-dispatch"' in supervisor.html(f"/console/tickets/{ticket['id']}")
    supervisor.action(ticket["id"], "dispatch", {"unit": "gulou"})
    assert api.ticket(ticket["id"])["state"] == "dispatched"


def loads_on(page: str, unit: str) -> list[str]:
    row = re.search(rf'<tr data-unit="{unit}">(.*?)</tr>', page, re.S).group(1)
    return re.findall(r'<td class="num[^"]*">(\d+)</td>', row)


def test_the_dispatch_page_shows_each_units_open_due_soon_and_overdue_work(browser, api):
    api.dispatched(unit="gulou")
    api.in_progress(unit="gulou")
    forwarded = api.in_progress(unit="gulou")
    api.act(forwarded["id"], "forward", "handler-gulou", {"unit": "gulou-huanglou"})   # still 鼓楼区's
    api.dispatched(unit="yunlong", desk="children", category="psych_support")   # to sign within 2 h
    dispatcher = browser("dispatcher1")
    page = dispatcher.html("/console/dispatch")
    assert "各单位工作量" in page
    assert loads_on(page, "gulou") == ["3", "0", "0"]
    assert loads_on(page, "yunlong") == ["1", "0", "0"]
    assert 'data-unit="jiawang"' in page.split('class="idle"')[1]       # nothing open: folded away
    with time_machine.travel(SUITE_START + timedelta(minutes=100), tick=False):
        assert loads_on(dispatcher.html("/console/dispatch"), "yunlong") == ["1", "1", "0"]
    with time_machine.travel(SUITE_START + timedelta(hours=4), tick=False):   # 2 working hours: 13:30
        assert loads_on(dispatcher.html("/console/dispatch"), "yunlong") == ["1", "0", "1"]


def test_the_console_intake_form_stores_e164(browser):
    seat = browser("seat1")
    created = seat.post("/console/tickets/new", {**INTAKE, "caller_phone": "139 1234 5678"})
    page = seat.html(f"/console/tickets/{ticket_id_from(created)}")
    assert "+8613912345678" in page and "139 1234 5678" not in page


def test_a_forwarded_ticket_waiting_for_the_town_is_not_the_centres_to_recall(api, browser):
    tid = api.in_progress(unit="gulou")["id"]
    api.act(tid, "forward", "handler-gulou", {"unit": "gulou-huanglou"})
    assert api.ticket(tid)["state"] == "dispatched"          # the town has yet to sign
    refused = api.try_act(tid, "recall", "dispatcher1", {"reason": "改派"})
    assert (refused.status_code, refused.json["error"]) == (409, "ticket.already_acknowledged")
    # The dispatcher's page says why instead of offering the form.
    page = browser("dispatcher1").html(f"/console/tickets/{tid}")
    assert 'id="action-recall"' not in page
    assert "承办单位已签收或已转办，不能撤回改派；如需改派，请承办单位申请退单" in page
