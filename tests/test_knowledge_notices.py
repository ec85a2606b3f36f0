"""The owner of a knowledge article hears of it (issue 21): when its valid-to date nears (the
minute sweep, once per article version) and whenever a seat flags it as wrong."""

from datetime import date, timedelta

import time_machine

from hotline import tasks
from hotline.extensions import db
from hotline.knowledge import service
from hotline.knowledge.models import Article
from tests.conftest import SUITE_START
from tests.test_knowledge import published

TODAY = SUITE_START.date()


def _owner_notices(api, kind: str, as_user: str = "handler-gulou") -> list[dict]:
    return [n for n in api.get("/api/v1/notices", as_user).json if n["kind"] == kind]


def _sweep(app) -> int:
    with app.app_context():
        return tasks.sweep()["knowledge_expiring"]


def test_an_article_near_its_valid_to_date_tells_its_owner_once_per_version(app, api):
    near = published(api, owner_unit="gulou", valid_to=(TODAY + timedelta(days=10)).isoformat())
    published(api, title="远期条目", owner_unit="gulou", valid_to=(TODAY + timedelta(days=60)).isoformat())
    published(api, title="长期有效", owner_unit="gulou")
    assert _sweep(app) == 1
    assert _sweep(app) == 0                                      # again: already told
    [notice] = _owner_notices(api, "knowledge_expiring")
    assert f"#{near['id']}" in notice["message"] and "10 天后到期" in notice["message"]
    # The editor moves the date, still within the notice days: the new version is told again.
    api.client.patch(f"/api/v1/knowledge/articles/{near['id']}",
                     json={"valid_to": (TODAY + timedelta(days=12)).isoformat()},
                     headers=api.headers("supervisor1"))
    assert _sweep(app) == 1
    assert len(_owner_notices(api, "knowledge_expiring")) == 2


def test_the_days_ahead_are_configurable_and_an_ownerless_article_tells_the_editors(app, api):
    article = published(api, valid_to=(TODAY + timedelta(days=20)).isoformat())
    with app.app_context():
        db.session.get(Article, article["id"]).owner_unit = None
        db.session.commit()
    assert _sweep(app) == 0
    app.config["KNOWLEDGE_EXPIRY_NOTICE_DAYS"] = 30
    try:
        assert _sweep(app) == 1
    finally:
        del app.config["KNOWLEDGE_EXPIRY_NOTICE_DAYS"]
    assert len(_owner_notices(api, "knowledge_expiring", as_user="supervisor1")) == 1


def test_the_job_counts_days_on_the_beijing_calendar(app, api):
    published(api, owner_unit="gulou", valid_to=date(2026, 12, 20).isoformat())
    # 23:00 on 5 Dec in Beijing: 15 days before 20 Dec.
    with time_machine.travel(SUITE_START + timedelta(days=12, hours=13), tick=True), app.app_context():
        assert service.notify_expiring() == 0
        db.session.rollback()
    # 01:00 on 6 Dec in Beijing (still 5 Dec in UTC): 14 days before.
    with time_machine.travel(SUITE_START + timedelta(days=12, hours=15), tick=True), app.app_context():
        assert service.notify_expiring() == 1
        db.session.commit()


def test_a_seat_flags_an_article_as_wrong_and_its_owner_unit_is_notified(api):
    article = published(api, owner_unit="gulou")
    ticket = api.create()
    flag = api.post(f"/api/v1/knowledge/articles/{article['id']}/flag", "seat1",
                    {"reason": "补卡已改为线上办理，条目过时", "ticket": ticket["id"]}, expect=201).json
    assert flag["version"] == 1 and flag["by"] == "seat1" and flag["ticket"] == ticket["id"]
    [notice] = _owner_notices(api, "knowledge_flagged")
    assert "补卡已改为线上办理" in notice["message"] and f"#{article['id']}" in notice["message"]
    api.post(f"/api/v1/knowledge/articles/{article['id']}/flag", "partner-xz-xinli",
             {"reason": "错了"}, expect=403)
    api.post(f"/api/v1/knowledge/articles/{article['id']}/actions/retire", "supervisor1")
    api.post(f"/api/v1/knowledge/articles/{article['id']}/flag", "seat1", {"reason": "错了"}, expect=409)
