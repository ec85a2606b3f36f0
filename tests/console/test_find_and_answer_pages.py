"""The console's pages of issue 21's second part: the hotspot board, saved views, reporting a
knowledge article as wrong, and the direct-answer figures on the KB and KPI pages."""

from hotline import hotspots
from hotline.extensions import db
from tests.test_hotspots import water_hotspot
from tests.test_knowledge import published


def test_the_hotspot_board_lists_the_days_hotspots_and_dispatches_one_as_one_matter(app, api, browser):
    water = water_hotspot(app, api)
    with app.app_context():
        hotspot_id = db.session.scalar(db.select(hotspots.Hotspot.id))
    supervisor = browser("supervisor1")
    page = supervisor.html("/console/hotspots")
    assert "热点诉求" in page and "“停水”" in page and "鼓楼区" in page
    assert all(t["number"] in page for t in water)
    response = supervisor.post(f"/console/hotspots/{hotspot_id}/dispatch", {"unit": "gulou"})
    assert response.headers["Location"].endswith(f"/console/tickets/{water[0]['id']}")
    assert api.ticket(water[0]["id"])["lead_unit"] == "gulou"
    assert all(api.ticket(t["id"])["state"] == "merged" for t in water[1:])
    browser("seat1").get("/console/hotspots", expect=403)


def test_a_user_saves_the_lists_filters_as_a_view_and_finds_it_again(api, browser):
    api.create(content="幸福小区停水了")
    seat = browser("seat1")
    seat.html("/console/tickets?q=停水&state=intake")
    response = seat.post("/console/views", {"name": "受理中的停水", "q": "停水", "state": "intake"})
    assert response.headers["Location"].endswith("/console/tickets?state=intake&q=%E5%81%9C%E6%B0%B4")
    page = seat.html("/console/tickets")
    assert "受理中的停水" in page and "state=intake&amp;q=%E5%81%9C%E6%B0%B4" in page
    assert "受理中的停水" not in browser("dispatcher1").html("/console/tickets")


def test_a_seat_reports_an_article_as_wrong_from_the_suggestions(api, browser):
    article = published(api, owner_unit="gulou")
    seat = browser("seat1")
    assert f'/console/knowledge/{article["id"]}/flag' in seat.html("/console/knowledge/suggest?q=社保卡丢了")
    seat.post(f"/console/knowledge/{article['id']}/flag", {"reason": "已改为线上补卡"})
    assert any("已改为线上补卡" in n["message"] for n in api.get("/api/v1/notices", "handler-gulou").json)
    assert "已改为线上补卡" in browser("supervisor1").html("/console/knowledge")


def test_the_kb_and_kpi_pages_show_direct_answers_by_article_and_the_rates(api, browser):
    article = published(api)
    published(api, title="从没用过的条目")
    answered = api.create()
    api.act(answered["id"], "answer", "seat1", {"answer": article["answer"], "article": article["id"]})
    plain = api.create()
    api.act(plain["id"], "answer", "seat1", {"answer": "已告知"})
    supervisor = browser("supervisor1")
    for path in ("/console/knowledge", "/console/kpis"):
        page = supervisor.html(path)
        assert "从未用于答复的条目" in page and "从没用过的条目" in page
        assert f"#{article['id']} {article['title']}" in page
        assert "引用知识条目的直接答复率" in page and "50" in page
    assert "从未用于答复的条目" not in browser("handler-gulou").html("/console/kpis")
