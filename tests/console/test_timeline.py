"""Issue 22: the ticket page says each thing once and in words — no 转介 ×2, 强制报告 ×2 or 签收时限
twice after a forward; names, not usernames; a co-unit sees its own task, not the ticket's state."""

import re

CHILD = {"phone": "+8613900000013", "name": "小明", "is_minor": True, "age": 12}


def timeline(page: str) -> list[str]:
    """The timeline's lines: each line's action label."""
    part = page.split('<ol class="timeline">')[1].split("</ol>")[0]
    return re.findall(r"<strong>(.*?)</strong>", part)


def test_a_referral_and_a_mandatory_report_are_each_one_line(browser, api):
    tid = api.create(desk="children", category="psych_support", caller=CHILD)["id"]
    api.act(tid, "refer", "seat1", {"partner": "xz-xinli", "service": "counselling",
                                   "consent": {"by": "母亲", "how": "phone"}})
    api.act(tid, "mandatory_report", "seat1", {"suspected": "abuse", "what": "身上有伤"})
    lines = timeline(browser("seat1").html(f"/console/tickets/{tid}"))
    assert lines == ["受理", "发出转介", "强制报告"]
    # The audit log itself keeps every row.
    assert api.actions_logged(tid) == ["create", "referral_sent", "refer", "mandatory_report",
                                       "mandatory_report"]


def test_after_a_forward_each_clock_shows_once_with_the_earlier_one_folded(browser, api):
    tid = api.in_progress(unit="gulou")["id"]
    api.act(tid, "forward", "handler-gulou", {"unit": "gulou-huanglou"})
    page = browser("dispatcher1").html(f"/console/tickets/{tid}")
    clocks = page.split('<table class="clocks">')[1].split("</table>")[0]
    current = clocks.split('class="earlier"')[0]
    assert current.count("<td>签收时限</td>") == 1 and "计时中" in current
    assert "更早的时限" in clocks and clocks.count("<td>签收时限</td>") == 2


def test_people_are_named_not_usernames(browser, api):
    tid = api.dispatched(unit="gulou")["id"]
    api.act(tid, "supervise", "supervisor1", {"note": "今天内回复"})
    page = browser("dispatcher1").html(f"/console/tickets/{tid}")
    main = page.split("<main>")[1]
    assert "supervisor1" not in main and "dispatcher1" not in main.split('<aside class="actions">')[0]
    assert "值班长" in main and "派单员一号" in main


def test_a_co_unit_sees_its_own_task(browser, api):
    tid = api.dispatched(unit="gulou", co_units=["yunlong"])["id"]
    co_unit = browser("handler-yunlong")
    assert "协办待签收" in co_unit.html("/console/inbox")
    page = co_unit.html(f"/console/tickets/{tid}")
    assert '<span class="state-badge own-task">协办待签收</span>' in page
    api.act(tid, "acknowledge", "handler-yunlong")
    assert '<span class="state-badge own-task">协办中</span>' in co_unit.html(f"/console/tickets/{tid}")
    api.act(tid, "submit_opinion", "handler-yunlong", {"opinion": "同意鼓楼区意见"})
    assert "协办意见已提交" in co_unit.html(f"/console/tickets/{tid}")
    # The lead unit and the centre read the ticket's own state.
    assert "own-task" not in browser("handler-gulou").html(f"/console/tickets/{tid}")


def test_a_recall_reaches_the_units_inbox_saying_what_and_who(browser, api):
    tid = api.dispatched(unit="gulou")["id"]
    api.act(tid, "recall", "supervisor1", {"reason": "应由泉山区办理"})
    page = browser("handler-gulou").html("/console/notices")
    row = re.search(r'<tr class="unread">(.*?)</tr>', page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[1:4] == ["撤回改派", cells[2], "值班长"]
    assert "已由市中心撤回改派，无需办理：应由泉山区办理" in cells[2]
    assert "supervisor1" not in page and "recall" not in re.sub(r"<[^>]+>", "", page.split("<main>")[1])


def test_a_survey_turned_into_a_seats_call_is_said_in_words(app, browser, api):
    from hotline import tasks
    from tests.twilio_fakes import run

    tid = api.create(desk="children", category="psych_support", caller=CHILD)["id"]
    api.act(tid, "submit", "seat1")
    api.act(tid, "dispatch", "dispatcher1", {"unit": "gulou"})
    api.act(tid, "acknowledge", "handler-gulou")
    api.act(tid, "reply", "handler-gulou", {"result": "已联系学校", "resolved": True})
    api.act(tid, "approve_reply", "dispatcher1", {"note": "同意"})
    run(app, tasks.callback_survey, tid, 0, 1)
    assert api.actions_logged(tid)[-1] == "callback_seat_task"     # a child's number: no survey text
    page = browser("seat1").html(f"/console/tickets/{tid}")
    text = re.sub(r"<[^>]+>", " ", page.split('<ol class="timeline">')[1].split("</ol>")[0])
    assert "转坐席电话回访" in text
    assert not re.search(r"[a-z]+_[a-z_]+", text), re.findall(r"[a-z]+_[a-z_]+", text)
