"""Working days and the one pure function that turns a start and a duration into `due_at`.

Times are stored in UTC and computed in Asia/Shanghai. A working-day deadline
ends at the same local time of day on the Nth working day after the start; a
start on a rest day counts from 00:00 of the next working day.

Working days come from the Chinese statutory calendar (`chinesecalendar`:
holidays and 调休 make-up working days) with local overrides on top. A year
that neither knows is an `UnknownYear` error, never a weekday guess.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from hotline.clocks.durations import Duration

SHANGHAI = ZoneInfo("Asia/Shanghai")

WorkdayTest = Callable[[date], bool]


class UnknownYear(LookupError):
    """The working-day calendar has no data for a year a deadline reaches into."""

    def __init__(self, year: int):
        super().__init__(
            f"工作日历缺少 {year} 年的法定节假日安排，请管理员导入 "
            f"(the working-day calendar has no holidays for {year}; "
            f"add them with `hotline calendar` and declare the year)"
        )
        self.year = year


def statutory_years() -> range:
    """The years `chinesecalendar` knows."""
    known = chinese_calendar.constants.holidays
    return range(min(known).year, max(known).year + 1)


@dataclass(frozen=True)
class WorkCalendar:
    """Statutory calendar plus local overrides; `declared_years` are years an admin entered."""

    overrides: Mapping[date, bool] = field(default_factory=dict)
    declared_years: frozenset[int] = frozenset()

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in statutory_years():
            return chinese_calendar.is_workday(day)
        if day.year in self.declared_years:
            # The admin entered this year's holidays and make-up days as overrides.
            return day.weekday() < 5
        raise UnknownYear(day.year)

    def knows(self, year: int) -> bool:
        return year in statutory_years() or year in self.declared_years

    __call__ = is_workday


def weekdays(day: date) -> bool:
    """Monday to Friday: for tests of the arithmetic alone, never for real deadlines."""
    return day.weekday() < 5


def add_duration(
    start: datetime,
    duration: Duration,
    is_workday: WorkdayTest,
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
    end: datetime, duration: Duration, is_workday: WorkdayTest,
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
