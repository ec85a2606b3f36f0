"""Clocks that are right: a reply is first contact, a crisis recomputes clocks, deadlines read
in Shanghai time with midnight as 24:00 of the day before."""

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from hotline.clocks.calendar import NOTICE_DEADLINE, format_deadline

SH = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_a_reply_without_recorded_contact_meets_the_respond_clock(api):
    replied = api.replied()                      # acknowledge then reply, no contact_caller
    respond = [t for t in replied["timers"] if t["kind"] == "respond"]
    assert [t["state"] for t in respond] == ["met"]
    reply = [e for e in api.events(replied["id"]) if e["action"] == "reply"][0]
    assert reply["data"]["first_contact"] is True


def test_a_reply_after_contact_leaves_the_contact_time(api):
    ticket = api.in_progress()
    contacted = api.act(ticket["id"], "contact_caller", "handler-gulou", {"note": "已电话联系"})
    met_at = [t for t in contacted["timers"] if t["kind"] == "respond"][0]["stopped_at"]
    replied = api.act(ticket["id"], "reply", "handler-gulou", {"result": "已修复", "resolved": True})
    assert [t["stopped_at"] for t in replied["timers"] if t["kind"] == "respond"] == [met_at]
    reply = [e for e in api.events(ticket["id"]) if e["action"] == "reply"][0]
    assert "first_contact" not in reply["data"]


def test_flagging_crisis_recomputes_running_clocks_from_their_start(api):
    with time_machine.travel(sh(2026, 11, 23, 10, 0), tick=False):
        ticket = api.dispatched(category="complaint")
    with time_machine.travel(sh(2026, 11, 23, 10, 5), tick=False):
        flagged = api.act(ticket["id"], "flag_crisis", "seat1", {"reason": "来电者表示不想活了"})
        due = {t["kind"]: datetime.fromisoformat(t["due_at"]) for t in flagged["timers"]
               if t["state"] in ("running", "warned", "overdue")}
        # The crisis rule (7x24): acknowledge 30m, respond 1h, handle 24h from dispatch at 10:00.
        assert due == {"acknowledge": sh(2026, 11, 23, 10, 30), "respond": sh(2026, 11, 23, 11, 0),
                       "handle": sh(2026, 11, 24, 10, 0)}
        events = [e for e in api.events(ticket["id"]) if e["action"] == "timer_recomputed"]
        assert sorted(e["data"]["timer"] for e in events) == ["acknowledge", "handle", "respond"]
        assert {e["data"]["cause"] for e in events} == {"crisis"}
        handle = [e for e in events if e["data"]["timer"] == "handle"][0]
        assert datetime.fromisoformat(handle["data"]["old_due"]) == sh(2026, 12, 14, 10, 0)
        # Flagging again (words in a later note) recomputes nothing more.
        api.act(ticket["id"], "add_note", "seat1", {"note": "来电人又说活着没意思"})
        assert len([e for e in api.events(ticket["id"]) if e["action"] == "timer_recomputed"]) == 3


def test_deadlines_read_in_shanghai_time_and_midnight_ends_the_day_before():
    assert format_deadline(sh(2026, 12, 8, 0, 0)) == "2026-12-07 24:00"
    assert format_deadline(sh(2026, 12, 8, 0, 0), NOTICE_DEADLINE) == "12-07（周一）24:00"
    assert format_deadline(datetime(2026, 12, 7, 13, 26, tzinfo=UTC), NOTICE_DEADLINE) == "12-07（周一）21:26"
    assert format_deadline(sh(2026, 12, 8, 0, 1)) == "2026-12-08 00:01"
    assert format_deadline(None) == ""


def test_the_mandatory_report_notice_quotes_shanghai_time(api):
    with time_machine.travel(sh(2026, 12, 6, 21, 26), tick=False):   # 13:26 UTC
        api.create(as_user="seat2", desk="children", category="psych_support", subject="孩子被打",
                   content="爸爸喝醉了就打我，我被打得很疼", caller=CHILD,
                   location={"unit": "gulou", "address": "黄楼街道"})
        notices = api.get("/api/v1/notices", "supervisor1").json
    messages = [n["message"] for n in (notices["items"] if isinstance(notices, dict) else notices)
                if "强制报告" in n["message"]]
    assert messages and "须于 12-07（周一）21:26 前" in messages[0], messages
