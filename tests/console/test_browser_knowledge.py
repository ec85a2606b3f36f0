"""Issue 21 in a real browser: an editor publishes an article, a seat types a caller's own words
at intake, sees that article first, answers from it; the event keeps the article. Wide and 375 px."""

from tests.console.test_browser import chromium, live_server, person, shot  # noqa: F401,F811 (fixtures)
from tests.data.knowledge_set import ARTICLES

TARGET = next(a for a in ARTICLES if a["key"] == "sbk_bu")
OTHERS = [a for a in ARTICLES
          if a["key"] in ("sb_jiaofei", "sfz_bu", "gjj_zufang", "yb_pingzheng", "tingshui")]


def body(article: dict) -> dict:
    return {key: value for key, value in article.items() if key != "key"}


def test_editor_publishes_seat_finds_it_first_and_answers_from_it(person, api):  # noqa: F811
    for other in OTHERS:
        created = api.post("/api/v1/knowledge/articles", "supervisor1", body(other), expect=201).json
        api.post(f"/api/v1/knowledge/articles/{created['id']}/actions/publish", "supervisor1")
    draft = api.post("/api/v1/knowledge/articles", "seat2", body(TARGET), expect=201).json
    api.post(f"/api/v1/knowledge/articles/{draft['id']}/actions/submit", "seat2")

    editor = person("supervisor1")
    editor.goto("/console/knowledge")
    row = editor.locator(f"tr[data-article='{draft['id']}']")
    assert "待审核" in row.inner_text()
    shot(editor, "h9-01-editor-knowledge")
    row.locator("button", has_text="发布").click()
    editor.wait_for_selector(".flash.success")
    assert "已发布" in editor.locator(f"tr[data-article='{draft['id']}']").inner_text()

    seat = person("seat1")
    seat.goto("/console/tickets/new")
    seat.select_option("select[name=category]", "consultation")
    seat.fill("input[name=caller_phone]", "13800000009")
    seat.locator("textarea[name=content]").press_sequentially("我社保卡弄丢了，想重新办一张")
    first = seat.locator("#kb-suggestions .kb-hit").first
    first.wait_for()
    assert first.get_attribute("data-article") == str(draft["id"])
    assert "社保卡" in first.locator("mark").first.inner_text()
    shot(seat, "h9-02-seat-intake-suggestions")
    first.locator("button.kb-use").click()
    assert seat.input_value("textarea[name=direct_answer]") == TARGET["answer"]
    seat.set_viewport_size({"width": 375, "height": 800})
    shot(seat, "h9-03-seat-intake-suggestions-375")
    seat.set_viewport_size({"width": 1360, "height": 900})
    seat.locator("#intake-form button[type=submit]").click()
    seat.wait_for_url("**/console/tickets/*")
    ticket_id = int(seat.url.rstrip("/").rsplit("/", 1)[1])
    answer = [e for e in api.events(ticket_id) if e["action"] == "answer"][0]
    assert answer["data"]["article"] == draft["id"] and answer["data"]["article_version"] == 1
    assert api.ticket(ticket_id)["resolution"] == "answered"

    editor.goto("/console/knowledge")
    assert TARGET["title"] in editor.locator("table.kb-figures").inner_text()
    shot(editor, "h9-04-editor-figures")


def test_the_header_search_marks_what_it_found(person, api):  # noqa: F811
    ticket = api.create(subject="停水", content="幸福小区从昨天开始停水，老人孩子没水喝")
    seat = person("seat1")
    seat.fill("header form[role=search] input[name=q]", "幸福小区 停水")
    seat.press("header form[role=search] input[name=q]", "Enter")
    seat.wait_for_selector(".search-results")
    assert ticket["number"] in seat.locator(".search-results").inner_text()
    assert seat.locator(".search-results mark").count() >= 2
    shot(seat, "h9-05-header-search")
    seat.set_viewport_size({"width": 375, "height": 800})
    shot(seat, "h9-06-header-search-375")
