"""The knowledge base over the API: write, review, publish, search, answer from it, import, figures."""

import io

from openpyxl import Workbook

ARTICLE = {
    "title": "社会保障卡挂失与补办",
    "questions": "社保卡丢了怎么补办\n社保卡挂失怎么办理",
    "answer": "携带本人身份证到任一社保卡服务网点办理补卡。",
    "category": "社保", "keywords": ["社保卡", "挂失", "补卡"],
    "source": "市人社局《社会保障卡服务管理办法》", "units": ["gulou"],
}


def published(api, **overrides) -> dict:
    article = api.post("/api/v1/knowledge/articles", "seat1", {**ARTICLE, **overrides}, expect=201).json
    api.post(f"/api/v1/knowledge/articles/{article['id']}/actions/submit", "seat1")
    return api.post(f"/api/v1/knowledge/articles/{article['id']}/actions/publish", "supervisor1").json


def answered_twice_with_an_article_once_without(api) -> dict:
    """Three tickets answered directly: two with a published article, one without; the article."""
    used = published(api)
    for content in ("社保卡丢了", "社保卡补办"):
        ticket = api.create(content=content)
        api.act(ticket["id"], "answer", "seat1", {"answer": used["answer"], "article": used["id"]})
    plain = api.create(content="问路")
    api.act(plain["id"], "answer", "seat1", {"answer": "请往前走"})
    return used


def search(api, q: str, as_user: str = "seat1", **params) -> list[dict]:
    return api.get("/api/v1/knowledge/search", as_user, query_string={"q": q, **params}).json["items"]


def test_a_seat_drafts_an_editor_publishes_and_only_then_seats_find_it(api):
    draft = api.post("/api/v1/knowledge/articles", "seat1", ARTICLE, expect=201).json
    assert draft["state"] == "draft" and draft["version"] == 1
    assert search(api, "社保卡丢了") == []
    api.post(f"/api/v1/knowledge/articles/{draft['id']}/actions/submit", "seat1")
    refused = api.post(f"/api/v1/knowledge/articles/{draft['id']}/actions/publish", "seat1", expect=403)
    assert refused.json["error"] == "knowledge.not_editor"
    api.post(f"/api/v1/knowledge/articles/{draft['id']}/actions/publish", "supervisor1")
    [hit] = search(api, "我社保卡弄丢了咋办")
    assert hit["id"] == draft["id"] and hit["version"] == 1 and "社保卡" in hit["matched"]


def test_retired_articles_stay_readable_but_are_never_suggested(api):
    article = published(api)
    api.post(f"/api/v1/knowledge/articles/{article['id']}/actions/retire", "supervisor1")
    assert search(api, "社保卡挂失") == []
    kept = api.get(f"/api/v1/knowledge/articles/{article['id']}", "seat1").json
    assert kept["state"] == "retired"
    assert [v["action"] for v in kept["history"]] == ["create", "submit", "publish", "retire"]
    again = api.post(f"/api/v1/knowledge/articles/{article['id']}/actions/publish", "supervisor1", expect=409)
    assert again.json["error"] == "knowledge.wrong_state"


def test_an_editor_corrects_a_published_article_as_a_new_version_with_history(api):
    article = published(api)
    response = api.client.patch(f"/api/v1/knowledge/articles/{article['id']}",
                                json={"answer": "可在市人社APP临时挂失后到网点补卡。"},
                                headers=api.headers("supervisor1"))
    assert response.status_code == 200, response.json
    assert response.json["version"] == 2 and response.json["state"] == "published"
    old = [v for v in response.json["history"] if v["version"] == 1][0]
    assert old["snapshot"]["answer"] == ARTICLE["answer"]
    by_seat = api.client.patch(f"/api/v1/knowledge/articles/{article['id']}", json={"answer": "x"},
                               headers=api.headers("seat1"))
    assert by_seat.status_code == 403


def test_articles_for_a_unit_and_out_of_date_ones(api):
    published(api)
    assert search(api, "社保卡挂失", unit="gulou")
    assert search(api, "社保卡挂失", unit="yunlong") == []
    published(api, title="过期的社保卡政策", valid_to="2020-12-31")
    assert [hit["title"] for hit in search(api, "社保卡挂失")] == [ARTICLE["title"]]


def test_the_answer_event_records_the_article_and_its_version(api):
    article = published(api)
    ticket = api.create(content="社保卡丢了怎么补办")
    api.act(ticket["id"], "answer", "seat1", {"answer": article["answer"], "article": article["id"]})
    answer = [e for e in api.events(ticket["id"]) if e["action"] == "answer"][0]
    assert answer["data"]["article"] == article["id"] and answer["data"]["article_version"] == 1
    other = api.create(content="咨询")
    refused = api.try_act(other["id"], "answer", "seat1", {"answer": "x", "article": 999999})
    assert refused.status_code == 422 and refused.json["error"] == "knowledge.not_published"


def test_figures_count_answers_by_article_unused_articles_and_searches_that_found_nothing(api):
    used = published(api)
    unused = published(api, title="公积金租房提取", questions="租房能取公积金吗", answer="每年可提取一次。",
                       keywords=["公积金"])
    ticket = api.create(content="社保卡丢了")
    api.act(ticket["id"], "answer", "seat1", {"answer": used["answer"], "article": used["id"]})
    plain = api.create(content="问路")
    api.act(plain["id"], "answer", "seat1", {"answer": "请往前走"})
    assert search(api, "火星移民怎么申请") == []
    search(api, "火星移民怎么申请")
    figures = api.get("/api/v1/knowledge/figures", "supervisor1").json
    assert figures["by_article"] == [{"id": used["id"], "title": used["title"], "answers": 1}]
    assert figures["with_article"] == 1 and figures["without_article"] == 1
    assert figures["direct_rate"] == 1.0 and figures["direct_rate_with_article"] == 0.5
    assert figures["direct_rate_without_article"] == 0.5
    assert [a["id"] for a in figures["never_used"]] == [unused["id"]]
    assert figures["misses"][0]["q"] == "火星移民怎么申请" and figures["misses"][0]["count"] == 2
    api.get("/api/v1/knowledge/figures", "seat1", expect=403)


def upload(api, filename: str, content: bytes, dry_run: bool):
    return api.client.post(f"/api/v1/knowledge/articles/import?dry_run={str(dry_run).lower()}",
                           data={"file": (io.BytesIO(content), filename)},
                           headers=api.headers("supervisor1"), content_type="multipart/form-data")


CSV = ("问题,答案,类别,单位,有效期起,有效期止\n"
       "身份证丢了怎么补,到派出所补领,户籍,gulou,2026-01-01,2027-12-31\n"
       "停水了找谁,拨打供水抢修热线,供水,,,\n").encode()


def test_a_csv_import_dry_run_writes_nothing_then_the_import_writes_drafts(api):
    dry = upload(api, "kb.csv", CSV, dry_run=True)
    assert dry.status_code == 200, dry.json
    assert dry.json["rows"] == 2 and dry.json["valid"] == 2 and dry.json["errors"] == []
    assert api.get("/api/v1/knowledge/articles", "supervisor1").json == []
    done = upload(api, "kb.csv", CSV, dry_run=False)
    assert len(done.json["created"]) == 2
    articles = api.get("/api/v1/knowledge/articles", "supervisor1").json
    assert {a["state"] for a in articles} == {"draft"}
    assert {a["title"] for a in articles} == {"身份证丢了怎么补", "停水了找谁"}


def test_an_xlsx_with_a_wrong_row_is_reported_and_nothing_imported(api):
    book = Workbook()
    sheet = book.active
    sheet.append(["问题", "答案", "单位"])
    sheet.append(["医保怎么报销", "凭发票到医保窗口", "gulou"])
    sheet.append(["公积金怎么取", "", "nowhere"])
    content = io.BytesIO()
    book.save(content)
    dry = upload(api, "kb.xlsx", content.getvalue(), dry_run=True)
    assert dry.json["valid"] == 1 and dry.json["errors"][0]["row"] == 3
    wrong = upload(api, "kb.xlsx", content.getvalue(), dry_run=False)
    assert wrong.status_code == 422 and wrong.json["error"] == "knowledge.bad_import"
    assert api.get("/api/v1/knowledge/articles", "supervisor1").json == []


def test_partners_may_not_use_the_knowledge_base(api):
    api.get("/api/v1/knowledge/search", "partner-xz-xinli", query_string={"q": "社保"}, expect=403)


def test_figures_count_the_answers_in_the_database_not_one_by_one(api, statements):
    """A month of a busy centre is tens of thousands of answers: the figures (also on the KPI
    page) ask the database for a count per article instead of reading every answer's data."""
    used = answered_twice_with_an_article_once_without(api)
    statements.clear()
    figures = api.get("/api/v1/knowledge/figures", "supervisor1").json
    assert figures["answers"] == 3 and figures["with_article"] == 2
    assert figures["by_article"] == [{"id": used["id"], "title": used["title"], "answers": 2}]
    answers = [s for s in statements if "ticket_events" in s]
    assert answers and all("GROUP BY" in s for s in answers), answers
