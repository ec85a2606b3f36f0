"""Calls: the Chinese menu, routing to a desk's queue or number, the seats' view of calls
with the caller's open tickets, and the ticket a call becomes."""

import pytest

from hotline.channels.models import Call, CallState, StatusEvent
from tests.helpers import Api
from tests.twilio_fakes import CALLER, queued_call, rows, sid, twiml


def call_of(app, call_sid: str) -> Call:
    [call] = rows(app, Call, Call.call_sid == call_sid)
    return call


def test_a_call_is_logged_and_hears_the_menu(app, twilio):
    call_sid = sid("CA")
    menu = twiml(twilio.call(call_sid))
    gather = menu.find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == "/twilio/voice/gather?attempt=1"
    assert (gather.get("input"), gather.get("language")) == ("dtmf", "cmn-Hans-CN")
    say = gather.find("Say")
    # Named explicitly: Twilio's default voice is not documented for Chinese.
    assert (say.get("voice"), say.get("language")) == ("Polly.Zhiyu", "cmn-CN")
    assert "按1" in say.text and "儿童服务专席，请按2" in say.text and "办不成事，请按3" in say.text
    call = call_of(app, call_sid)
    assert (call.state, call.from_number, call.desk, call.twilio_status) == (
        CallState.RINGING, CALLER, None, "ringing")


def test_the_mandarin_voice_is_a_setting(app, twilio, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_VOICE", "Google.cmn-CN-Standard-A")
    menu = twiml(twilio.call(sid("CA")))
    says = menu.findall(".//Say")
    assert says and {say.get("voice") for say in says} == {"Google.cmn-CN-Standard-A"}
    routed = twiml(twilio.press(sid("CA"), "2"))
    assert {say.get("voice") for say in routed.findall(".//Say")} == {"Google.cmn-CN-Standard-A"}


def test_a_retried_call_webhook_logs_the_call_once(app, twilio):
    call_sid = sid("CA")
    first, second = twilio.call(call_sid), twilio.call(call_sid)
    assert first.get_data() == second.get_data()
    assert len(rows(app, Call)) == 1


@pytest.mark.parametrize("digit, desk, queue", [
    ("1", "general", "general"), ("2", "children", "children"), ("3", "hard_case", "hard_case")])
def test_a_key_puts_the_caller_in_the_desks_queue(app, twilio, digit, desk, queue):
    call_sid = sid("CA")
    twilio.call(call_sid)
    answer = twiml(twilio.press(call_sid, digit))
    assert [child.tag for child in answer] == ["Say", "Enqueue"]
    enqueue = answer.find("Enqueue")
    assert enqueue.text == queue
    assert enqueue.get("action") == f"/twilio/voice/after?desk={desk}"
    call = call_of(app, call_sid)
    assert (call.state, call.desk.value) == (CallState.QUEUED, desk)
    assert call.queued_at is not None


def test_a_wrong_key_repeats_the_menu_then_a_seat_takes_the_caller(app, twilio):
    call_sid = sid("CA")
    twilio.call(call_sid)
    again = twiml(twilio.press(call_sid, "9"))
    gather = again.find("Gather")
    assert gather.get("action") == "/twilio/voice/gather?attempt=2"
    assert gather.find("Say").text.startswith("您的输入有误")
    assert call_of(app, call_sid).state == CallState.RINGING
    # No key at all: the menu again, without the error.
    silent = twiml(twilio.press(call_sid, "", attempt=2)).find("Gather")
    assert silent.get("action") == "/twilio/voice/gather?attempt=3"
    assert not silent.find("Say").text.startswith("您的输入有误")
    # After the last menu nobody is dropped: the general desk.
    last = twiml(twilio.press(call_sid, "#", attempt=3))
    assert last.find("Enqueue").text == "general"
    assert call_of(app, call_sid).desk.value == "general"


def test_the_queue_names_come_from_configuration(app, twilio, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_DESK_QUEUE_CHILDREN", "ertong-zhuanxi")
    call_sid = sid("CA")
    twilio.call(call_sid)
    assert twiml(twilio.press(call_sid, "2")).find("Enqueue").text == "ertong-zhuanxi"


def test_a_desk_with_a_number_is_dialled_and_falls_back_to_its_queue(app, twilio, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_DESK_DIAL_CHILDREN", "+8651688880002")
    call_sid = sid("CA")
    twilio.call(call_sid)
    dial = twiml(twilio.press(call_sid, "2")).find("Dial")
    assert dial.get("action") == "/twilio/voice/after?desk=children"
    number = dial.find("Number")
    assert number.text == "+8651688880002"
    assert number.get("url") == f"/twilio/voice/connect?call={call_sid}"
    # The seat picks up: the whisper tells the seat which desk; the call is in progress.
    whisper = twiml(twilio.post(f"/twilio/voice/connect?call={call_sid}",
                                {"CallSid": sid("CA"), "ParentCallSid": call_sid}))
    assert "儿童服务专席" in whisper.find("Say").text
    assert call_of(app, call_sid).state == CallState.IN_PROGRESS


def test_an_unanswered_dial_puts_the_caller_in_the_queue(app, twilio, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_DESK_DIAL_GENERAL", "+8651688880001")
    call_sid = queued_call(twilio, "1")
    fallback = twiml(twilio.post("/twilio/voice/after?desk=general",
                                 {"CallSid": call_sid, "DialCallStatus": "no-answer"}))
    assert fallback.find("Enqueue").text == "general"
    assert call_of(app, call_sid).state == CallState.QUEUED


def test_a_seat_dequeues_the_caller_and_the_call_ends(app, twilio):
    call_sid = queued_call(twilio, "2")
    connected = twiml(twilio.post("/twilio/voice/connect",
                                  {"CallSid": call_sid, "QueueSid": sid("QU"), "QueueTime": "12"}))
    assert connected.find("Say").text == "正在为您接通坐席。"
    call = call_of(app, call_sid)
    assert call.state == CallState.IN_PROGRESS and call.answered_at is not None
    after = twiml(twilio.post("/twilio/voice/after?desk=children",
                              {"CallSid": call_sid, "QueueResult": "bridged", "QueueTime": "12"}))
    assert [child.tag for child in after] == ["Hangup"]
    assert call_of(app, call_sid).state == CallState.COMPLETED


def test_a_full_queue_apologises_and_suggests_sms(app, twilio):
    call_sid = queued_call(twilio, "1")
    answer = twiml(twilio.post("/twilio/voice/after?desk=general",
                               {"CallSid": call_sid, "QueueResult": "queue-full"}))
    assert "短信" in answer.find("Say").text and answer.find("Hangup") is not None
    assert call_of(app, call_sid).state == CallState.COMPLETED


def test_call_status_callbacks_never_move_a_call_backwards(app, twilio):
    call_sid = queued_call(twilio, "1")
    for value in ["completed", "in-progress", "ringing", "completed", "completed"]:
        assert twilio.status(call_sid, value, kind="call").status_code == 200
    call = call_of(app, call_sid)
    assert (call.state, call.twilio_status, call.desk.value) == (CallState.COMPLETED, "completed", "general")
    assert call.ended_at is not None
    events = rows(app, StatusEvent, StatusEvent.sid == call_sid)
    assert sorted(e.status for e in events) == ["completed", "in-progress", "ringing"]   # replays ignored
    # A late key press cannot reopen it either.
    twilio.press(call_sid, "2")
    assert call_of(app, call_sid).state == CallState.COMPLETED


def test_a_caller_who_hangs_up_in_the_menu_is_completed(app, twilio):
    call_sid = sid("CA")
    twilio.call(call_sid)
    twilio.status(call_sid, "no-answer", kind="call")
    call = call_of(app, call_sid)
    assert (call.state, call.twilio_status, call.desk) == (CallState.COMPLETED, "no-answer", None)


# --- GET /api/v1/calls ---------------------------------------------------------------------

def test_seats_see_queued_calls_with_the_callers_open_tickets(app, api, twilio):
    earlier = api.create(desk="children", category="psych_support",
                         caller={"phone": CALLER, "name": "小明", "is_minor": True, "age": 12})
    closed = api.create(caller={"phone": CALLER, "name": "小明"})
    api.act(closed["id"], "answer", "seat1", {"answer": "已答复"})
    api.create(caller={"phone": "+8613900000000", "name": "别人"})
    call_sid = queued_call(twilio, "2")
    ringing_sid = sid("CA")
    twilio.call(ringing_sid, caller="+8613600000000")

    [listed] = api.get("/api/v1/calls?state=queued", "seat1").json
    assert listed["sid"] == call_sid
    assert (listed["from"], listed["from_masked"], listed["desk"], listed["state"]) == (
        CALLER, False, "children", "queued")
    assert listed["open_tickets"] == [{"id": earlier["id"], "number": earlier["number"],
                                       "state": "intake", "desk": "children",
                                       "created_at": listed["open_tickets"][0]["created_at"]}]
    assert listed["ticket"] is None
    # Default: every live call, newest first.
    assert [c["sid"] for c in api.get("/api/v1/calls", "seat1").json] == [ringing_sid, call_sid]
    assert [c["sid"] for c in api.get("/api/v1/calls?state=ringing,queued", "supervisor1").json] == [
        ringing_sid, call_sid]
    assert api.get("/api/v1/calls?state=completed", "seat1").json == []


def test_who_sees_which_calls(app, api, twilio):
    children = queued_call(twilio, "2")
    general = queued_call(twilio, "1", caller="+8613500000000")
    # seat2 works the children's desk only.
    assert [c["sid"] for c in api.get("/api/v1/calls?state=queued", "seat2").json] == [children]
    api.get(f"/api/v1/calls/{general}", "seat2", expect=404)
    # Dispatchers see the load with masked numbers; units and partners see nothing.
    seen = {c["sid"]: c for c in api.get("/api/v1/calls?state=queued", "dispatcher1").json}
    assert set(seen) == {children, general}
    assert seen[children]["from"] != CALLER and seen[children]["from"].endswith(CALLER[-4:])
    assert seen[children]["from_masked"] is True
    api.get("/api/v1/calls", "handler-gulou", expect=403)
    Api.assert_error(api.client.get("/api/v1/calls"), 401)
    Api.assert_error(api.get("/api/v1/calls?state=waiting", "seat1", expect=None), 422, "state")


def test_a_ticket_opened_during_a_call_links_to_it(app, api, twilio):
    call_sid = queued_call(twilio, "2")
    ticket = api.create(desk="children", category="psych_support", call_sid=call_sid,
                        caller={"phone": None, "name": "小红", "is_minor": True, "age": 10})
    assert ticket["caller"]["phone"] == CALLER                 # taken from the call
    shown = api.get(f"/api/v1/calls/{call_sid}", "seat1").json
    assert shown["ticket"] == {"id": ticket["id"], "number": ticket["number"]}
    assert [t["id"] for t in shown["open_tickets"]] == [ticket["id"]]
    # A second ticket from the same call keeps the first link.
    api.create(call_sid=call_sid)
    assert api.get(f"/api/v1/calls/{call_sid}", "seat1").json["ticket"]["id"] == ticket["id"]


def test_an_unknown_call_sid_is_a_named_422_and_opens_nothing(api):
    response = api.post("/api/v1/tickets", "seat1", {**_ticket(), "call_sid": sid("CA")}, expect=None)
    Api.assert_error(response, 422, "call_sid")
    assert api.ticket_count() == 0


def _ticket() -> dict:
    from tests.helpers import DEFAULT_TICKET

    return dict(DEFAULT_TICKET)


def test_a_withheld_number_is_nobodys_history(app, api, twilio, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_RATE_LIMIT_PER_MINUTE", 1)
    first, second = sid("CA"), sid("CA")
    for call_sid in (first, second):                    # many callers share it: never limited
        assert twilio.call(call_sid, caller="+266696687").status_code == 200
        twilio.press(call_sid, "1", caller="+266696687")
    ticket = api.create(call_sid=first, caller={"phone": None, "name": "匿名"})
    assert ticket["caller"]["phone"] is None
    [listed] = [c for c in api.get("/api/v1/calls", "seat1").json if c["sid"] == second]
    assert listed["open_tickets"] == []
