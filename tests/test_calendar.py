"""The working-day calendar: statutory holidays, 调休 make-up days, overrides, unknown years."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.clocks.calendar import WorkCalendar, add_duration
from hotline.clocks.durations import Duration

SH = ZoneInfo("Asia/Shanghai")
STATUTORY = WorkCalendar()


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_national_day_week_is_not_counted():
    # 2026: 1-7 October off; Saturday 10 October is a make-up working day.
    assert add_duration(sh(2026, 9, 30, 10, 0), Duration(1, "wd"), STATUTORY) == sh(2026, 10, 8, 10, 0)
    assert add_duration(sh(2026, 10, 8, 10, 0), Duration(2, "wd"), STATUTORY) == sh(2026, 10, 10, 10, 0)


def test_spring_festival_with_make_up_saturday():
    # 2026 Spring Festival: 15-23 February off, Saturday 14 and 28 February worked.
    assert STATUTORY.is_workday(date(2026, 2, 14)) and STATUTORY.is_workday(date(2026, 2, 28))
    assert not STATUTORY.is_workday(date(2026, 2, 17))
    assert add_duration(sh(2026, 2, 13, 9, 0), Duration(1, "wd"), STATUTORY) == sh(2026, 2, 14, 9, 0)
    assert add_duration(sh(2026, 2, 14, 9, 0), Duration(1, "wd"), STATUTORY) == sh(2026, 2, 24, 9, 0)


def test_a_year_nobody_knows_is_computed_from_the_law_and_is_provisional():
    # Mon 28 Dec 2026 + 5wd: 29, 30, 31 Dec, (Fri 1 Jan 元旦 by law), Mon 4, Tue 5 Jan.
    due = add_duration(sh(2026, 12, 28, 10, 0), Duration(5, "wd"), STATUTORY)
    assert due == sh(2027, 1, 5, 10, 0)
    assert STATUTORY.provisional_between(sh(2026, 12, 28, 10, 0), due)
    assert not STATUTORY.provisional_between(sh(2026, 12, 1, 10, 0), sh(2026, 12, 2, 10, 0))
    # Elapsed and 7x24 clocks need no calendar.
    assert add_duration(sh(2026, 12, 31, 23, 0), Duration(2, "h"), STATUTORY) == sh(2027, 1, 1, 1, 0)


def test_declared_year_uses_its_overrides():
    calendar = WorkCalendar({date(2027, 1, 1): False, date(2027, 1, 4): False}, frozenset({2027}))
    # Thu 31 Dec 2026 + 1wd: Fri 1 Jan is off, weekend, Mon 4 Jan off -> Tue 5 Jan.
    assert add_duration(sh(2026, 12, 31, 15, 0), Duration(1, "wd"), calendar) == sh(2027, 1, 5, 15, 0)


def test_override_beats_the_statutory_calendar():
    local = WorkCalendar({date(2026, 11, 24): False})  # a local typhoon day off
    assert add_duration(sh(2026, 11, 23, 10, 0), Duration(1, "wd"), local) == sh(2026, 11, 25, 10, 0)


starts = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 10, 31),
                      timezones=st.just(SH))
amounts = st.integers(min_value=1, max_value=15)


@settings(max_examples=300, deadline=None)
@given(starts, amounts, st.integers(min_value=0, max_value=40))
def test_a_holiday_never_makes_a_deadline_earlier(start, amount, offset):
    """Declaring any day a rest day can only move a deadline later (or leave it)."""
    holiday = start.astimezone(SH).date() + timedelta(days=offset)
    with_holiday = WorkCalendar({holiday: False})
    base = add_duration(start, Duration(amount, "wd"), STATUTORY)
    assert add_duration(start, Duration(amount, "wd"), with_holiday) >= base


@settings(max_examples=300, deadline=None)
@given(starts, amounts)
def test_exactly_n_working_days_are_counted(start, amount):
    due = add_duration(start, Duration(amount, "wd"), STATUTORY).astimezone(SH)
    anchor = start.astimezone(SH).date()
    while not STATUTORY.is_workday(anchor):      # a rest-day start counts from the next working day
        anchor += timedelta(days=1)
    counted, day = 0, anchor
    while day < due.date():
        day += timedelta(days=1)
        counted += STATUTORY.is_workday(day)
    assert counted == amount
    assert due > start


@settings(max_examples=300, deadline=None)
@given(starts, st.integers(min_value=0, max_value=3 * 24 * 60), amounts)
def test_monotonic_in_the_start_time(start, minutes_later, amount):
    later = start + timedelta(minutes=minutes_later)
    assert add_duration(later, Duration(amount, "wd"), STATUTORY) >= add_duration(
        start, Duration(amount, "wd"), STATUTORY)


@settings(max_examples=200, deadline=None)
@given(starts, amounts)
def test_due_falls_on_a_working_day(start, amount):
    due = add_duration(start, Duration(amount, "wd"), STATUTORY).astimezone(SH)
    assert STATUTORY.is_workday(due.date())


# --- through the service and the API -----------------------------------------

def test_admin_overrides_a_day_and_new_clocks_follow(api):
    refused = api.client.put("/api/v1/calendar/days/2026-11-24",
                             json={"is_workday": False}, headers=api.headers("seat1"))
    assert refused.status_code == 403
    response = api.client.put("/api/v1/calendar/days/2026-11-24",
                              json={"is_workday": False, "note": "台风停工"},
                              headers=api.headers("admin"))
    assert response.status_code == 200, response.json
    year = api.get("/api/v1/calendar/2026", "dispatcher1").json
    assert year["source"] == "statutory"
    assert [o["day"] for o in year["overrides"]] == ["2026-11-24"]
    with time_machine.travel(sh(2026, 11, 23, 10, 0), tick=False):
        ticket = api.dispatched(unit="gulou")
    acknowledge = [t for t in ticket["timers"] if t["kind"] == "acknowledge"][0]
    assert datetime.fromisoformat(acknowledge["due_at"]) == sh(2026, 11, 25, 10, 0)


def test_undeclared_year_is_provisional_not_refused(api):
    with time_machine.travel(sh(2026, 12, 24, 10, 0), tick=False):
        ticket = api.create(category="complaint")          # handle = 15wd -> 2027
        api.act(ticket["id"], "submit", "seat1")
        dispatched = api.act(ticket["id"], "dispatch", "dispatcher1", {"unit": "gulou"})
        assert dispatched["state"] == "dispatched"
        handle = api.running_timer(dispatched, "handle")
        acknowledge = api.running_timer(dispatched, "acknowledge")
        assert handle["provisional"] is True and acknowledge["provisional"] is False
        ready = api.client.get("/readyz").json
        assert any("2027" in warning and "provisional" in warning for warning in ready["warnings"])
        assert api.get("/api/v1/calendar/2027", "dispatcher1").json["source"] == "provisional"
        declared = api.client.post("/api/v1/calendar/years/2027", json={"note": "国办通知"},
                                   headers=api.headers("admin"))
        assert declared.status_code == 200 and declared.json["source"] == "declared"
        assert not api.running_timer(api.ticket(ticket["id"]), "handle")["provisional"]
        assert not [w for w in api.client.get("/readyz").json["warnings"] if "2027" in w]


def test_bad_calendar_paths_are_404_not_500(api):
    headers = api.headers("admin")
    assert api.client.put("/api/v1/calendar/days/2026-02-30", json={"is_workday": True},
                          headers=headers).status_code == 404
    assert api.client.get("/api/v1/calendar/20x6", headers=headers).status_code == 404
    assert api.client.put("/api/v1/calendar/days/2026-11-24", json={"is_workday": "maybe"},
                          headers=headers).status_code == 422
