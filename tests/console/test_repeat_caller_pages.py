"""Repeat callers in the console (issue 21): the intake history adds the request to an open
ticket; the ticket page shows what was appended and merged in."""

from tests.console.helpers import INTAKE


def test_the_intake_history_offers_to_add_the_request_to_an_open_ticket(api, browser):
    open_ticket = api.dispatched(content="幸福小区路灯不亮")
    closed = api.create(content="问社保")
    api.act(closed["id"], "answer", "seat1", {"answer": "已答复"})
    seat = browser("seat1")
    panel = seat.html(f"/console/callers?phone={INTAKE['caller_phone']}")
    assert f'formaction="/console/tickets/{open_ticket["id"]}/append"' in panel
    assert f'/console/tickets/{closed["id"]}/append' not in panel      # only open tickets
    assert "追加到此工单" not in browser("dispatcher1").html(
        f"/console/callers?phone={INTAKE['caller_phone']}")             # seats add, not dispatchers
    response = seat.post(f"/console/tickets/{open_ticket['id']}/append",
                         {**INTAKE, "content": "路灯还是不亮，晚上孩子摔了一跤"})
    assert response.headers["Location"].endswith(f"/console/tickets/{open_ticket['id']}")
    page = seat.html(f"/console/tickets/{open_ticket['id']}")
    assert "路灯还是不亮，晚上孩子摔了一跤" in page and "追加诉求" in page
    assert len(api.get("/api/v1/tickets", "supervisor1").json) == 2     # no duplicate opened


def test_the_ticket_page_shows_the_merged_in_content(api, browser):
    target = api.dispatched(content="幸福小区停水")
    repeat = api.create(content="幸福小区从早上就没水")
    api.act(repeat["id"], "merge", "seat1", {"into": target["id"]})
    page = browser("handler-gulou").html(f"/console/tickets/{target['id']}")
    assert "并入的工单" in page and repeat["number"] in page and "幸福小区从早上就没水" in page
