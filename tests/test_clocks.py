"""Clocks as data: durations, working days, the limits file and the due times tickets get."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from hotline import create_app
from hotline.clocks.calendar import add_duration, subtract_duration, weekdays
from hotline.clocks.durations import Duration, parse_duration
from hotline.clocks.limits import TimeLimitsError, load_time_limits

SH = ZoneInfo("Asia/Shanghai")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def due(ticket: dict, kind: str) -> datetime:
    [timer] = [t for t in ticket["timers"] if t["kind"] == kind and t["state"] != "cancelled"]
    return datetime.fromisoformat(timer["due_at"]).astimezone(SH)


@pytest.mark.parametrize("text, expected", [
    ("90s", Duration(90, "s")), ("10m", Duration(10, "m")), ("2h", Duration(2, "h")),
    ("1d", Duration(1, "d")), ("3wd", Duration(3, "wd")), (" 15wd ", Duration(15, "wd")),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "h", "2x", "-1h", "1.5h", "2 days", None, 5])
def test_parse_duration_refuses_garbage(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_working_days_end_at_the_same_time_of_day():
    friday_afternoon = sh(2026, 11, 27, 16, 0)
    assert add_duration(friday_afternoon, Duration(1, "wd"), weekdays) == sh(2026, 11, 30, 16, 0)
    assert add_duration(friday_afternoon, Duration(5, "wd"), weekdays) == sh(2026, 12, 4, 16, 0)


def test_a_start_on_a_rest_day_counts_from_the_next_working_morning():
    saturday = sh(2026, 11, 28, 10, 0)
    # Counting starts Monday 00:00: one working day ends when Monday ends.
    assert add_duration(saturday, Duration(1, "wd"), weekdays) == sh(2026, 12, 1, 0, 0)


def test_elapsed_units_ignore_the_calendar():
    saturday = sh(2026, 11, 28, 23, 30)
    assert add_duration(saturday, Duration(1, "h"), weekdays) == sh(2026, 11, 29, 0, 30)
    around = add_duration(saturday, Duration(2, "wd"), weekdays, around_the_clock=True)
    assert around == sh(2026, 11, 30, 23, 30)


def test_due_is_utc_and_start_must_be_aware():
    result = add_duration(sh(2026, 11, 23, 10, 0), Duration(2, "h"), weekdays)
    assert result.utcoffset().total_seconds() == 0
    with pytest.raises(ValueError):
        add_duration(datetime(2026, 11, 23, 10, 0), Duration(2, "h"), weekdays)


def test_subtract_working_days_skips_the_weekend():
    monday = sh(2026, 11, 30, 16, 0)
    assert subtract_duration(monday, Duration(1, "wd"), weekdays) == sh(2026, 11, 27, 16, 0)


def test_shipped_limits_file_loads_with_the_design_defaults():
    limits = load_time_limits(create_app().config["HOTLINE_TIME_LIMITS"])
    crisis = limits.rule_for("children", "psych_support", "crisis")
    assert {k: str(v) for k, v in crisis.limits.items()} == {
        "dispatch": "10m", "acknowledge": "30m", "respond": "1h", "handle": "24h"}
    assert str(limits.rule_for("general", "complaint", "normal").limits["handle"]) == "15wd"
    assert str(limits.rule_for("general", "consultation", "normal").limits["handle"]) == "2wd"
    assert str(limits.rule_for("general", "suggestion", "normal").limits["handle"]) == "10wd"
    assert str(limits.rule_for("children", "legal", "normal").limits["handle"]) == "5wd"
    assert str(limits.rule_for("hard_case", "help", "normal").limits["respond"]) == "30wm"
    assert limits.callback_attempts == 3


@pytest.mark.parametrize("body, named", [
    ('[warning]\nratio = 0.8\nbefore = "1wd"\n'
     '[ticket]\nreview = "1wd"\ncallback = "1wd"\ncallback_spacing = "4h"\n'
     '[windows]\nreturn = "2wd"\nreopen = "10wd"\nextension_total = "10wd"\n'
     '[[rule]]\nmatch = {}\ndispatch = "2h"\nacknowledge = "1wd"\nrespond = "1wd"\nhandle = "ten"\n',
     "rule[0].handle"),
    ('[warning]\nratio = 0.8\nbefore = "1wd"\n'
     '[ticket]\nreview = "1wd"\ncallback = "1wd"\ncallback_spacing = "4h"\n'
     '[windows]\nreturn = "2wd"\nreopen = "10wd"\nextension_total = "10wd"\n'
     '[[rule]]\nmatch = {}\ndispatch = "2h"\nacknowledge = "1wd"\nhandle = "2wd"\n',
     "rule[0].respond"),
    ('[warning]\nratio = 0.8\nbefore = "1wd"\n'
     '[ticket]\nreview = "1wd"\ncallback = "1wd"\ncallback_spacing = "4h"\n'
     '[windows]\nreopen = "10wd"\nextension_total = "10wd"\n'
     '[[rule]]\nmatch = {}\ndispatch = "2h"\nacknowledge = "1wd"\nrespond = "1wd"\nhandle = "2wd"\n',
     "windows.return"),
    ('[warning]\nratio = 2\n', "warning.ratio"),
    ('not = [toml', "not valid TOML"),
])
def test_a_bad_limits_file_stops_start_up_naming_the_key(tmp_path, monkeypatch, body, named):
    path = tmp_path / "limits.toml"
    path.write_text(body, encoding="utf-8")
    monkeypatch.setenv("HOTLINE_TIME_LIMITS", str(path))
    with pytest.raises(TimeLimitsError, match=named.replace("[", r"\[").replace("]", r"\]")):
        create_app()


def test_hotline_time_limits_replaces_the_shipped_file(app, api, tmp_path):
    shipped = Path(app.config["HOTLINE_TIME_LIMITS"])
    text = shipped.read_text(encoding="utf-8").replace('dispatch = "2h"', 'dispatch = "45m"')
    path = tmp_path / "limits.toml"
    path.write_text(text, encoding="utf-8")
    from hotline.clocks.limits import load_time_limits as load

    original = app.extensions["hotline.time_limits"]
    app.extensions["hotline.time_limits"] = load(path)
    try:
        with time_machine.travel(sh(2026, 11, 23, 10, 0), tick=False):
            ticket = api.create()
            submitted = api.act(ticket["id"], "submit", "seat1")
        assert due(submitted, "dispatch") == sh(2026, 11, 23, 10, 45)
    finally:
        app.extensions["hotline.time_limits"] = original


def test_general_ticket_clocks_start_at_submit_and_dispatch(api):
    with time_machine.travel(sh(2026, 11, 23, 10, 0), tick=False):
        ticket = api.create(category="help")
        submitted = api.act(ticket["id"], "submit", "seat1")
    assert due(submitted, "dispatch") == sh(2026, 11, 23, 12, 0)
    with time_machine.travel(sh(2026, 11, 23, 11, 0), tick=False):
        dispatched = api.act(ticket["id"], "dispatch", "dispatcher1", {"unit": "gulou"})
    # Clocks start at dispatch, not at acknowledge.
    assert due(dispatched, "acknowledge") == sh(2026, 11, 24, 11, 0)
    assert due(dispatched, "respond") == sh(2026, 11, 24, 11, 0)
    assert due(dispatched, "handle") == sh(2026, 12, 7, 11, 0)  # 10 working days
    states = {t["kind"]: t["state"] for t in dispatched["timers"]}
    assert states == {"dispatch": "met", "acknowledge": "running", "respond": "running",
                      "handle": "running"}


def test_children_and_crisis_clocks(api):
    with time_machine.travel(sh(2026, 11, 27, 20, 0), tick=False):  # Friday evening
        child = api.dispatched(desk="children", category="psych_support")
        crisis = api.dispatched(desk="children", category="psych_support", priority="crisis")
    # A school acknowledges in office hours ("2wh"): Monday 09:00 + 2 working hours.
    assert due(child, "acknowledge") == sh(2026, 11, 30, 11, 0)
    assert due(child, "handle") == sh(2026, 12, 4, 20, 0)   # 5 working days
    # Crisis clocks run 7x24: the weekend does not pause them.
    assert due(crisis, "acknowledge") == sh(2026, 11, 27, 20, 30)
    assert due(crisis, "handle") == sh(2026, 11, 28, 20, 0)


def test_timer_shows_warned_then_overdue_as_time_passes(api):
    with time_machine.travel(sh(2026, 11, 23, 10, 0), tick=False):
        ticket = api.dispatched(desk="children", category="psych_support")
    acknowledge = [t for t in ticket["timers"] if t["kind"] == "acknowledge"][0]
    assert acknowledge["state"] == "running"
    # Warning at 80% of the 2 h span (the 1wd-before rule would be earlier).
    assert datetime.fromisoformat(acknowledge["warn_at"]).astimezone(SH) == sh(2026, 11, 23, 11, 36)
    with time_machine.travel(sh(2026, 11, 23, 11, 40), tick=False):
        seen = api.ticket(ticket["id"])
        assert {t["kind"]: t["state"] for t in seen["timers"]}["acknowledge"] == "warned"
    with time_machine.travel(sh(2026, 11, 23, 12, 1), tick=False):
        seen = api.ticket(ticket["id"])
        assert {t["kind"]: t["state"] for t in seen["timers"]}["acknowledge"] == "overdue"
        overdue = api.get("/api/v1/tickets?overdue=true", "supervisor1").json
        assert [t["id"] for t in overdue] == [ticket["id"]]
        # Acknowledging late meets the clock: it stops counting as overdue.
        api.act(ticket["id"], "acknowledge", "handler-gulou")
        assert {t["kind"]: t["state"] for t in api.ticket(ticket["id"])["timers"]}["acknowledge"] == "met"


def test_approve_return_cancels_unit_clocks_and_restarts_dispatch(api):
    ticket = api.in_progress(unit="gulou")
    api.act(ticket["id"], "return", "handler-gulou", {"reason": "非本单位职责"})
    returned = api.act(ticket["id"], "approve_return", "dispatcher1", {"note": "同意"})
    by_kind = {}
    for timer in returned["timers"]:
        by_kind.setdefault(timer["kind"], []).append(timer["state"])
    assert by_kind["respond"] == ["cancelled"] and by_kind["handle"] == ["cancelled"]
    assert by_kind["dispatch"] == ["met", "running"]
