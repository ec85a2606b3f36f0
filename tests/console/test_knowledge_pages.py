"""The knowledge base in the console: suggestions at intake, answering from one, the editors' page."""

from tests.console.helpers import INTAKE, ticket_id_from
from tests.test_knowledge import ARTICLE, published


def test_suggestions_show_the_best_article_with_the_callers_words_marked(browser, api):
    article = published(api)
    published(api, title="公积金租房提取", questions="租房能取公积金吗", answer="每年可提取一次。",
              keywords=["公积金"], units=[])
    seat = browser("seat1")
    page = seat.html("/console/knowledge/suggest?q=我社保卡弄丢了")
    assert page.index("data-article=") == page.index(f'data-article="{article["id"]}"')    # first
    assert "<mark>社保卡</mark>" in page and "用此答复" in page
    assert "没有找到" in seat.html("/console/knowledge/suggest?q=火星移民")


def test_the_intake_page_has_the_panel_and_the_direct_answer_field(browser):
    page = browser("seat1").html("/console/tickets/new")
    assert 'id="kb-suggestions"' in page and 'name="direct_answer"' in page and "knowledge.js" in page


def test_a_seat_answers_at_intake_from_an_article_and_the_event_keeps_it(browser, api):
    article = published(api)
    seat = browser("seat1")
    response = seat.post("/console/tickets/new", {**INTAKE, "content": "社保卡丢了怎么补办",
                                                  "direct_answer": article["answer"],
                                                  "article": str(article["id"])})
    ticket = api.ticket(ticket_id_from(response))
    assert ticket["state"] == "closed" and ticket["resolution"] == "answered"
    answer = [e for e in api.events(ticket["id"]) if e["action"] == "answer"][0]
    assert answer["data"]["article"] == article["id"] and answer["data"]["article_version"] == 1
    figures = api.get("/api/v1/knowledge/figures", "supervisor1").json
    assert figures["by_article"][0]["answers"] == 1


def test_only_a_final_search_that_found_nothing_is_kept_for_the_editors(browser, api):
    seat = browser("seat1")
    seat.html("/console/knowledge/suggest?q=火星")
    seat.html("/console/knowledge/suggest?q=火星移民怎么申请&final=1")
    misses = api.get("/api/v1/knowledge/figures", "supervisor1").json["misses"]
    assert [m["q"] for m in misses] == ["火星移民怎么申请"]


def test_the_editor_publishes_from_the_knowledge_page(browser, api):
    published(api, title="已发布的条目")
    draft = api.post("/api/v1/knowledge/articles", "seat1", ARTICLE, expect=201).json
    api.post(f"/api/v1/knowledge/articles/{draft['id']}/actions/submit", "seat1")
    editor = browser("supervisor1")
    page = editor.html("/console/knowledge")
    assert page.index(ARTICLE["title"]) < page.index("已发布的条目")      # waiting for review first
    assert "发布" in page
    editor.post(f"/console/knowledge/{draft['id']}/publish", {})
    assert api.get(f"/api/v1/knowledge/articles/{draft['id']}", "seat1").json["state"] == "published"
    browser("seat1").get("/console/knowledge", expect=403)
