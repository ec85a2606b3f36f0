"""The rules a centre owns over the API (issue 20): admins change, supervisors read, a bad value
is refused with the field named, and open clocks keep their deadlines unless asked."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

SH = ZoneInfo("Asia/Shanghai")


def test_time_limits_are_previewed_and_changed_over_the_api(api):
    admin = api.headers("admin")
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, tzinfo=SH), tick=False):
        ticket = api.dispatched(category="complaint")
        limits = api.client.get("/api/v1/rules/time-limits", headers=api.headers("supervisor1")).json
        field = next(f for f, v in limits["fields"].items() if f.endswith(".handle") and v == "15wd")
        assert limits["updated_by"] is None                              # the shipped file
        preview = api.client.post("/api/v1/rules/time-limits/preview", headers=admin,
                                  json={"changes": {field: "20wd"}}).json
        assert preview["changed"] == {field: ["15wd", "20wd"]} and preview["moving"] == 1
        assert preview["examples"][0]["ticket"] == ticket["number"]
        assert preview["examples"][0]["due_after"].startswith("2026-06-30T02:00")
        bad = api.client.patch("/api/v1/rules/time-limits", headers=admin, json={"changes": {field: "later"}})
        assert bad.status_code == 422 and field in bad.json["errors"]
        huge = api.client.post("/api/v1/rules/time-limits/preview", headers=admin,
                               json={"changes": {field: "999999999wd"}})
        assert huge.status_code == 422 and field in huge.json["errors"]
        unknown = api.client.patch("/api/v1/rules/time-limits", headers=admin,
                                   json={"changes": {"rule.99.handle": "2wd"}})
        assert unknown.status_code == 422 and "rule.99.handle" in unknown.json["errors"]
        saved = api.client.patch("/api/v1/rules/time-limits", headers=admin,
                                 json={"changes": {field: "20wd"}, "recompute": True, "note": "新规"})
        assert saved.status_code == 200 and saved.json["recomputed"] == 1
        assert api.running_timer(api.ticket(ticket["id"]), "handle")["due_at"].startswith("2026-06-30T02:00")
        after = api.client.get("/api/v1/rules/time-limits", headers=admin).json
        assert after["fields"][field] == "20wd" and after["updated_by"] == "admin" and after["version"] == 1
        assert api.client.patch("/api/v1/rules/time-limits", headers=api.headers("supervisor1"),
                                json={"changes": {field: "5wd"}}).status_code == 403


def test_the_routing_catalogue_and_crisis_words_over_the_api(api):
    admin = api.headers("admin")
    routes = api.client.get("/api/v1/rules/routing", headers=api.headers("supervisor1")).json["routes"]
    assert routes[-1]["unit"] == "@county"
    bad = api.client.put("/api/v1/rules/routing", headers=admin,
                         json={"routes": [{"name": "x", "unit": "nowhere", "category": ["planet"]}]})
    assert bad.status_code == 422 and {"route.0.unit", "route.0.category"} <= set(bad.json["errors"])
    saved = api.client.put("/api/v1/rules/routing", headers=admin,
                           json={"routes": [{"name": "全部 → 区县", "unit": "@county"}], "note": "简化"})
    assert saved.status_code == 200 and [r["name"] for r in saved.json["routes"]] == ["全部 → 区县"]

    words = api.client.get("/api/v1/rules/crisis-words", headers=admin).json
    assert "不想活" in words["kinds"]["self_harm"] and "self_harm" in words["negation"]["kinds"]
    words["kinds"]["self_harm"].append("撑不下去了")
    body = {key: words[key] for key in ("kinds", "ignore", "negation")}
    assert api.client.put("/api/v1/rules/crisis-words", headers=admin, json=body).status_code == 200
    assert api.create(content="我真的撑不下去了")["priority"] == "crisis"
    empty = api.client.put("/api/v1/rules/crisis-words", headers=admin,
                           json={**body, "kinds": {**body["kinds"], "abuse": []}})
    assert empty.status_code == 422 and "kinds.abuse" in empty.json["errors"]
    assert api.client.put("/api/v1/rules/crisis-words", headers=api.headers("supervisor1"),
                          json=body).status_code == 403


HAN = re.compile(r"[\u4e00-\u9fff]")
# An English word in a Chinese message, other than the values the edits below give.
VALUES = ("county", "nowhere", "planet", "moon", "later", "rule", "handle", "ticket", "review")
ENGLISH_WORD = re.compile(rf"\b(?!(?:{'|'.join(VALUES)})\b)[a-z]{{3,}}\b", re.I)
BAD_EDITS = [
    ("put", "/api/v1/rules/routing", {"routes": [{"name": "x", "unit": "nowhere", "desk": ["moon"],
                                                  "category": ["planet"], "location": "nowhere"}]}),
    ("put", "/api/v1/rules/routing", {"routes": []}),
    ("put", "/api/v1/rules/crisis-words", {"kinds": {"abuse": [], "Bad-Kind": ["x"]},
                                           "negation": {"kinds": ["moon"]}}),
    ("put", "/api/v1/rules/crisis-words", {"kinds": {}}),
    ("patch", "/api/v1/rules/time-limits", {"changes": {"rule.99.handle": "2wd", "ticket.review": "later"}}),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD_EDITS)
def test_a_refused_rule_edit_names_each_field_in_the_requests_language_only(api, method, path, body):
    """Chinese by default, English when asked: never both in one message."""
    admin = api.headers("admin")
    chinese = getattr(api.client, method)(path, headers=admin, json=body).json
    english = getattr(api.client, method)(path, headers={**admin, "Accept-Language": "en"}, json=body).json
    assert chinese["error"] == english["error"] and set(chinese["errors"]) == set(english["errors"])
    for field, messages in chinese["errors"].items():
        assert all(HAN.search(m) and not ENGLISH_WORD.search(m) for m in messages), (field, messages)
    for field, messages in english["errors"].items():
        assert all(not HAN.search(m) for m in messages), (field, messages)
    assert not ENGLISH_WORD.search(chinese["message"]) and not HAN.search(english["message"])


def test_the_rule_editors_field_messages_say_what_is_wrong(api):
    english = {**api.headers("admin"), "Accept-Language": "en"}
    routing = api.client.put("/api/v1/rules/routing", headers=english, json=BAD_EDITS[0][2]).json["errors"]
    assert routing["route.0.unit"] == ["No such unit nowhere: give a unit code or @county."]
    assert routing["route.0.category"] == ["Unknown category: planet."]
    limits = api.client.patch("/api/v1/rules/time-limits", headers=api.headers("admin"),
                              json=BAD_EDITS[4][2]).json["errors"]
    assert limits["rule.99.handle"] == ["rule.99.handle 不是可修改的时限。"]
    assert limits["ticket.review"] == ["时限格式不对：“later”，应如 2h、30m、5wd、30wm，且不超过一年。"]
