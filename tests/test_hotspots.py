"""Hotspots (热点诉求, issue 21): similar tickets in one place within the window make a hotspot
the supervisors are alerted to; they dispatch it to one unit as one matter; the board counts
the day's and the week's by district and category."""

from datetime import timedelta

import time_machine

from hotline import hotspots, tasks
from hotline.extensions import db
from tests.conftest import SUITE_START

WATER = ["幸福小区停水了，一滴水都没有", "家里停水一上午了什么时候来水", "我们楼停水，老人没法做饭",
         "停水了也不通知一声", "小区突然停水，孩子没法洗澡", "停水到现在还没来"]


def _call(api, content, unit="gulou-huanglou", **extra):
    return api.create(content=content, subject="", location={"unit": unit, "address": "幸福小区3号楼"},
                      **extra)


def _detect(app) -> int:
    with app.app_context():
        changed = hotspots.detect()
        db.session.commit()
        return changed


def water_hotspot(app, api) -> list[dict]:
    """Five callers about one estate's water, their tickets submitted (waiting for dispatch),
    and the hotspot they make detected: the tickets."""
    water = [_call(api, text) for text in WATER[:5]]
    for ticket in water:
        api.act(ticket["id"], "submit", "seat1")
    _detect(app)
    return water


def test_five_callers_about_one_matter_in_one_place_make_a_hotspot_the_supervisor_is_alerted_to(app, api):
    water = [_call(api, text) for text in WATER[:5]]
    _call(api, "幸福小区路灯不亮")                                      # the same place, another matter
    for text in WATER[:4]:
        _call(api, text, unit="yunlong")                              # four elsewhere: not enough
    assert _detect(app) == 1
    assert _detect(app) == 0                                          # once: run it again, nothing new
    [alert] = api.get("/api/v1/alerts", "supervisor1").json
    assert alert["kind"] == "hotspot" and "停水" in alert["message"]
    assert all(t["number"] in alert["message"] for t in water)
    assert api.get("/api/v1/alerts", "dispatcher1").json == []       # the supervisors' alert
    [hotspot] = api.get("/api/v1/hotspots", "supervisor1").json["items"]
    assert hotspot["keyword"] == "停水" and hotspot["district"] == "鼓楼区"
    assert sorted(t["id"] for t in hotspot["tickets"]) == sorted(t["id"] for t in water)
    # A sixth caller about it joins the hotspot; no second alert.
    sixth = _call(api, WATER[5])
    assert _detect(app) == 1
    [hotspot] = api.get("/api/v1/hotspots", "supervisor1").json["items"]
    assert sixth["id"] in [t["id"] for t in hotspot["tickets"]] and hotspot["count"] == 6
    assert len(api.get("/api/v1/alerts", "supervisor1").json) == 1


def test_only_callers_within_the_window_count_and_the_thresholds_are_configurable(app, api):
    with time_machine.travel(SUITE_START - timedelta(hours=3), tick=True):
        for text in WATER[:2]:
            _call(api, text)
    for text in WATER[2:5]:
        _call(api, text)
    assert _detect(app) == 0                                          # 3 within two hours, 2 before
    app.config["HOTSPOT_MIN_TICKETS"] = 3
    try:
        assert _detect(app) == 1
    finally:
        del app.config["HOTSPOT_MIN_TICKETS"]
    [hotspot] = api.get("/api/v1/hotspots", "supervisor1").json["items"]
    assert hotspot["count"] == 3


def test_the_minute_sweep_finds_hotspots(app, api):
    for text in WATER[:5]:
        _call(api, text)
    with app.app_context():
        assert tasks.sweep()["hotspots"] == 1


def test_a_hotspot_is_dispatched_to_one_unit_as_one_matter(app, api):
    water = [_call(api, text) for text in WATER[:5]]
    for ticket in water[1:]:
        api.act(ticket["id"], "submit", "seat1")
    api.dispatched()                                                   # unrelated, elsewhere
    _detect(app)
    [hotspot] = api.get("/api/v1/hotspots", "supervisor1").json["items"]
    api.post(f"/api/v1/hotspots/{hotspot['id']}/dispatch", "handler-gulou", {"unit": "gulou"}, expect=403)
    done = api.post(f"/api/v1/hotspots/{hotspot['id']}/dispatch", "supervisor1",
                    {"unit": "gulou", "note": "集中处理停水"}).json
    primary = water[1]                                                 # the first waiting for dispatch
    assert done["primary"]["id"] == primary["id"] and done["primary"]["lead_unit"] == "gulou"
    assert sorted(t["id"] for t in done["merged"]) == sorted([water[0]["id"], *[t["id"] for t in water[2:]]])
    detail = api.ticket(primary["id"], as_user="handler-gulou")
    assert sorted(m["content"] for m in detail["merged_in"]) == sorted(
        [WATER[0], *WATER[2:5]])                                       # one matter, every caller's words
    assert api.get("/api/v1/hotspots", "supervisor1").json["items"][0]["state"] == "dispatched"
    again = api.post(f"/api/v1/hotspots/{hotspot['id']}/dispatch", "supervisor1", {"unit": "gulou"},
                     expect=None)
    assert again.status_code == 200 and again.json["merged"] == []  # nothing left at the centre


def test_the_board_counts_the_days_and_weeks_hotspots_by_district_and_category(app, api):
    with time_machine.travel(SUITE_START - timedelta(days=3), tick=True):
        for text in WATER[:5]:
            _call(api, text, category="complaint")
        _detect(app)
    api._tokens.clear()                                               # those of 3 days ago expired
    for text in WATER[:5]:
        _call(api, text, unit="yunlong", category="help")
    _detect(app)
    day = api.get("/api/v1/hotspots?period=day", "supervisor1").json
    week = api.get("/api/v1/hotspots?period=week", "supervisor1").json
    assert [(h["district"], h["category"]) for h in day["items"]] == [("云龙区", "help")]
    assert {(c["district"], c["category"], c["tickets"]) for c in week["by_district_and_category"]} == {
        ("云龙区", "help", 5), ("鼓楼区", "complaint", 5)}
    api.get("/api/v1/hotspots", "seat1", expect=403)
