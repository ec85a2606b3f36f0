"""Working-hours clocks ("30wm", "2wh"): minutes counted only inside the working hours of
working days (default 09:00-12:00 and 13:30-17:30)."""

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline import create_app
from hotline.clocks.calendar import OFFICE_HOURS, WorkCalendar, add_duration, subtract_duration
from hotline.clocks.durations import Duration, parse_duration
from hotline.clocks.limits import TimeLimitsError, load_time_limits

SH = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkCalendar()


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_units_parse():
    assert parse_duration("30wm") == Duration(30, "wm")
    assert parse_duration("2wh").working_length() == timedelta(hours=2)
    with pytest.raises(ValueError):
        parse_duration("2wx")


@pytest.mark.parametrize("start, duration, due", [
    (sh(2026, 11, 23, 10, 0), "30wm", sh(2026, 11, 23, 10, 30)),      # inside the morning
    (sh(2026, 11, 23, 11, 50), "30wm", sh(2026, 11, 23, 13, 50)),     # across the lunch break
    (sh(2026, 11, 23, 11, 30), "30wm", sh(2026, 11, 23, 12, 0)),      # ends as the morning ends
    (sh(2026, 11, 23, 17, 20), "30wm", sh(2026, 11, 24, 9, 20)),      # overnight
    (sh(2026, 11, 23, 3, 0), "2wh", sh(2026, 11, 23, 11, 0)),         # filed at night
    (sh(2026, 11, 27, 16, 30), "2wh", sh(2026, 11, 30, 10, 0)),       # Friday -> Monday
    (sh(2026, 9, 30, 17, 0), "2wh", sh(2026, 10, 8, 10, 30)),         # 国庆 1-7 Oct: back Thu 8
    (sh(2026, 11, 28, 10, 0), "10wm", sh(2026, 11, 30, 9, 10)),       # Saturday
])
def test_working_hours_examples(start, duration, due):
    assert add_duration(start, parse_duration(duration), CALENDAR) == due


def test_around_the_clock_makes_working_hours_plain_hours():
    assert add_duration(sh(2026, 11, 23, 23, 0), Duration(2, "wh"), CALENDAR,
                        around_the_clock=True) == sh(2026, 11, 24, 1, 0)


def test_the_hours_come_from_the_file(tmp_path):
    shipped = load_time_limits(create_app().config["HOTLINE_TIME_LIMITS"])
    assert shipped.working_hours == OFFICE_HOURS
    assert str(shipped.rule_for("hard_case", "help", "normal").limits["dispatch"]) == "10wm"
    assert str(shipped.rule_for("children", "help", "normal").limits["acknowledge"]) == "2wh"
    assert str(shipped.rule_for("children", "help", "crisis").limits["acknowledge"]) == "30m"
    body = Path(create_app().config["HOTLINE_TIME_LIMITS"]).read_text(encoding="utf-8")
    custom = tmp_path / "limits.toml"
    custom.write_text(body.replace('periods = ["09:00-12:00", "13:30-17:30"]',
                                   'periods = ["08:30-12:00", "14:00-18:00"]'), encoding="utf-8")
    hours = load_time_limits(custom).working_hours
    assert hours == ((time(8, 30), time(12, 0)), (time(14, 0), time(18, 0)))
    custom.write_text(body.replace('periods = ["09:00-12:00", "13:30-17:30"]',
                                   'periods = ["13:30-17:30", "09:00-12:00"]'), encoding="utf-8")
    with pytest.raises(TimeLimitsError, match="working_hours.periods"):
        load_time_limits(custom)


def _working_minutes_between(start: datetime, end: datetime) -> float:
    """Count working minutes by walking the periods day by day (a second, plain computation)."""
    total, day = 0.0, start.astimezone(SH).date()
    while day <= end.astimezone(SH).date():
        if CALENDAR.is_workday(day):
            for opens, closes in OFFICE_HOURS:
                lo = max(start, datetime.combine(day, opens, SH))
                hi = min(end, datetime.combine(day, closes, SH))
                total += max((hi - lo).total_seconds(), 0) / 60
        day += timedelta(days=1)
    return total


starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 1),
                      timezones=st.just(SH))
minutes = st.integers(min_value=1, max_value=3 * 8 * 60)


@settings(max_examples=300, deadline=None)
@given(starts, minutes)
def test_exactly_the_working_minutes_are_counted(start, amount):
    due = add_duration(start, Duration(amount, "wm"), CALENDAR)
    assert due > start
    assert _working_minutes_between(start, due) == pytest.approx(amount)
    local = due.astimezone(SH)
    assert CALENDAR.is_workday(local.date())
    assert any(opens < local.time() <= closes for opens, closes in OFFICE_HOURS)


@settings(max_examples=300, deadline=None)
@given(starts, minutes)
def test_subtract_undoes_add(start, amount):
    due = add_duration(start, Duration(amount, "wm"), CALENDAR)
    back = subtract_duration(due, Duration(amount, "wm"), CALENDAR)
    # Back to the start, or to the end of the working time before it when it started off hours.
    assert back >= start.astimezone(ZoneInfo("UTC")) - timedelta(days=12)
    assert _working_minutes_between(back, due) == pytest.approx(amount)
    assert add_duration(back, Duration(amount, "wm"), CALENDAR) == due


@settings(max_examples=200, deadline=None)
@given(starts, st.integers(min_value=0, max_value=600), minutes)
def test_monotonic_in_the_start_time(start, later, amount):
    assert add_duration(start + timedelta(minutes=later), Duration(amount, "wm"), CALENDAR) >= \
        add_duration(start, Duration(amount, "wm"), CALENDAR)
