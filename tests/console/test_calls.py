"""The seat's waiting calls above the intake form, and the ticket filed from one of them.

Calls arrive through the signed Twilio webhooks (/twilio/voice, then the key at
/twilio/voice/gather), exactly as Twilio posts them; the panel is what
`GET /api/v1/calls?state=ringing,queued` lists for the same user.
"""

import re
from datetime import timedelta
from urllib.parse import unquote

import time_machine

from tests.conftest import SUITE_START
from tests.console.helpers import INTAKE, ticket_id_from
from tests.twilio_fakes import CALLER, queued_call, sid

CHILD_TICKET = {"desk": "children", "category": "psych_support", "subject": "孩子不愿上学",
                "caller": {"phone": CALLER, "name": "小明", "is_minor": True, "age": 12}}
FOR_THE_CALL = {"category": "psych_support", "subject": "孩子在学校被欺负",
                "content": "家长来电：孩子在学校被同学欺负，不愿上学"}


def call_row(page: str, call_sid: str) -> str | None:
    """The panel's row of a call (None when it is not listed)."""
    match = re.search(rf'<tr class="call [^"]*" data-call="{call_sid}">(.*?)</tr>', page, re.S)
    return match.group(1) if match else None


def intake_link(page: str, call_sid: str) -> str:
    match = re.search(rf'href="(/console/tickets/new\?call_sid={call_sid})"', page)
    assert match, call_sid
    return match.group(1)


def test_a_queued_call_is_on_the_seats_panel_with_its_desk_wait_and_open_tickets(app, api, twilio,
                                                                                 browser):
    earlier = api.create(**CHILD_TICKET)
    closed = api.create(caller={"phone": CALLER, "name": "小明"}, subject="已答复的旧事")
    api.act(closed["id"], "answer", "seat1", {"answer": "已答复"})
    with time_machine.travel(SUITE_START, tick=False):
        waiting = queued_call(twilio, "2")
        in_menu = sid("CA")
        twilio.call(in_menu, caller="+8613600000000")
    with time_machine.travel(SUITE_START + timedelta(minutes=2, seconds=15), tick=False):
        seat = browser("seat1")
        page = seat.html("/console/tickets/new")
        fragment = seat.html("/console/calls/waiting")
    row = call_row(page, waiting)
    assert row is not None
    assert CALLER in row and "儿童服务专席" in row and "排队等待" in row
    assert "2分15秒" in row                                  # waiting since the key was pressed
    assert f'href="/console/tickets/{earlier["id"]}">{earlier["number"]}</a>' in row
    assert closed["number"] not in row                       # open tickets only
    assert "为此来电建单" in row and intake_link(row, waiting)
    ringing = call_row(page, in_menu)
    assert ringing is not None and "语音菜单中" in ringing and "尚未选择" in ringing
    # The queued caller is listed before the one still in the menu.
    assert page.index(f'data-call="{waiting}"') < page.index(f'data-call="{in_menu}"')
    # The panel refreshes itself from a fragment that says the same.
    assert 'data-refresh-url="/console/calls/waiting"' in page
    assert 'data-refresh-seconds="5"' in page
    assert "<html" not in fragment and call_row(fragment, waiting) is not None
    # ... what the API lists for the same seat.
    listed = api.get("/api/v1/calls?state=ringing,queued", "seat1").json
    assert {c["sid"] for c in listed} == {waiting, in_menu}


def test_a_call_a_seat_picked_up_stays_on_the_panel_until_it_ends(app, twilio, browser):
    """The seat files the ticket while talking: the call stays, 通话中, after the queued ones."""
    talking = queued_call(twilio, "2")
    waiting = queued_call(twilio, "2", caller="+8613500000000")
    assert twilio.post("/twilio/voice/connect", {"CallSid": talking, "From": CALLER,
                                                 "CallStatus": "in-progress"}).status_code == 200
    seat = browser("seat1")
    row = call_row(seat.html("/console/tickets/new"), talking)
    assert row is not None and "通话中" in row and intake_link(row, talking)
    page = seat.html("/console/tickets/new")
    assert page.index(f'data-call="{waiting}"') < page.index(f'data-call="{talking}"')
    assert twilio.status(talking, "completed", kind="call").status_code in (200, 204)
    assert call_row(seat.html("/console/tickets/new"), talking) is None


def test_a_seat_sees_only_its_desks_calls_and_a_unit_sees_no_calls_at_all(app, twilio, browser):
    children = queued_call(twilio, "2")
    general = queued_call(twilio, "1", caller="+8613500000000")
    page = browser("seat2").html("/console/tickets/new")       # the children's desk only
    assert call_row(page, children) is not None and call_row(page, general) is None
    browser("seat2").get(f"/console/calls/{general}", expect=404)
    for username in ("handler-gulou", "partner-xz-xinli"):
        outsider = browser(username)
        for path in ("/console/tickets/new", "/console/calls/waiting", f"/console/calls/{children}",
                     f"/console/tickets/new?call_sid={children}"):
            response = outsider.get(path, expect=403)
            assert CALLER not in outsider.text(response), (username, path)


def test_a_dispatcher_sees_a_calls_page_with_the_number_masked(app, twilio, browser):
    call_sid = queued_call(twilio, "1")
    page = browser("dispatcher1").html(f"/console/calls/{call_sid}")
    assert CALLER not in page
    assert f"{CALLER[:3]}*" in page and CALLER[-4:] in page and "已脱敏" in page
    assert "为此来电建单" not in page                          # dispatchers do not open tickets
    browser("dispatcher1").get("/console/calls/waiting", expect=403)


def test_one_click_opens_the_intake_form_filled_in_for_the_call(app, api, twilio, browser):
    earlier = api.create(**CHILD_TICKET)
    call_sid = queued_call(twilio, "2")
    seat = browser("seat1")
    link = intake_link(seat.html("/console/tickets/new"), call_sid)
    form = seat.html(unquote(link))
    assert f'name="caller_phone" type="tel" value="{CALLER}"' in form
    assert '<option value="children" selected>' in form
    assert '<option value="voice" selected>' in form
    assert f'<input type="hidden" name="call_sid" value="{call_sid}">' in form
    assert "为来电建单" in form and "儿童服务专席" in form
    # The caller's history is beside the form already, and the call's row says it is in hand.
    assert earlier["number"] in form.split('id="caller-history"', 1)[1]
    assert "正在建单" in call_row(form, call_sid)
    assert f'data-refresh-url="/console/calls/waiting?call_sid={call_sid}"' in form
    assert CALLER not in link                                # the number is not put in the URL


def test_the_ticket_filed_for_a_call_links_to_it(app, api, twilio, browser):
    call_sid = queued_call(twilio, "2")
    seat = browser("seat1")
    seat.html(f"/console/tickets/new?call_sid={call_sid}")
    response = seat.post("/console/tickets/new", {
        "caller_phone": CALLER, "desk": "children", "channel": "voice", "priority": "normal",
        "call_sid": call_sid, **FOR_THE_CALL})
    ticket_id = ticket_id_from(response)
    ticket = api.ticket(ticket_id)
    assert (ticket["desk"], ticket["channel"], ticket["caller"]["phone"]) == ("children", "voice", CALLER)
    # The ticket page links the call, and the call's page links back.
    page = seat.html(f"/console/tickets/{ticket_id}")
    assert re.search(rf'<a class="call-link" href="/console/calls/{call_sid}">来电记录 ', page)
    call_page = seat.html(f"/console/calls/{call_sid}")
    assert f'href="/console/tickets/{ticket_id}">{ticket["number"]}</a>' in call_page
    # As in the API, the call waits in its queue until a seat takes it; the panel says it has
    # its ticket now, and lists that ticket among the caller's open ones.
    shown = api.get(f"/api/v1/calls/{call_sid}", "seat1").json
    assert shown["ticket"]["id"] == ticket_id and shown["state"] == "queued"
    row = call_row(seat.html("/console/calls/waiting"), call_sid)
    assert "已建单" in row and ticket["number"] in row
    # A handler who later sees the ticket is not shown the call (the calls are the centre's).
    api.act(ticket_id, "submit", "seat1")
    api.act(ticket_id, "dispatch", "dispatcher1", {"unit": "gulou", "note": "请处理"})
    assert "call-link" not in browser("handler-gulou").html(f"/console/tickets/{ticket_id}")


def test_the_call_form_is_refused_without_the_csrf_token(app, api, twilio, browser):
    call_sid = queued_call(twilio, "2")
    seat = browser("seat1")
    body = {"caller_phone": CALLER, "desk": "children", "channel": "voice", "call_sid": call_sid,
            **FOR_THE_CALL}
    seat.post("/console/tickets/new", body, csrf=False, expect=400)
    seat.post("/console/tickets/new", {**body, "csrf_token": "forged"}, csrf=False, expect=400)
    assert api.ticket_count() == 0
    assert api.get(f"/api/v1/calls/{call_sid}", "seat1").json["ticket"] is None


def test_an_unknown_call_is_said_and_never_linked(app, api, browser):
    seat = browser("seat1")
    ghost = sid("CA")
    form = seat.html(f"/console/tickets/new?call_sid={ghost}")
    assert "该来电不存在" in form and 'name="call_sid"' not in form
    response = seat.post("/console/tickets/new", {**INTAKE, "call_sid": ghost}, expect=422)
    page = seat.text(response)
    assert re.search(rf'id="call_sid-error">来电 {ghost} 不存在。</span>', page)
    assert f'name="call_sid" value="{ghost}"' in page            # kept, with the rest of the form
    assert api.ticket_count() == 0


def test_the_panel_in_english(app, twilio, browser):
    call_sid = queued_call(twilio, "3")
    seat = browser("seat3")
    seat.get("/console/lang/en", expect=302)
    page = seat.html("/console/tickets/new")
    row = call_row(page, call_sid)
    assert "Calls now" in page and "Queued" in row and "Open ticket for this call" in row
    assert "为此来电建单" not in page


def test_refreshing_the_panel_does_not_keep_an_idle_session_alive(app, twilio, browser):
    seat = browser("seat1")
    polled = seat.get("/console/calls/waiting", headers={"X-Console-Refresh": "1"})
    assert "Set-Cookie" not in polled.headers
    visited = seat.get("/console/calls/waiting")
    assert "session=" in visited.headers.get("Set-Cookie", "")
