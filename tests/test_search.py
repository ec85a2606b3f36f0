"""Searching the ticket list (`GET /api/v1/tickets?q=`): Chinese words, numbers, phones, names;
ranked, scoped and masked as the list is."""

import json
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import text

from hotline.extensions import db
from hotline.search import document, query_words


def found(api, q: str, as_user: str = "supervisor1", **params) -> list[dict]:
    return api.get("/api/v1/tickets", as_user, query_string={"q": q, **params}).json


def numbers(items: list[dict]) -> list[str]:
    return [item["number"] for item in items]


def test_chinese_words_are_cut_so_a_word_inside_a_sentence_is_found():
    assert "停水" in document("我家小区停水三天了")
    assert query_words("停水了怎么办") == ["停水"]


def test_a_word_of_the_content_finds_the_ticket_and_only_it(api):
    water = api.create(subject="", content="幸福小区从昨天开始停水，老人孩子没水喝")
    api.create(subject="路灯不亮", content="河畔社区路灯坏了一个月")
    assert numbers(found(api, "停水")) == [water["number"]]
    assert numbers(found(api, "幸福小区 停水")) == [water["number"]]
    assert found(api, "停电") == []


def test_notes_direct_answer_and_reply_are_searchable(api):
    noted = api.create(content="反映噪音问题")
    api.act(noted["id"], "add_note", "seat1", {"note": "来电人说装修工地夜间施工"})
    answered = api.create(content="咨询社保卡补办")
    api.act(answered["id"], "answer", "seat1", {"answer": "携带身份证到社保经办窗口办理"})
    replied = api.in_progress(unit="gulou", content="楼道堆放杂物")
    api.act(replied["id"], "reply", "handler-gulou", {"result": "物业已清理完毕", "resolved": True})
    assert numbers(found(api, "施工")) == [noted["number"]]
    assert numbers(found(api, "身份证")) == [answered["number"]]
    assert numbers(found(api, "物业 清理")) == [replied["number"]]


def test_number_phone_digits_name_and_address_find_the_ticket(api):
    ticket = api.create(caller={"phone": "+8613912345678", "name": "李四"},
                        location={"unit": "gulou", "address": "鼓楼区彭城路18号"})
    api.create()
    assert numbers(found(api, ticket["number"])) == [ticket["number"]]
    assert numbers(found(api, ticket["number"][:14])) == numbers(found(api, "", sort="newest"))  # that day's
    assert numbers(found(api, "5678")) == [ticket["number"]]
    assert numbers(found(api, "139 1234")) == [ticket["number"]]
    assert numbers(found(api, "李四")) == [ticket["number"]]
    assert numbers(found(api, "彭城路")) == [ticket["number"]]
    assert found(api, "567") == []          # fewer than 4 digits find no phone


def test_the_best_match_comes_first_unless_a_sort_is_picked(api):
    once = api.create(subject="咨询", content="小区噪音")
    often = api.create(subject="噪音扰民", content="楼下广场舞噪音，每天晚上噪音到十点")
    assert numbers(found(api, "噪音")) == [often["number"], once["number"]]
    assert numbers(found(api, "噪音", sort="newest")) == [often["number"], once["number"]]
    api.act(once["id"], "flag_crisis", "seat1", {"reason": "来电人情绪激动"})
    assert numbers(found(api, "噪音", sort="priority"))[0] == once["number"]


def test_a_county_handler_never_finds_another_countys_ticket(api):
    ours = api.in_progress(unit="gulou", content="河道垃圾漂浮", caller={"phone": "+8613700001111"})
    theirs = api.in_progress(unit="yunlong", content="河道垃圾漂浮", caller={"phone": "+8613700002222"})
    assert numbers(found(api, "河道垃圾", as_user="handler-gulou")) == [ours["number"]]
    assert found(api, "2222", as_user="handler-gulou") == []
    assert found(api, theirs["number"], as_user="handler-gulou") == []
    assert sorted(numbers(found(api, "河道"))) == sorted([ours["number"], theirs["number"]])


def test_a_minors_phone_digits_find_nothing_for_a_role_that_sees_them_masked(api):
    child = api.dispatched(unit="gulou", co_units=["yunlong"], desk="general", content="孩子被同学欺负",
                           caller={"phone": "+8613655558888", "name": "小明", "is_minor": True, "age": 12})
    co_unit_view = api.ticket(child["id"], as_user="handler-yunlong")
    assert co_unit_view["caller"]["masked"] is True
    assert found(api, "5555", as_user="handler-yunlong") == []
    assert found(api, "8888", as_user="handler-yunlong") == []
    assert found(api, "小明", as_user="handler-yunlong") == []
    # The index's own caller tokens are not words anyone can type to get around the mask.
    assert found(api, "ph13655558888", as_user="handler-yunlong") == []
    assert found(api, "nm小明", as_user="handler-yunlong") == []
    # The words of the matter it may see; the lead unit and the centre find the phone.
    assert numbers(found(api, "欺负", as_user="handler-yunlong")) == [child["number"]]
    assert numbers(found(api, "5555", as_user="handler-gulou")) == [child["number"]]
    assert numbers(found(api, "5555")) == [child["number"]]


def test_found_tickets_are_masked_as_the_list_is(api):
    child = api.dispatched(unit="gulou", co_units=["yunlong"], content="孩子被同学欺负",
                           caller={"phone": "+8613655558888", "name": "小明", "is_minor": True, "age": 12})
    [row] = found(api, "欺负", as_user="handler-yunlong")
    assert row["id"] == child["id"]
    assert row["caller"]["masked"] is True and "5555" not in row["caller"]["phone"]


def test_date_range_on_the_list(api):
    old = api.create(content="旧的停水")
    with time_machine.travel(timedelta(days=3)):
        api._tokens.clear()          # signed in again, three days later
        new = api.create(content="新的停水")
        api._tokens.clear()
    today = old["created_at"][:10]
    later = new["created_at"][:10]
    assert numbers(found(api, "停水", created_to=today)) == [old["number"]]
    assert numbers(found(api, "停水", created_from=later)) == [new["number"]]
    listed = api.get("/api/v1/tickets", "supervisor1", query_string={"created_from": later}).json
    assert numbers(listed) == [new["number"]]


def test_similar_finds_open_tickets_about_the_same_matter_nearby(api):
    first = api.create(subject="", content="幸福小区3号楼停水一整天了",
                       location={"unit": "gulou", "address": "幸福小区3号楼"})
    same = api.create(subject="", content="幸福小区也停水了，什么时候来水",
                      location={"unit": "gulou", "address": "幸福小区5号楼"})
    elsewhere = api.create(subject="", content="幸福小区停水",
                           location={"unit": "yunlong", "address": "云龙区某小区"})
    other = api.create(subject="", content="路灯不亮", location={"unit": "gulou", "address": "幸福小区门口"})
    closed = api.create(subject="", content="幸福小区停水", location={"unit": "gulou"})
    api.act(closed["id"], "answer", "seat1", {"answer": "已告知抢修时间"})
    alike = api.get(f"/api/v1/tickets/{first['id']}/similar", "seat1").json
    assert [t["id"] for t in alike] == [same["id"]]
    assert elsewhere["id"] not in [t["id"] for t in alike] and other["id"] not in [t["id"] for t in alike]


def test_an_action_that_changes_no_words_leaves_the_search_document_alone(app, api):
    """Acknowledging moves the state only: the index is not rewritten (a write every action paid),
    and the ticket is still found by its words afterwards."""
    from sqlalchemy import event

    from hotline.extensions import db

    ticket = api.dispatched(unit="gulou", content="河畔社区路灯坏了一个月没人修")
    written = []
    with app.app_context():
        listener = lambda *args: written.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
    try:
        api.act(ticket["id"], "acknowledge", "handler-gulou")
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", listener)
    assert [s for s in written if "ticket_search" in s and not s.lstrip().startswith("SELECT")] == []
    found = api.get("/api/v1/tickets?q=路灯", "supervisor1").json
    assert ticket["id"] in [t["id"] for t in found]


def test_a_search_that_finds_very_many_counts_up_to_the_cap_and_says_so(app, api, monkeypatch):
    for n in range(5):
        api.create(content=f"停水第{n}天")
    monkeypatch.setitem(app.config, "SEARCH_COUNT_CAP", 3)
    response = api.get("/api/v1/tickets?q=停水", "supervisor1")
    assert response.headers["X-Total-Count"] == "3"
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 3 and pagination["total_capped"] is True
    assert len(response.json) == 5                                     # the page itself is whole
    exact = api.get("/api/v1/tickets?q=停水第1天", "supervisor1")
    assert json.loads(exact.headers["X-Pagination"])["total_capped"] is False



def test_on_postgresql_words_held_by_more_than_the_cap_are_not_counted_and_list_newest_first(
        app, api, monkeypatch):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the estimate is PostgreSQL's")
    made = [api.create(content=f"停水第{n}天") for n in range(6)]
    api.create(content="路灯不亮")
    with app.app_context():
        db.session.execute(text("ANALYZE ticket_search"))
        db.session.commit()
    monkeypatch.setitem(app.config, "SEARCH_COUNT_CAP", 3)
    response = api.get("/api/v1/tickets?q=停水&per_page=2", "supervisor1")
    assert json.loads(response.headers["X-Pagination"])["total_capped"] is True
    assert [t["id"] for t in response.json] == [made[5]["id"], made[4]["id"]]     # newest first
    scoped = api.get("/api/v1/tickets?q=停水", "handler-yunlong").json
    assert scoped == []                                                 # scoped as always
