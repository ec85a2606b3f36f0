"""Working days and the one pure function that turns a start and a duration into `due_at`.

Times are stored in UTC and computed in Asia/Shanghai. A working-day deadline
ends at the same local time of day on the Nth working day after the start; a
start on a rest day counts from 00:00 of the next working day.
"""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hotline.clocks.durations import Duration

SHANGHAI = ZoneInfo("Asia/Shanghai")

WorkdayTest = Callable[[date], bool]


def weekdays(day: date) -> bool:
    """Monday to Friday; the statutory calendar replaces this (clocks issue)."""
    return day.weekday() < 5


def add_duration(
    start: datetime,
    duration: Duration,
    is_workday: WorkdayTest = weekdays,
    *,
    around_the_clock: bool = False,
) -> datetime:
    """Return the UTC instant `duration` after `start` (an aware datetime).

    `around_the_clock` makes working days count as calendar days (crisis and
    urgent clocks run 7x24).
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if not duration.working_days:
        return (start + duration.as_timedelta()).astimezone(ZoneInfo("UTC"))
    if around_the_clock:
        return (start + timedelta(days=duration.amount)).astimezone(ZoneInfo("UTC"))
    local = start.astimezone(SHANGHAI)
    day, time_of_day = local.date(), local.timetz().replace(tzinfo=None)
    if not is_workday(day):
        day, time_of_day = _next_workday(day, is_workday), time(0, 0)
    for _ in range(duration.amount):
        day = _next_workday(day, is_workday)
    return datetime.combine(day, time_of_day, SHANGHAI).astimezone(ZoneInfo("UTC"))


def subtract_duration(
    end: datetime, duration: Duration, is_workday: WorkdayTest = weekdays,
    *, around_the_clock: bool = False,
) -> datetime:
    """The instant `duration` before `end` (used for "warn 1wd before due")."""
    if not duration.working_days:
        return end - duration.as_timedelta()
    if around_the_clock:
        return end - timedelta(days=duration.amount)
    local = end.astimezone(SHANGHAI)
    day = local.date()
    for _ in range(duration.amount):
        day -= timedelta(days=1)
        while not is_workday(day):
            day -= timedelta(days=1)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), SHANGHAI).astimezone(
        ZoneInfo("UTC")
    )


def _next_workday(day: date, is_workday: WorkdayTest) -> date:
    day += timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    return day
