"""The ticket lifecycle through HTTP, the way the centre and a county use it.

Each road checks what a user would see: the ticket's state and fields, the
audit timeline (GET .../events) and the status codes of the refusals.
"""

from datetime import UTC, datetime, timedelta

import time_machine

# Wednesday 6 March 2024, 10:00 in Shanghai: a plain working week (no holiday,
# no make-up day until Qingming on 4 April), so working-day deadlines are exact.
WED_10AM = datetime(2024, 3, 6, 2, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def last_event(api, tid: int) -> dict:
    return api.events(tid)[-1]


def test_numbers_count_up_per_shanghai_day_and_restart_at_its_midnight(api):
    # 23:59 in Shanghai on 6 March is 15:59 UTC; the next ticket is filed on the 7th there.
    with time_machine.travel(datetime(2024, 3, 6, 15, 59, tzinfo=UTC), tick=False) as traveller:
        numbers = [api.create()["number"] for _ in range(3)]
        traveller.move_to(datetime(2024, 3, 6, 16, 0, tzinfo=UTC))
        numbers.append(api.create()["number"])
    assert numbers == ["12345-20240306-000001", "12345-20240306-000002", "12345-20240306-000003",
                       "12345-20240307-000001"]


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


# --- intake: the seat settles it at once ------------------------------------------


def test_direct_answer_closes_the_ticket_from_intake(api):
    tid = api.create()["id"]

    closed = api.act(tid, "answer", "seat1", {"answer": "路灯报修请拨打城管热线"})

    assert closed["state"] == "closed"
    assert closed["resolution"] == "answered"
    assert closed["resolution_note"] == "路灯报修请拨打城管热线"
    assert closed["closed_at"] is not None
    assert closed["lead_unit"] is None and closed["timers"] == []
    create, answer = api.events(tid)
    assert (create["action"], create["from_state"], create["to_state"]) == ("create", None, "intake")
    assert answer["action"] == "answer"
    assert (answer["from_state"], answer["to_state"]) == ("intake", "closed")
    assert answer["actor"] == "seat1" and answer["unit"] == "xz"
    assert answer["data"] == {"answer": "路灯报修请拨打城管热线"}


def test_transfer_out_to_110_records_the_target(api):
    tid = api.create(category="report", content="有人在小区打架")["id"]

    transferred = api.act(tid, "transfer_out", "seat1", {"to": "110", "note": "已三方转接110"})

    assert transferred["state"] == "transferred"
    assert transferred["transfer_to"] == "110"
    assert transferred["resolution"] == "transferred"
    assert transferred["resolution_note"] == "已三方转接110"
    event = last_event(api, tid)
    assert (event["action"], event["from_state"], event["to_state"]) == \
        ("transfer_out", "intake", "transferred")
    assert event["data"] == {"to": "110", "note": "已三方转接110"}
    # Terminal: nothing more happens to it.
    api.act(tid, "submit", "seat1", expect=409)


def test_reject_needs_a_reason_and_ends_rejected(api):
    tid = api.create()["id"]

    response = api.try_act(tid, "reject", "seat1", {})
    api.assert_error(response, 422, "reason")
    response = api.try_act(tid, "reject", "seat1", {"reason": ""})
    api.assert_error(response, 422, "reason")
    assert api.ticket(tid)["state"] == "intake"
    assert api.actions_logged(tid) == ["create"]

    rejected = api.act(tid, "reject", "seat1", {"reason": "不属于政务服务范围"})
    assert rejected["state"] == "rejected"
    assert rejected["resolution"] == "rejected"
    assert rejected["resolution_note"] == "不属于政务服务范围"
    event = last_event(api, tid)
    assert (event["action"], event["from_state"], event["to_state"]) == ("reject", "intake", "rejected")
    assert event["data"] == {"reason": "不属于政务服务范围"}


# --- merge -------------------------------------------------------------------------


def test_merge_into_an_open_ticket(api):
    target = api.dispatched()
    tid = api.create(content="同一盏路灯，另一位市民来电")["id"]

    merged = api.act(tid, "merge", "seat1", {"into": target["id"]})

    assert merged["state"] == "merged"
    assert merged["merged_into"] == target["id"]
    assert merged["resolution"] == "merged"
    event = last_event(api, tid)
    assert (event["action"], event["from_state"], event["to_state"]) == ("merge", "intake", "merged")
    assert event["data"] == {"into": target["id"], "into_number": target["number"]}

    target_after = api.ticket(target["id"])
    assert target_after["state"] == "dispatched"
    assert target_after["version"] > target["version"]
    merged_in = last_event(api, target["id"])
    assert merged_in["action"] == "merged_in"
    assert merged_in["from_state"] == merged_in["to_state"] == "dispatched"
    assert merged_in["actor"] == "seat1"
    assert merged_in["data"]["ticket"] == tid and merged_in["data"]["number"] == merged["number"]
    assert merged_in["data"]["content"] == merged["content"]      # what it asked is on the target


def test_dispatcher_merges_a_ticket_waiting_for_dispatch(api):
    target = api.create()
    tid = api.create()["id"]
    api.act(tid, "submit", "seat1")

    merged = api.act(tid, "merge", "dispatcher1", {"into": target["id"]})

    assert merged["state"] == "merged"
    assert {t["kind"]: t["state"] for t in merged["timers"]} == {"dispatch": "cancelled"}
    assert api.actions_logged(target["id"]) == ["create", "merged_in"]


def test_merge_into_itself_or_a_closed_ticket_is_refused(api):
    tid = api.create()["id"]
    closed = api.create()
    api.act(closed["id"], "answer", "seat1", {"answer": "已答复"})
    before, closed_before = api.snapshot(tid), api.snapshot(closed["id"])

    api.assert_error(api.try_act(tid, "merge", "seat1", {"into": tid}), 422, "into")
    response = api.try_act(tid, "merge", "seat1", {"into": closed["id"]})
    body = api.assert_error(response, 409)
    assert closed["number"] in body["message"]

    assert api.snapshot(tid) == before
    assert api.snapshot(closed["id"]) == closed_before
    assert api.ticket(tid)["merged_into"] is None


# --- return (退单) -------------------------------------------------------------------


def test_approved_return_goes_back_to_dispatch_and_can_be_redispatched(api):
    tid = api.dispatched(unit="gulou")["id"]
    api.act(tid, "acknowledge", "handler-gulou")

    api.assert_error(api.try_act(tid, "return", "handler-gulou", {}), 422, "reason")
    returned = api.act(tid, "return", "handler-gulou", {"reason": "属市级部门职责"})
    assert returned["state"] == "return_requested"
    assert returned["lead_unit"] == "gulou"
    event = last_event(api, tid)
    assert (event["from_state"], event["to_state"]) == ("in_progress", "return_requested")
    assert event["data"] == {"reason": "属市级部门职责"}

    approved = api.act(tid, "approve_return", "dispatcher1", {"note": "同意退回"})
    assert approved["state"] == "pending_dispatch"
    assert approved["lead_unit"] is None
    assert approved["return_count"] == 1
    event = last_event(api, tid)
    assert event["action"] == "approve_return" and event["actor"] == "dispatcher1"
    assert (event["from_state"], event["to_state"]) == ("return_requested", "pending_dispatch")
    assert event["data"]["previous_unit"] == "gulou"
    # The old unit's clocks stop; a new dispatch clock runs.
    assert [t["state"] for t in api.timers_of(approved, "acknowledge")] == ["met"]
    assert [t["state"] for t in api.timers_of(approved, "respond")] == ["cancelled"]
    assert [t["state"] for t in api.timers_of(approved, "handle")] == ["cancelled"]
    assert api.running_timer(approved, "dispatch")
    # gulou no longer sees it.
    api.get(f"/api/v1/tickets/{tid}", "handler-gulou", expect=404)

    redispatched = api.act(tid, "dispatch", "dispatcher1", {"unit": "housing"})
    assert redispatched["state"] == "dispatched"
    assert redispatched["lead_unit"] == "housing"
    assert [t["state"] for t in api.timers_of(redispatched, "dispatch")] == ["met", "met"]
    assert api.running_timer(redispatched, "acknowledge")
    assert api.act(tid, "acknowledge", "handler-housing")["state"] == "in_progress"
    assert api.actions_logged(tid)[-3:] == ["approve_return", "dispatch", "acknowledge"]


def test_denied_return_forces_the_acknowledgement(api):
    tid = api.dispatched(unit="gulou")["id"]
    # Returned straight away, never acknowledged.
    assert api.act(tid, "return", "handler-gulou", {"reason": "不归我区管"})["state"] == \
        "return_requested"

    denied = api.act(tid, "deny_return", "dispatcher1", {"note": "属地管理，请办理"})

    assert denied["state"] == "in_progress"
    assert denied["lead_unit"] == "gulou"
    assert [t["state"] for t in api.timers_of(denied, "acknowledge")] == ["met"]
    assert api.running_timer(denied, "handle")
    event = last_event(api, tid)
    assert (event["action"], event["from_state"], event["to_state"]) == \
        ("deny_return", "return_requested", "in_progress")
    assert event["data"] == {"note": "属地管理，请办理", "forced_acknowledge": True}
    # The unit works on it as its own now.
    api.act(tid, "reply", "handler-gulou", {"result": "已处理", "resolved": True})


def test_denied_return_after_acknowledging_is_not_a_forced_acknowledgement(api):
    tid = api.in_progress(unit="gulou")["id"]
    api.act(tid, "return", "handler-gulou", {"reason": "不归我区管"})

    denied = api.act(tid, "deny_return", "dispatcher1", {})

    assert denied["state"] == "in_progress"
    assert "forced_acknowledge" not in last_event(api, tid)["data"]


def test_return_after_the_return_window_is_refused(api):
    with time_machine.travel(WED_10AM, tick=False) as traveller:
        tid = api.in_progress(unit="gulou")["id"]
        # The window is 2 working days after dispatch: Friday 10:00. Monday is too late.
        traveller.move_to(WED_10AM + timedelta(days=5))
        api.forget_tokens()
        before = api.snapshot(tid)

        response = api.try_act(tid, "return", "handler-gulou", {"reason": "不归我区管"})

        api.assert_error(response, 409)
        assert api.snapshot(tid) == before


# --- forward (转办) to a unit below ----------------------------------------------------


def test_forward_from_a_county_to_its_sub_unit(api):
    tid = api.in_progress(unit="gulou")["id"]

    forwarded = api.act(tid, "forward", "handler-gulou",
                        {"unit": "gulou-huanglou", "note": "请黄楼街道办理"})

    assert forwarded["state"] == "dispatched"
    assert forwarded["lead_unit"] == "gulou-huanglou"
    event = last_event(api, tid)
    assert (event["action"], event["from_state"], event["to_state"]) == \
        ("forward", "in_progress", "dispatched")
    assert event["unit"] == "gulou"
    assert event["data"] == {"unit": "gulou-huanglou", "note": "请黄楼街道办理", "from_unit": "gulou"}
    assert api.running_timer(forwarded, "acknowledge")

    # The county is no longer the lead: it may not acknowledge or reply ...
    api.act(tid, "acknowledge", "handler-gulou", expect=403)
    # ... the street acknowledges and handles it ...
    acknowledged = api.act(tid, "acknowledge", "handler-gulou-huanglou")
    assert acknowledged["state"] == "in_progress"
    assert last_event(api, tid)["unit"] == "gulou-huanglou"
    # ... and the county still follows it, in its list too.
    assert api.ticket(tid, as_user="handler-gulou")["lead_unit"] == "gulou-huanglou"
    listed = api.get("/api/v1/tickets", "handler-gulou").json
    assert [t["id"] for t in listed] == [tid]
    api.act(tid, "reply", "handler-gulou", {"result": "x", "resolved": True}, expect=403)
    api.act(tid, "reply", "handler-gulou-huanglou", {"result": "已修复", "resolved": True})
    # A sibling unit sees nothing.
    api.get(f"/api/v1/tickets/{tid}", "handler-gulou-edu", expect=404)


def test_forward_goes_further_down_to_a_village(api):
    tid = api.in_progress(unit="gulou")["id"]
    api.act(tid, "forward", "handler-gulou", {"unit": "gulou-huanglou"})
    api.act(tid, "acknowledge", "handler-gulou-huanglou")

    forwarded = api.act(tid, "forward", "handler-gulou-huanglou", {"unit": "gulou-huanglou-hepan"})

    assert forwarded["lead_unit"] == "gulou-huanglou-hepan"
    assert api.act(tid, "acknowledge", "handler-gulou-huanglou-hepan")["state"] == "in_progress"


def test_forward_to_a_unit_not_below_is_refused(api):
    tid = api.in_progress(unit="gulou")["id"]
    before = api.snapshot(tid)

    # Another county's street, a city department, the county itself, its parent.
    for unit in ("yunlong-pengcheng", "edu", "gulou", "xz"):
        response = api.try_act(tid, "forward", "handler-gulou", {"unit": unit})
        api.assert_error(response, 422, "unit")

    assert api.snapshot(tid) == before
    assert api.ticket(tid)["lead_unit"] == "gulou"


def test_forward_to_a_co_unit_is_refused(api):
    tid = api.dispatched(unit="gulou", co_units=["gulou-edu"])["id"]
    api.act(tid, "acknowledge", "handler-gulou")
    before = api.snapshot(tid)

    response = api.try_act(tid, "forward", "handler-gulou", {"unit": "gulou-edu"})

    api.assert_error(response, 422, "unit")
    assert api.snapshot(tid) == before


# --- review of the reply ----------------------------------------------------------------


def test_send_back_after_reply_starts_a_new_handling_cycle(api):
    replied = api.replied(unit="gulou")
    tid = replied["id"]
    first_handle = api.timers_of(replied, "handle")
    assert [t["state"] for t in first_handle] == ["met"]

    sent_back = api.act(tid, "send_back", "dispatcher1", {"note": "答复不完整，请补充"})

    assert sent_back["state"] == "in_progress"
    event = last_event(api, tid)
    assert (event["action"], event["from_state"], event["to_state"]) == \
        ("send_back", "replied", "in_progress")
    assert event["actor"] == "dispatcher1" and event["data"] == {"note": "答复不完整，请补充"}
    assert [t["state"] for t in api.timers_of(sent_back, "review")] == ["met"]
    new_handle = api.running_timer(sent_back, "handle")
    assert at(new_handle["started_at"]) > at(first_handle[0]["started_at"])
    assert at(new_handle["due_at"]) > at(new_handle["started_at"])
    # The unit replies again.
    again = api.act(tid, "reply", "handler-gulou", {"result": "已补充说明", "resolved": True})
    assert again["state"] == "replied" and again["reply"]["result"] == "已补充说明"


# --- callback (回访) -------------------------------------------------------------------


def test_dissatisfied_callback_sends_the_ticket_back_to_the_unit(api):
    pending = api.callback_pending(unit="gulou")
    tid = pending["id"]

    reworked = api.act(tid, "record_callback", "seat1",
                       {"reached": True, "resolved": True, "satisfied": False, "note": "态度不好"})

    assert reworked["state"] == "in_progress"
    assert reworked["rework_count"] == 1
    assert reworked["callback"] == {"attempts": 0, "reached": True, "resolved": True,
                                    "satisfied": False, "rating": None}
    assert reworked["lead_unit"] == "gulou"
    handles = api.timers_of(reworked, "handle")
    assert [t["state"] for t in handles] == ["met", "running"]
    assert [t["state"] for t in api.timers_of(reworked, "callback")] == ["met"]
    event = last_event(api, tid)
    assert (event["action"], event["from_state"], event["to_state"]) == \
        ("record_callback", "callback_pending", "in_progress")
    assert event["data"]["satisfied"] is False and event["data"]["rework_count"] == 1
    # The unit sees it again and can reply again.
    assert api.act(tid, "reply", "handler-gulou", {"result": "重新处理", "resolved": True})["state"] == \
        "replied"


def test_unresolved_but_satisfied_callback_is_also_rework(api):
    tid = api.callback_pending(unit="gulou")["id"]

    reworked = api.act(tid, "record_callback", "seat1",
                       {"reached": True, "resolved": False, "satisfied": True})

    assert reworked["state"] == "in_progress"
    assert reworked["rework_count"] == 1
    assert reworked["resolution"] is None


def test_callback_not_reached_three_times_closes_unreachable(api):
    tid = api.callback_pending(unit="gulou")["id"]

    for attempt in (1, 2):
        ticket = api.act(tid, "record_callback", "seat1", {"reached": False, "note": "无人接听"})
        assert ticket["state"] == "callback_pending"
        assert ticket["callback"]["attempts"] == attempt
        event = last_event(api, tid)
        assert event["from_state"] == event["to_state"] == "callback_pending"
        assert event["data"]["attempt"] == attempt
        assert api.running_timer(ticket, "callback")

    closed = api.act(tid, "record_callback", "seat1", {"reached": False, "note": "仍无人接听"})

    assert closed["state"] == "closed"
    assert closed["resolution"] == "unreachable"
    assert closed["callback"]["attempts"] == 3
    assert closed["callback"]["reached"] is False
    event = last_event(api, tid)
    assert (event["from_state"], event["to_state"]) == ("callback_pending", "closed")
    assert event["data"]["attempt"] == 3
    assert [t["state"] for t in api.timers_of(closed, "callback")] == ["met"]
    assert api.actions_logged(tid)[-3:] == ["record_callback"] * 3


def test_reached_callback_needs_the_outcome(api):
    tid = api.callback_pending(unit="gulou")["id"]
    before = api.snapshot(tid)

    response = api.try_act(tid, "record_callback", "seat1", {"reached": True, "resolved": True})

    api.assert_error(response, 422, "satisfied")
    assert api.snapshot(tid) == before


# --- reopen (重办) ------------------------------------------------------------------------


def test_reopen_a_handled_ticket_goes_back_to_its_unit(api):
    tid = api.callback_pending(unit="gulou")["id"]
    api.act(tid, "record_callback", "seat1", {"reached": True, "resolved": True, "satisfied": True})

    reopened = api.act(tid, "reopen", "seat1", {"reason": "市民再次来电：路灯又坏了"})

    assert reopened["state"] == "in_progress"
    assert reopened["lead_unit"] == "gulou"
    assert reopened["rework_count"] == 1
    assert reopened["resolution"] is None and reopened["closed_at"] is None
    assert api.running_timer(reopened, "handle")
    event = last_event(api, tid)
    assert (event["action"], event["from_state"], event["to_state"]) == \
        ("reopen", "closed", "in_progress")
    assert event["data"] == {"reason": "市民再次来电：路灯又坏了", "previous_resolution": "satisfied"}
    api.act(tid, "reply", "handler-gulou", {"result": "已更换灯具", "resolved": True})


def test_reopen_a_directly_answered_ticket_goes_to_dispatch(api):
    tid = api.create()["id"]
    api.act(tid, "answer", "seat1", {"answer": "已告知报修渠道"})

    reopened = api.act(tid, "reopen", "supervisor1", {"reason": "按渠道报修无果"})

    assert reopened["state"] == "pending_dispatch"
    assert reopened["lead_unit"] is None
    assert reopened["rework_count"] == 1
    assert reopened["resolution"] is None
    assert api.running_timer(reopened, "dispatch")
    event = last_event(api, tid)
    assert (event["from_state"], event["to_state"]) == ("closed", "pending_dispatch")
    assert event["actor"] == "supervisor1"
    assert event["data"]["previous_resolution"] == "answered"
    assert api.act(tid, "dispatch", "dispatcher1", {"unit": "gulou"})["state"] == "dispatched"


def test_reopen_is_refused_for_other_endings_and_after_the_window(api):
    transferred = api.create()["id"]
    api.act(transferred, "transfer_out", "seat1", {"to": "119"})
    api.assert_error(api.try_act(transferred, "reopen", "seat1", {"reason": "x"}), 409)
    api.assert_error(api.try_act(transferred, "reopen", "seat1", {}), 422, "reason")

    with time_machine.travel(WED_10AM, tick=False) as traveller:
        tid = api.create()["id"]
        api.act(tid, "answer", "seat1", {"answer": "已答复"})
        # 10 working days after Wednesday 6 March is Wednesday 20 March.
        traveller.move_to(WED_10AM + timedelta(days=15))
        api.forget_tokens()
        before = api.snapshot(tid)
        api.assert_error(api.try_act(tid, "reopen", "seat1", {"reason": "又来电"}), 409)
        assert api.snapshot(tid) == before


# --- co-units (协办) ------------------------------------------------------------------------


def test_reply_waits_for_every_co_unit_opinion(api):
    dispatched = api.dispatched(unit="gulou", co_units=["edu", "civil"])
    tid = dispatched["id"]
    assert sorted(dispatched["co_units"]) == ["civil", "edu"]
    assert {s["unit"]: s["opinion"] for s in dispatched["co_unit_status"]} == {"civil": None, "edu": None}
    assert last_event(api, tid)["data"]["co_units"] == ["edu", "civil"]
    api.act(tid, "acknowledge", "handler-gulou")

    before = api.snapshot(tid)
    body = api.assert_error(api.try_act(tid, "reply", "handler-gulou",
                                        {"result": "已处理", "resolved": True}), 409)
    assert body["error"] == "ticket.opinions_missing"
    assert "市教育局" in body["message"] and "市民政局" in body["message"]   # by name, not by code
    assert api.snapshot(tid) == before

    with_opinion = api.act(tid, "submit_opinion", "handler-edu", {"opinion": "教育局意见：已约谈学校"})
    assert with_opinion["state"] == "in_progress"
    event = last_event(api, tid)
    assert event["action"] == "submit_opinion" and event["unit"] == "edu"
    assert event["from_state"] == event["to_state"] == "in_progress"
    assert event["data"] == {"opinion": "教育局意见：已约谈学校", "co_unit": "edu"}
    status = {s["unit"]: s for s in with_opinion["co_unit_status"]}
    assert status["edu"]["opinion"] == "教育局意见：已约谈学校"
    assert status["civil"]["opinion"] is None

    body = api.assert_error(api.try_act(tid, "reply", "handler-gulou",
                                        {"result": "已处理", "resolved": True}), 409)
    assert "市民政局" in body["message"] and "市教育局" not in body["message"]

    api.act(tid, "submit_opinion", "handler-civil", {"opinion": "民政局意见：符合救助条件"})
    replied = api.act(tid, "reply", "handler-gulou", {"result": "已联合处理", "resolved": True})

    assert replied["state"] == "replied"
    event = last_event(api, tid)
    assert (event["action"], event["from_state"], event["to_state"]) == ("reply", "in_progress", "replied")
    assert event["data"]["opinions"] == {"edu": "教育局意见：已约谈学校", "civil": "民政局意见：符合救助条件"}


def test_co_unit_acknowledges_without_changing_the_state(api):
    tid = api.dispatched(unit="gulou", co_units=["edu"])["id"]

    acknowledged = api.act(tid, "acknowledge", "handler-edu")

    assert acknowledged["state"] == "dispatched"
    assert acknowledged["co_unit_status"][0]["unit"] == "edu"
    assert acknowledged["co_unit_status"][0]["acknowledged_at"] is not None
    # The lead's acknowledge clock is not met by a co-unit.
    assert api.running_timer(acknowledged, "acknowledge")
    event = last_event(api, tid)
    assert (event["action"], event["actor"], event["unit"]) == ("acknowledge", "handler-edu", "edu")
    assert event["from_state"] == event["to_state"] == "dispatched"
    assert event["data"] == {"co_unit": "edu"}

    before = api.snapshot(tid)
    api.assert_error(api.try_act(tid, "acknowledge", "handler-edu"), 409)
    assert api.snapshot(tid) == before

    assert api.act(tid, "acknowledge", "handler-gulou")["state"] == "in_progress"


# --- extensions (延期) ----------------------------------------------------------------------


def test_approved_extension_moves_the_handle_due_and_keeps_the_original(api):
    with time_machine.travel(WED_10AM, tick=False):
        tid = api.in_progress(unit="gulou")["id"]
        handle = api.running_timer(api.ticket(tid), "handle")
        # help on the general desk: 10 working days.
        assert at(handle["due_at"]) == datetime(2024, 3, 20, 2, 0, tzinfo=UTC)

        requested = api.act(tid, "request_extension", "handler-gulou",
                            {"days": 3, "reason": "需协调供电公司"})
        assert requested["pending_extension"] == {"days": 3, "reason": "需协调供电公司"}
        assert api.running_timer(requested, "handle")["due_at"] == handle["due_at"]
        event = last_event(api, tid)
        assert event["from_state"] == event["to_state"] == "in_progress"
        assert event["data"] == {"days": 3, "reason": "需协调供电公司"}

        approved = api.act(tid, "approve_extension", "dispatcher1", {"note": "同意延期"})

        assert approved["state"] == "in_progress"
        assert approved["pending_extension"] is None
        assert approved["extended_days"] == 3
        extended = api.running_timer(approved, "handle")
        # Three working days later: Wednesday 20 → Monday 25 March, same time of day.
        assert at(extended["due_at"]) == datetime(2024, 3, 25, 2, 0, tzinfo=UTC)
        assert at(extended["original_due_at"]) == datetime(2024, 3, 20, 2, 0, tzinfo=UTC)
        event = last_event(api, tid)
        assert (event["action"], event["actor"]) == ("approve_extension", "dispatcher1")
        assert event["data"]["days"] == 3
        assert at(event["data"]["handle_due_at"]) == at(extended["due_at"])


def test_denied_extension_clears_the_request(api):
    tid = api.in_progress(unit="gulou")["id"]
    due = api.running_timer(api.ticket(tid), "handle")["due_at"]
    api.act(tid, "request_extension", "handler-gulou", {"days": 5, "reason": "材料未齐"})

    denied = api.act(tid, "deny_extension", "dispatcher1", {"note": "时限内可以办结"})

    assert denied["pending_extension"] is None
    assert denied["extended_days"] == 0
    assert api.running_timer(denied, "handle")["due_at"] == due
    event = last_event(api, tid)
    assert event["action"] == "deny_extension" and event["data"]["days"] == 5
    # Nothing left to decide on.
    api.assert_error(api.try_act(tid, "approve_extension", "dispatcher1", {}), 409)
    # A new request may be made.
    api.act(tid, "request_extension", "handler-gulou", {"days": 2, "reason": "材料已补"})


def test_second_extension_request_while_one_is_pending_conflicts(api):
    tid = api.in_progress(unit="gulou")["id"]
    api.act(tid, "request_extension", "handler-gulou", {"days": 2, "reason": "需现场勘查"})
    before = api.snapshot(tid)

    response = api.try_act(tid, "request_extension", "handler-gulou", {"days": 3, "reason": "再加"})

    api.assert_error(response, 409)
    assert api.snapshot(tid) == before
    assert api.ticket(tid)["pending_extension"] == {"days": 2, "reason": "需现场勘查"}


def test_extensions_are_capped_at_ten_working_days_in_total(api):
    tid = api.in_progress(unit="gulou")["id"]
    before = api.snapshot(tid)
    api.assert_error(api.try_act(tid, "request_extension", "handler-gulou",
                                 {"days": 11, "reason": "工程量大"}), 422, "days")
    assert api.snapshot(tid) == before

    api.act(tid, "request_extension", "handler-gulou", {"days": 6, "reason": "工程量大"})
    api.act(tid, "approve_extension", "dispatcher1", {})
    before = api.snapshot(tid)
    body = api.assert_error(api.try_act(tid, "request_extension", "handler-gulou",
                                        {"days": 5, "reason": "仍需时间"}), 422, "days")
    assert body["errors"]["days"] == ["at most 4"]
    assert api.snapshot(tid) == before

    api.act(tid, "request_extension", "handler-gulou", {"days": 4, "reason": "仍需时间"})
    assert api.act(tid, "approve_extension", "dispatcher1", {})["extended_days"] == 10


def test_extension_after_the_due_time_is_refused(api):
    with time_machine.travel(WED_10AM, tick=False) as traveller:
        tid = api.in_progress(unit="gulou")["id"]
        traveller.move_to(datetime(2024, 3, 21, 2, 0, tzinfo=UTC))  # a day after the handle due
        api.forget_tokens()
        before = api.snapshot(tid)

        response = api.try_act(tid, "request_extension", "handler-gulou",
                               {"days": 2, "reason": "来不及了"})

        api.assert_error(response, 409)
        assert api.snapshot(tid) == before


# --- supervision and notes ---------------------------------------------------------------


def test_supervise_and_add_note_are_logged_without_changing_the_state(api):
    tid = api.in_progress(unit="gulou")["id"]

    supervised = api.act(tid, "supervise", "supervisor1", {"note": "请加快办理"})
    assert supervised["state"] == "in_progress"
    event = last_event(api, tid)
    assert (event["action"], event["actor"], event["from_state"], event["to_state"]) == \
        ("supervise", "supervisor1", "in_progress", "in_progress")
    assert event["data"] == {"note": "请加快办理", "notified": ["gulou"]}

    for user in ("handler-gulou", "seat1", "dispatcher1"):
        noted = api.act(tid, "add_note", user, {"note": f"{user} 的备注"})
        assert noted["state"] == "in_progress"
        event = last_event(api, tid)
        assert (event["action"], event["actor"]) == ("add_note", user)
        assert event["from_state"] == event["to_state"] == "in_progress"
        assert event["data"] == {"note": f"{user} 的备注"}

    assert api.actions_logged(tid)[-4:] == ["supervise", "add_note", "add_note", "add_note"]
    api.assert_error(api.try_act(tid, "supervise", "supervisor1", {}), 422, "note")


def test_notes_may_still_be_added_to_a_closed_ticket_but_not_supervision(api):
    tid = api.create()["id"]
    api.act(tid, "answer", "seat1", {"answer": "已答复"})

    assert api.act(tid, "add_note", "seat1", {"note": "市民来电致谢"})["state"] == "closed"
    api.assert_error(api.try_act(tid, "supervise", "supervisor1", {"note": "督办"}), 409)


# --- timers -------------------------------------------------------------------------------


def test_timers_follow_the_lifecycle(api):
    def state_of(ticket):
        return {(t["kind"], t["state"]) for t in ticket["timers"]}

    with time_machine.travel(WED_10AM, tick=False) as traveller:
        tid = api.create()["id"]
        assert api.ticket(tid)["timers"] == []

        submitted = api.act(tid, "submit", "seat1")
        dispatch = api.running_timer(submitted, "dispatch")
        assert at(dispatch["started_at"]) == WED_10AM
        assert at(dispatch["due_at"]) == WED_10AM + timedelta(hours=2)
        assert at(dispatch["original_due_at"]) == at(dispatch["due_at"])

        traveller.shift(timedelta(minutes=30))
        dispatched = api.act(tid, "dispatch", "dispatcher1", {"unit": "gulou"})
        assert state_of(dispatched) == {("dispatch", "met"), ("acknowledge", "running"),
                                        ("respond", "running"), ("handle", "running")}
        assert at(api.timers_of(dispatched, "dispatch")[0]["stopped_at"]) == \
            WED_10AM + timedelta(minutes=30)
        # The clocks start at dispatch: one working day to acknowledge and respond, ten to reply.
        next_day = datetime(2024, 3, 7, 2, 30, tzinfo=UTC)
        assert at(api.running_timer(dispatched, "acknowledge")["due_at"]) == next_day
        assert at(api.running_timer(dispatched, "respond")["due_at"]) == next_day
        assert at(api.running_timer(dispatched, "handle")["due_at"]) == \
            datetime(2024, 3, 20, 2, 30, tzinfo=UTC)

        traveller.shift(timedelta(minutes=30))
        acknowledged = api.act(tid, "acknowledge", "handler-gulou")
        assert state_of(acknowledged) == {("dispatch", "met"), ("acknowledge", "met"),
                                          ("respond", "running"), ("handle", "running")}

        contacted = api.act(tid, "contact_caller", "handler-gulou", {"note": "已联系"})
        assert ("respond", "met") in state_of(contacted)
        assert last_event(api, tid)["data"] == {"note": "已联系", "first_contact": True}
        api.act(tid, "contact_caller", "handler-gulou", {"note": "再次联系"})
        assert "first_contact" not in last_event(api, tid)["data"]

        replied = api.act(tid, "reply", "handler-gulou", {"result": "已修复", "resolved": True})
        assert state_of(replied) == {("dispatch", "met"), ("acknowledge", "met"), ("respond", "met"),
                                     ("handle", "met"), ("review", "running")}

        approved = api.act(tid, "approve_reply", "dispatcher1", {})
        assert ("review", "met") in state_of(approved)
        assert ("callback", "running") in state_of(approved)

        closed = api.act(tid, "record_callback", "seat1",
                         {"reached": True, "resolved": True, "satisfied": True})
        assert {state for _, state in state_of(closed)} == {"met"}


def test_crisis_clocks_run_around_the_clock(api):
    with time_machine.travel(WED_10AM, tick=False):
        tid = api.create(priority="crisis", desk="children", category="psych_support")["id"]
        submitted = api.act(tid, "submit", "seat1")
        assert at(api.running_timer(submitted, "dispatch")["due_at"]) == WED_10AM + timedelta(minutes=10)
        dispatched = api.act(tid, "dispatch", "dispatcher1", {"unit": "gulou"})
        assert at(api.running_timer(dispatched, "acknowledge")["due_at"]) == \
            WED_10AM + timedelta(minutes=30)
        assert at(api.running_timer(dispatched, "handle")["due_at"]) == WED_10AM + timedelta(hours=24)
