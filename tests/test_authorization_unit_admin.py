"""The authorisation table's column for a county's unit admin (admin-gulou, 鼓楼区).

Every API operation, as the main table (tests/test_authorization_table.py) runs it: a unit
admin gets what a handler of another county (`oth`) gets — no ticket, referral or report is
theirs to see — except the administration operations below, where it may act within 鼓楼区
only. The scenes put the administration rows inside 鼓楼区; OUTSIDE repeats them for
something in another county, where the unit admin must be refused.
"""

import pytest
from sqlalchemy import delete

from hotline.extensions import db
from referrals.models import Partner
from tests.admin_org import org  # noqa: F401  (fixture)
from tests.test_authorization_table import FORMS, PATH_VALUES, QUERIES, Scenes, _body, expected_table

UNIT_ADMIN = "admin-gulou"
# operation -> what admin-gulou gets (the main table's scenes are within 鼓楼区)
WITHIN = {
    "GET /api/v1/users": 200,
    "POST /api/v1/users": 201,
    "PATCH /api/v1/users/{username}": 200,
    "POST /api/v1/users/{username}/password": 204,
    "POST /api/v1/units": 201,
    "PATCH /api/v1/units/{code}": 200,
    "POST /api/v1/admin/import": 200,
    "GET /api/v1/admin/export": 200,
    "POST /api/v1/auth/password": 422,
    "GET /api/v1/reports/kpis": 403,  # it administers people and units, not the casework
    "GET /api/v1/reports/volumes": 403,
    "GET /api/v1/reports/rankings": 403,
    # ... nor the knowledge base the seats and handlers answer from (issue 21)
    "GET /api/v1/knowledge/search": 403,
    "GET /api/v1/knowledge/articles": 403,
    "POST /api/v1/knowledge/articles": 403,
    "GET /api/v1/knowledge/articles/{article_id}": 403,
    "POST /api/v1/knowledge/articles/import": 403,
    "POST /api/v1/knowledge/articles/{article_id}/flag": 403,
    # The county's own system's webhook subscriptions (issue 23), within 鼓楼区.
    "POST /api/v1/subscriptions": 201,
    "GET /api/v1/subscriptions": 200,
    "GET /api/v1/subscriptions/{sub_id}": 200,
    "PATCH /api/v1/subscriptions/{sub_id}": 200,
    "DELETE /api/v1/subscriptions/{sub_id}": 204,
    "GET /api/v1/subscriptions/{sub_id}/deliveries": 200,
    "POST /api/v1/subscriptions/{sub_id}/deliveries/retry": 200,
    "POST /api/v1/subscriptions/{sub_id}/deliveries/{delivery_id}/retry": 200,
    "POST /api/v1/subscriptions/{sub_id}/test": 202,
    # The change log of its subtree (issue 20).
    "GET /api/v1/admin/changes": 200,
    # Sessions: the table's user (seat3) is outside 鼓楼区, so it is not found; inside, it lists
    # and ends them (tests/console/test_watch_pages.py), and see OUTSIDE below.
    "GET /api/v1/users/{username}/sessions": 404,
    "DELETE /api/v1/users/{username}/sessions": 404,
    "DELETE /api/v1/users/{username}/sessions/{session_id}": 404,
}
# The same operations on what lies in 云龙区: refused (404 for what it cannot even see).
OUTSIDE = [
    ("POST", "/api/v1/users", {"username": "authz-out", "display_name": "外区", "role": "handler",
                               "unit": "yunlong"}, 403),
    ("PATCH", "/api/v1/users/handler-yunlong", {"display_name": "改名"}, 404),
    ("POST", "/api/v1/users/handler-yunlong/password", {"password": "Lantern-Harbour-42"}, 404),
    ("POST", "/api/v1/users/admin/password", {"password": "Lantern-Harbour-42"}, 404),
    ("POST", "/api/v1/units", {"code": "authz-out", "name": "外区单位", "kind": "town",
                               "parent": "yunlong"}, 422),
    ("PATCH", "/api/v1/units/yunlong-edu", {"name": "改名"}, 404),
    ("PATCH", "/api/v1/units/gulou", {"parent": "yunlong"}, 422),
    ("PATCH", "/api/v1/units/gulou-edu", {"merge_into": "yunlong-edu"}, 422),
    ("PATCH", "/api/v1/users/handler-gulou", {"role": "dispatcher"}, 422),
    ("POST", "/api/v1/subscriptions", {"url": "http://127.0.0.1:9/out", "unit": "yunlong"}, 403),
    ("POST", "/api/v1/subscriptions", {"url": "http://127.0.0.1:9/out", "unit": None}, 403),
    ("GET", "/api/v1/users/handler-yunlong/sessions", None, 404),
    ("DELETE", "/api/v1/users/handler-yunlong/sessions", None, 404),
    ("GET", "/api/v1/users/handler-gulou-edu/sessions", None, 200),
    # the centre's rules and its outbox are the admins' (supervisors read)
    ("PATCH", "/api/v1/rules/time-limits", {"changes": {"ticket.review": "2wd"}}, 403),
    ("GET", "/api/v1/rules/routing", None, 403),
]


@pytest.fixture
def no_new_partners(app):
    """The partners the scenes add (authz-*) go again, as in the main table."""
    yield
    with app.app_context():
        db.session.execute(delete(Partner).where(Partner.code.like("authz-%")))
        db.session.commit()


# In shards like the table it follows, so the suite's two workers share its ~5 s.
SHARDS = 2


@pytest.mark.usefixtures("org", "no_new_partners")
@pytest.mark.parametrize("shard", range(SHARDS))
def test_a_unit_admin_for_every_operation(app, api, client, monkeypatch, shard):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "authz-test-token")
    scenes = Scenes(app, api)
    wrong = []
    for key, row in list(expected_table().items())[shard::SHARDS]:
        method, template = key.split(" ", 1)
        action = template.rsplit("/", 1)[1]
        want = WITHIN.get(key, None if row["oth"] == "ok" else int(row["oth"]))
        scene = scenes.build(row["scene"])
        path = template.format(**{**PATH_VALUES, **scene}) + QUERIES.get(key, "")
        headers = api.headers(UNIT_ADMIN)
        if template in FORMS:
            form = FORMS[template]() if callable(FORMS[template]) else FORMS[template]
            response = client.open(path, method=method, headers=headers, data=form)
        else:
            response = client.open(path, method=method, headers=headers, json=_body(key, action, scene))
        response.get_data()
        if key == "POST /api/v1/auth/logout":
            api.forget_tokens()
        status = response.status_code
        if (want is None and status >= 300) or (want is not None and status != want):
            wrong.append(f"{key:62} expected {want or '2xx'}, got {response.status_code}: "
                         f"{response.get_data(as_text=True)[:160]}")
    for method, path, body, want in OUTSIDE:
        response = client.open(path, method=method, headers=api.headers(UNIT_ADMIN), json=body)
        if response.status_code != want:
            wrong.append(f"{method} {path} expected {want}, got {response.status_code}")
    assert not wrong, "\n" + "\n".join(wrong)
    # and what it lists is its subtree only
    units = {u["unit"] for u in api.get("/api/v1/users", UNIT_ADMIN).json}
    assert units and all(code.startswith("gulou") for code in units)
