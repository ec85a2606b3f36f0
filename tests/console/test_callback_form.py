"""Issue 22: the seat's callback form asks how satisfied the caller is once (the rating), so its
answers cannot contradict each other (the rule: tests/test_callback_answers.py)."""

import re


def test_the_console_form_asks_satisfaction_once(browser, api):
    tid = api.callback_pending()["id"]
    seat = browser("seat1")
    page = seat.html(f"/console/tickets/{tid}")
    form = re.search(r'id="action-record_callback".*?</form>', page, re.S).group(0)
    assert 'name="satisfied"' not in form
    assert [label for label in ("满意", "基本满意", "不满意") if f"> {label}</label>" in form] == \
        ["满意", "基本满意", "不满意"]
    # Reached, resolved, but no rating: the form says what is missing.
    refused = seat.action(tid, "record_callback", {"reached": "true", "resolved": "true"}, expect=422)
    assert "接通回访时必填" in seat.text(refused)
    seat.action(tid, "record_callback", {"reached": "true", "resolved": "true", "rating": "3"})
    assert api.ticket(tid)["state"] == "in_progress"                 # 不满意: back for 重办
