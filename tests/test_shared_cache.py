"""What one process caches is never older than what an admin changed on another.

Each gunicorn worker (and each web node, and the RQ worker) keeps the bearer token's user,
units by code, the rules' stamps and whether any webhook subscription is active
(hotline.shared_cache). Here a second app object on the same database and Redis stands in
for another process: it reads (and caches) first, the change is made through the API of the
suite's app, and the second app's very next request must see it.
"""

import socket

import pytest
from sqlalchemy import select

from hotline import create_app
from hotline.extensions import db
from hotline.subscriptions import Delivery
from tests.admin_org import org  # noqa: F401  (fixture: users and units come back afterwards)
from tests.helpers import Api

pytestmark = pytest.mark.usefixtures("org")


@pytest.fixture(scope="module")
def other_app(app):
    return create_app({"TESTING": True})


@pytest.fixture
def other(app, other_app):
    """Another process's API client (its own caches), signing in as the suite's does."""
    return Api(other_app, other_app.test_client())


def test_a_logout_on_one_process_ends_the_token_on_every_other(api, other):
    seat = api.headers("seat1")
    assert other.client.get("/api/v1/tickets", headers=seat).status_code == 200    # cached there
    assert api.client.post("/api/v1/auth/logout", headers=seat).status_code == 204
    assert other.client.get("/api/v1/tickets", headers=seat).status_code == 401


def test_a_role_taken_away_on_one_process_is_in_force_on_every_other(api, other):
    seat = api.headers("seat1")
    other.client.post("/api/v1/tickets", headers=seat, json=_ticket())                 # cached there
    patched = api.client.patch("/api/v1/users/seat1", headers=api.headers("admin"),
                               json={"role": "handler", "unit": "gulou", "desks": []})
    assert patched.status_code == 200, patched.json
    assert other.client.post("/api/v1/tickets", headers=seat, json=_ticket()).status_code == 403


def test_a_deactivated_user_is_refused_at_once_by_every_process(api, other):
    seat = api.headers("seat1")
    assert other.client.get("/api/v1/tickets", headers=seat).status_code == 200
    patched = api.client.patch("/api/v1/users/seat1", headers=api.headers("admin"), json={"active": False})
    assert patched.status_code == 200, patched.json
    assert other.client.get("/api/v1/tickets", headers=seat).status_code == 401


def test_a_unit_created_on_one_process_takes_tickets_on_every_other(api, other):
    refused = other.client.post("/api/v1/tickets", headers=other.headers("seat1"),
                                json=_ticket(location={"unit": "gulou-new", "address": "新街"}))
    assert refused.status_code == 422                   # "no such unit", remembered there
    created = api.client.post("/api/v1/units", headers=api.headers("admin"),
                              json={"code": "gulou-new", "name": "鼓楼新区", "kind": "town",
                                    "parent": "gulou"})
    assert created.status_code == 201, created.json
    taken = other.client.post("/api/v1/tickets", headers=other.headers("seat1"),
                              json=_ticket(location={"unit": "gulou-new", "address": "新街"}))
    assert taken.status_code == 201, taken.json
    assert taken.json["location"]["unit"] == "gulou-new"


TO_GULOU = {"unit": "gulou", "co_units": [], "note": "请处理"}


def test_a_unit_deactivated_on_one_process_takes_no_dispatch_on_any_other(api, other):
    tid = other.create()["id"]
    other.act(tid, "submit", "seat1")
    first = other.create()["id"]
    other.act(first, "submit", "seat1")
    other.act(first, "dispatch", "dispatcher1", TO_GULOU)          # gulou cached there
    patched = api.client.patch("/api/v1/units/gulou", headers=api.headers("admin"), json={"active": False})
    assert patched.status_code == 200, patched.json
    refused = other.try_act(tid, "dispatch", "dispatcher1", TO_GULOU)
    assert refused.status_code == 422, refused.json


def test_crisis_words_saved_on_one_process_flag_the_next_intake_on_every_other(api, other):
    assert other.create(content="我真的撑不下去了")["priority"] == "normal"       # rules cached there
    admin = api.headers("admin")
    words = api.client.get("/api/v1/rules/crisis-words", headers=admin).json
    words["kinds"]["self_harm"].append("撑不下去了")
    body = {key: words[key] for key in ("kinds", "ignore", "negation")}
    assert api.client.put("/api/v1/rules/crisis-words", headers=admin, json=body).status_code == 200
    assert other.create(content="我真的撑不下去了")["priority"] == "crisis"


def test_a_subscription_made_on_one_process_hears_the_next_intake_on_every_other(app, api, other):
    other.create()                                      # "no subscription": remembered there
    sub = api.post("/api/v1/subscriptions", "admin",
                   {"url": "https://example.gov.cn/hook", "unit": None, "events": ["ticket.created"]},
                   expect=201).json
    tid = other.create()["id"]
    with app.app_context():
        sent = db.session.scalars(select(Delivery.ticket_id)
                                  .where(Delivery.subscription_id == sub["id"])).all()
        db.session.remove()
    assert sent == [tid]


def _ticket(**overrides) -> dict:
    from tests.helpers import DEFAULT_TICKET

    return {**DEFAULT_TICKET, **overrides}


def test_without_redis_a_process_caches_nothing_and_still_sees_every_logout(api):
    """No stamps to vouch for a cached token: each request asks the database."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    cut_off = create_app({"TESTING": True, "REDIS_URL": f"redis://127.0.0.1:{closed}/0"})
    seat = api.headers("seat1")
    try:
        assert cut_off.test_client().get("/api/v1/tickets", headers=seat).status_code == 200
        assert api.client.post("/api/v1/auth/logout", headers=seat).status_code == 204
        assert cut_off.test_client().get("/api/v1/tickets", headers=seat).status_code == 401
    finally:
        with cut_off.app_context():
            db.session.remove()
            db.engine.dispose()
