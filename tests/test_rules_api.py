"""The rules a centre owns over the API (issue 20): admins change, supervisors read, a bad value
is refused with the field named, and open clocks keep their deadlines unless asked."""

from datetime import datetime
from zoneinfo import ZoneInfo

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
