"""In a real browser: a seat assesses a child's risk and the ticket becomes a crisis, with its
crisis panel, at desktop width and on a 375 px phone. Screenshots go to test-artifacts/."""

from tests.console import test_browser
from tests.console.test_browser import ARTIFACTS, shot
from tests.console.test_referrals import child_ticket

# The live server, Chromium and the logged-in person of the main browser tests.
live_server, chromium, person = test_browser.live_server, test_browser.chromium, test_browser.person

HIGH_RISK = {"immediate_danger": "no", "self_harm_thoughts": "yes", "self_harm_plan": "yes",
             "self_harm_means": "yes", "violence_or_abuse": "no", "safe_adult": "no",
             "location_known": "yes"}


def test_the_risk_assessment_raises_a_childs_ticket_to_crisis(person, api):
    tid = child_ticket(api, content="孩子说最近睡不着，不想去学校，和妈妈吵架后一直哭")["id"]
    seat = person("seat2")
    seat.goto(f"/console/tickets/{tid}")
    assert seat.locator(".ticket-head .prio.crisis").count() == 0
    assert not seat.locator("#crisis-panel").is_visible()
    form = seat.locator("#risk-assessment form")
    for question, answer in HIGH_RISK.items():
        form.locator(f"input[name={question}][value={answer}]").check()
    form.locator("textarea[name=note]").fill("孩子说药已经攒好了，放在书包里")
    shot(seat, "h3-01-risk-form")
    form.get_by_role("button", name="提交评估").click()
    seat.wait_for_load_state()

    assert seat.locator(".ticket-head .prio.crisis").inner_text() == "危机"
    panel = seat.locator("#crisis-panel")
    assert panel.is_visible()
    assert "风险评估为高风险" in panel.inner_text()
    assert panel.get_by_role("button", name="转 110 报警").is_visible()
    assert panel.get_by_role("button", name="转 120 急救").is_visible()
    assert "你是不是在想结束自己的生命" in panel.inner_text()
    assert "徐州市心理援助中心" in panel.inner_text()
    assert seat.locator("#risk-assessment .risk-level.high").inner_text() == "高风险"
    assert seat.locator("#action-flag_crisis").count() == 0
    shot(seat, "h3-02-crisis-panel-desktop")
    panel.screenshot(path=str(ARTIFACTS / "h3-03-crisis-panel-only.png"))

    seat.set_viewport_size({"width": 375, "height": 800})
    seat.reload()
    panel = seat.locator("#crisis-panel")
    box = panel.bounding_box()
    assert box["width"] <= 375
    button = panel.get_by_role("button", name="转 110 报警").bounding_box()
    assert button["x"] >= 0 and button["x"] + button["width"] <= 375
    assert seat.evaluate("document.documentElement.scrollWidth") <= 375
    shot(seat, "h3-04-crisis-panel-375")
    panel.screenshot(path=str(ARTIFACTS / "h3-05-crisis-panel-375-only.png"))


def test_the_crisis_panel_quotes_the_words_the_child_used(person, api):
    said = "孩子哭着说：我觉得活着没意思，昨天晚上还割腕了，不敢告诉爸爸妈妈。"
    tid = child_ticket(api, content=said)["id"]
    seat = person("seat2")
    seat.goto(f"/console/tickets/{tid}")
    panel = seat.locator("#crisis-panel")
    words = panel.locator("mark.crisis-word").all_inner_texts()
    assert set(words) == {"活着没意思", "割腕"}
    assert "先问位置" in panel.inner_text()          # no assessment yet says where the child is
    panel.screenshot(path=str(ARTIFACTS / "h3-06-crisis-panel-words.png"))
    seat.set_viewport_size({"width": 375, "height": 800})
    assert seat.evaluate("document.documentElement.scrollWidth") <= 375
    panel.screenshot(path=str(ARTIFACTS / "h3-07-crisis-panel-words-375.png"))
