"""Repeat callers (issue 21): a new request added to the caller's open ticket (`append`), and
the target of a merge showing what was merged into it, with its content."""


def test_append_puts_the_new_request_on_the_open_ticket_and_notifies_the_lead_unit(api):
    ticket = api.dispatched(content="幸福小区3号楼电梯坏了")
    api.act(ticket["id"], "acknowledge", "handler-gulou")
    appended = api.act(ticket["id"], "append", "seat1",
                       {"content": "电梯今天又困人了，物业还是不来", "channel": "sms"})
    assert appended["state"] == "in_progress"            # the same matter, still with the unit
    event = api.events(ticket["id"])[-1]
    assert event["action"] == "append"
    assert event["data"]["content"] == "电梯今天又困人了，物业还是不来"
    assert event["data"]["channel"] == "sms" and event["data"]["notified"] == ["gulou"]
    detail = api.ticket(ticket["id"], as_user="handler-gulou")
    assert [(a["content"], a["channel"]) for a in detail["appended"]] == [
        ("电梯今天又困人了，物业还是不来", "sms")]
    notices = api.get("/api/v1/notices", "handler-gulou").json
    notice = [n for n in notices if n["kind"] == "append"][0]
    assert notice["ticket"] == ticket["id"] and "电梯今天又困人了" in notice["message"]
    # The request is part of the ticket's record: its words find the ticket.
    found = api.get("/api/v1/tickets?q=物业", "supervisor1").json
    assert [t["id"] for t in found] == [ticket["id"]]


def test_append_is_for_seats_and_open_tickets(api):
    ticket = api.create()
    assert api.try_act(ticket["id"], "append", "dispatcher1", {"content": "又来电"}).status_code == 403
    assert api.try_act(ticket["id"], "append", "seat1", {}).status_code == 422
    api.act(ticket["id"], "answer", "seat1", {"answer": "已告知"})
    closed = api.try_act(ticket["id"], "append", "seat1", {"content": "又来电"})
    assert closed.status_code == 409


def test_an_appended_request_with_crisis_words_puts_the_ticket_on_the_crisis_path(api):
    ticket = api.dispatched()
    api.act(ticket["id"], "append", "seat1", {"content": "他说不想活了要跳楼"})
    assert api.ticket(ticket["id"])["priority"] == "crisis"


def test_the_merge_target_shows_what_was_merged_in_with_its_content(api):
    target = api.dispatched(content="幸福小区停水两天了")
    repeat = api.create(content="幸福小区还是没水，老人没法做饭", channel="web",
                        subject="幸福小区没水")
    api.act(repeat["id"], "merge", "dispatcher1", {"into": target["number"]})
    # The lead unit cannot open the merged ticket (it never went to the unit) ...
    api.get(f"/api/v1/tickets/{repeat['id']}", "handler-gulou", expect=404)
    # ... but sees what it said on the ticket it handles.
    detail = api.ticket(target["id"], as_user="handler-gulou")
    [merged] = detail["merged_in"]
    assert merged["number"] == repeat["number"] and merged["ticket"] == repeat["id"]
    assert merged["content"] == "幸福小区还是没水，老人没法做饭"
    assert merged["subject"] == "幸福小区没水" and merged["channel"] == "web"
    assert "phone" not in merged                             # the caller stays on the merged ticket
