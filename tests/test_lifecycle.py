"""The ticket lifecycle through HTTP, the way the centre and a county use it."""


def test_whole_road_from_intake_to_closed(api):
    ticket = api.create()
    assert ticket["state"] == "intake"
    assert ticket["number"].startswith("12345-")
    tid = ticket["id"]

    assert api.act(tid, "submit", "seat1")["state"] == "pending_dispatch"
    dispatched = api.act(tid, "dispatch", "dispatcher1", {"unit": "gulou", "note": "请核实"})
    assert dispatched["state"] == "dispatched"
    assert dispatched["lead_unit"] == "gulou"
    assert api.act(tid, "acknowledge", "handler-gulou")["state"] == "in_progress"
    api.act(tid, "contact_caller", "handler-gulou", {"note": "已电话联系市民"})
    replied = api.act(tid, "reply", "handler-gulou", {"result": "已修复", "resolved": True})
    assert replied["state"] == "replied"
    assert replied["reply"]["result"] == "已修复"
    assert api.act(tid, "approve_reply", "dispatcher1", {"note": "同意"})["state"] == "callback_pending"
    closed = api.act(tid, "record_callback", "seat1",
                     {"reached": True, "resolved": True, "satisfied": True, "note": "满意"})
    assert closed["state"] == "closed"
    assert closed["resolution"] == "satisfied"

    events = api.events(tid)
    assert [e["action"] for e in events] == [
        "create", "submit", "dispatch", "acknowledge", "contact_caller", "reply",
        "approve_reply", "record_callback",
    ]
    assert [e["seq"] for e in events] == list(range(1, 9))
    assert (events[2]["from_state"], events[2]["to_state"]) == ("pending_dispatch", "dispatched")
    assert events[3]["actor"] == "handler-gulou" and events[3]["unit"] == "gulou"
    assert events[2]["data"]["note"] == "请核实"
    timers = {t["kind"]: t["state"] for t in closed["timers"]}
    assert timers == {"dispatch": "met", "acknowledge": "met", "respond": "met", "handle": "met",
                      "review": "met", "callback": "met"}
