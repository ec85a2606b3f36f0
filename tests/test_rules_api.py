"""The rules a centre owns over the API (issue 20): admins change, supervisors read, a bad value
is refused with the field named, and open clocks keep their deadlines unless asked."""

import copy
import re
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask_babel import force_locale

from hotline.admin.time_limits import fields_of as editing_fields
from hotline.clocks.limits import build_time_limits
from hotline.crisis import build_crisis_words
from hotline.extensions import db
from hotline.routing import build_routes
from hotline.rulebook import StoredRules

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


def _shipped(setting: str) -> dict:
    from hotline import create_app

    return tomllib.loads(Path(create_app().config[setting]).read_text(encoding="utf-8"))


def _save_limits_a_release_no_longer_builds(app) -> None:
    """Time limits saved before a release made a key required (mandatory_report.due)."""
    older = _shipped("HOTLINE_TIME_LIMITS")
    del older["mandatory_report"]
    with app.app_context():
        db.session.add(StoredRules(name="time_limits", document=older, stamp="0" * 32, updated_by="admin"))
        db.session.commit()


def test_saved_time_limits_that_no_longer_build_leave_the_shipped_ones_in_force(api):
    """After an upgrade the saved time limits no longer build: tickets are still taken with the
    shipped deadlines (not a 500 on every intake), the editor says why in the reader's language
    and starts from the limits in force, and the first save replaces the broken document."""
    _save_limits_a_release_no_longer_builds(api.app)
    admin = api.headers("admin")
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, tzinfo=SH), tick=False):
        ticket = api.dispatched(category="complaint")
    assert ticket["timers"]
    chinese = api.client.get("/api/v1/rules/time-limits", headers=admin)
    english = api.client.get("/api/v1/rules/time-limits", headers={**admin, "Accept-Language": "en"})
    assert chinese.status_code == english.status_code == 200
    assert chinese.json["refused"] == "缺少 mandatory_report.due。"
    assert english.json["refused"] == "mandatory_report.due is missing."
    shipped = editing_fields(_shipped("HOTLINE_TIME_LIMITS"))
    assert chinese.json["fields"] == shipped
    saved = api.client.patch("/api/v1/rules/time-limits", headers=admin,
                             json={"changes": {"ticket.review": "2wd"}})
    assert saved.status_code == 200, saved.json
    after = api.client.get("/api/v1/rules/time-limits", headers=admin).json
    assert after["refused"] is None and after["fields"]["ticket.review"] == "2wd"


def _limits(**changes) -> dict:
    document = copy.deepcopy(_shipped("HOTLINE_TIME_LIMITS"))
    for place, value in changes.items():
        *path, last = place.split("__")
        section = document
        for part in path:
            section = section[int(part)] if part.isdigit() else section.setdefault(part, {})
        if value is None:
            del section[last]
        else:
            section[last] = value
    return document


WORDS_OK = {"kinds": {"abuse": ["打我"]}}
# Every refusal of the three rule builders: the document, and the key its message must name.
BUILDER_REFUSALS = [
    (build_routes, {"route": [{"name": "x"}]}, "route[0].unit"),
    (build_crisis_words, {}, "[kinds]"),
    (build_crisis_words, {"kinds": {"abuse": "打我"}}, "kinds.abuse"),
    (build_crisis_words, {**WORDS_OK, "negation": {"cues": "没有"}}, "negation.cues"),
    (build_crisis_words, {**WORDS_OK, "negation": {"kinds": ["moon"]}}, "moon"),
    (build_time_limits, _limits(ticket__review=None), "ticket.review"),
    (build_time_limits, _limits(rule__0__handle="ten"), "ten"),
    (build_time_limits, _limits(warning__ratio=2), "warning.ratio"),
    (build_time_limits, _limits(ticket__callback_attempts=0), "ticket.callback_attempts"),
    (build_time_limits, _limits(rule__0__match={"planet": "x"}), "match.planet"),
    (build_time_limits, _limits(rule__0__clock="sometimes"), "rule[0]"),
    (build_time_limits, _limits(rule__0__escalation={"moon": "x"}), "rule[0]"),
    (build_time_limits, _limits(rule__6__match={"desk": "general"}), "[[rule]]"),
    (build_time_limits, _limits(working_hours__periods=[]), "working_hours.periods"),
    (build_time_limits, _limits(working_hours__periods=["9-12"]), "9-12"),
    (build_time_limits, _limits(working_hours__periods=["13:00-17:00", "09:00-12:00"]), "09:00-12:00"),
]


@pytest.mark.parametrize(("build", "document", "key"), BUILDER_REFUSALS)
def test_each_rule_builder_refusal_names_its_key_in_the_editors_language(app, build, document, key):
    """What an edit would be told (the routing and crisis editors check these fields before the
    builder does; a time-limit document can still reach it, above): the key, in words."""
    shown = {}
    for language in ("zh", "en"):
        with app.test_request_context(), force_locale(language), pytest.raises(ValueError) as refused:
            build(document, "centre_rules.x")
        with app.test_request_context(), force_locale(language):
            shown[language] = str(refused.value.problem())
        assert key in shown[language] and "centre_rules" not in shown[language], shown
    assert HAN.search(shown["zh"]) and not HAN.search(shown["en"]), shown
    assert re.search(r"\b[a-z]{2,}\b", shown["en"].replace(key, "")), shown


@pytest.mark.parametrize(("body", "said"), [
    ('[[route]]\nname = "x"\n', "{path}: route[0].unit must be a unit code or @county."),
    ("[[route]\n", "{path} is not valid TOML: "),
    (None, "The rule file {path} does not exist."),
])
def test_a_bad_routing_file_stops_start_up_saying_why_in_english_for_the_it_officer(
        tmp_path, monkeypatch, body, said):
    """Start-up has no request, so no reader's language: the log and the terminal read English."""
    from hotline import create_app
    from hotline.routing import RoutingError

    path = tmp_path / "routing.toml"
    if body is not None:
        path.write_text(body, encoding="utf-8")
    monkeypatch.setenv("HOTLINE_ROUTING", str(path))
    with pytest.raises(RoutingError) as stopped:
        create_app()
    assert str(stopped.value).startswith(said.format(path=path)), str(stopped.value)
