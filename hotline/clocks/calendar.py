"""Working days and the one pure function that turns a start and a duration into `due_at`.

Times are stored in UTC and computed in Asia/Shanghai. A working-day deadline
ends at the same local time of day on the Nth working day after the start; a
start on a rest day counts from 00:00 of the next working day. A working-hours
deadline ("30wm", "2wh") counts only the minutes inside the working hours of
working days.

Working days come from the Chinese statutory calendar (`chinesecalendar`:
holidays and 调休 make-up working days) with local overrides on top. A year
`chinesecalendar` does not know is computed from the law itself
(`statutory_holidays`): weekdays minus the 13 public-holiday days of
《全国年节及纪念日放假办法》 (2024 revision, in force from 2025). Such a year is
*provisional* until an admin declares it: the State Council's 调休 swaps and
bridge days cannot be known in advance.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from lunar_python import Lunar, Solar

from hotline.clocks.durations import Duration

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")

WorkdayTest = Callable[[date], bool]
# Working hours of a working day, as (start, end) local times in order.
WorkingHours = tuple[tuple[time, time], ...]
OFFICE_HOURS: WorkingHours = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))


def statutory_years() -> range:
    """The years `chinesecalendar` knows."""
    known = chinese_calendar.constants.holidays
    return range(min(known).year, max(known).year + 1)


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> dict[date, str]:
    """The 13 public-holiday days the law fixes for `year` (2024 revision), date -> festival(s).

    元旦 1 Jan; 春节 农历除夕 to 正月初三; 清明 the day of the 清明 solar term; 劳动节 1-2 May;
    端午 农历五月初五; 中秋 农历八月十五; 国庆 1-3 Oct. Lunar dates and the solar term come
    from `lunar-python`.
    """
    new_year = _solar(Lunar.fromYmd(year, 1, 1).getSolar())
    festivals = [(date(year, 1, 1), "元旦")]
    festivals += [(new_year + timedelta(days=offset), "春节") for offset in range(-1, 3)]
    festivals += [(_qingming(year), "清明"), (date(year, 5, 1), "劳动节"), (date(year, 5, 2), "劳动节"),
                  (_solar(Lunar.fromYmd(year, 5, 5).getSolar()), "端午节"),
                  (_solar(Lunar.fromYmd(year, 8, 15).getSolar()), "中秋节")]
    festivals += [(date(year, 10, day), "国庆节") for day in (1, 2, 3)]
    days: dict[date, str] = {}
    for day, name in festivals:       # 中秋 may fall on 1-3 October (2028: 3 October)
        days[day] = f"{days[day]}、{name}" if day in days else name
    return days


def _solar(solar) -> date:
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> date:
    """The day the 清明 solar term begins (4, 5 or 6 April)."""
    for day in range(3, 8):
        if Solar.fromYmd(year, 4, day).getLunar().getJieQi() == "清明":
            return date(year, 4, day)
    raise ValueError(f"no 清明 found in April {year}")  # pragma: no cover - astronomy says otherwise


@dataclass(frozen=True)
class WorkCalendar:
    """Statutory calendar plus local overrides; `declared_years` are years an admin entered.

    A year neither `chinesecalendar` nor an admin knows is computed from the law
    (`statutory_holidays`) and is provisional. A declared year is the law's holidays plus
    the admin's overrides (the notice's rest days and 调休 make-up working days).
    """

    overrides: Mapping[date, bool] = field(default_factory=dict)
    declared_years: frozenset[int] = frozenset()

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in statutory_years():
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5 and day not in statutory_holidays(day.year)

    def knows(self, year: int) -> bool:
        """True when `year`'s working days are official (not provisional)."""
        return year in statutory_years() or year in self.declared_years

    def provisional_between(self, start: datetime, end: datetime) -> bool:
        """Whether a span from `start` to `end` crosses a year that is only provisional."""
        first, last = sorted((start.astimezone(SHANGHAI).year, end.astimezone(SHANGHAI).year))
        return any(not self.knows(year) for year in range(first, last + 1))

    __call__ = is_workday


def weekdays(day: date) -> bool:
    """Monday to Friday: for tests of the arithmetic alone, never for real deadlines."""
    return day.weekday() < 5


def uses_calendar(duration: Duration, around_the_clock: bool) -> bool:
    """Whether a deadline of `duration` depends on the working-day calendar."""
    return duration.on_calendar and not around_the_clock


def add_duration(
    start: datetime,
    duration: Duration,
    is_workday: WorkdayTest,
    *,
    around_the_clock: bool = False,
    hours: WorkingHours = OFFICE_HOURS,
) -> datetime:
    """Return the UTC instant `duration` after `start` (an aware datetime).

    `around_the_clock` makes working days count as calendar days and working hours as
    hours (crisis and urgent clocks run 7x24).
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if not duration.on_calendar:
        return (start + duration.as_timedelta()).astimezone(UTC)
    if around_the_clock:
        return (start + duration.elapsed_equivalent()).astimezone(UTC)
    if duration.working_hours:
        return add_working_time(start, duration.working_length(), is_workday, hours)
    local = start.astimezone(SHANGHAI)
    day, time_of_day = local.date(), local.timetz().replace(tzinfo=None)
    if not is_workday(day):
        day, time_of_day = _next_workday(day, is_workday), time(0, 0)
    for _ in range(duration.amount):
        day = _next_workday(day, is_workday)
    return datetime.combine(day, time_of_day, SHANGHAI).astimezone(UTC)


def subtract_duration(
    end: datetime, duration: Duration, is_workday: WorkdayTest,
    *, around_the_clock: bool = False, hours: WorkingHours = OFFICE_HOURS,
) -> datetime:
    """The instant `duration` before `end` (used for "warn 1wd before due")."""
    if not duration.on_calendar:
        return end - duration.as_timedelta()
    if around_the_clock:
        return end - duration.elapsed_equivalent()
    if duration.working_hours:
        return subtract_working_time(end, duration.working_length(), is_workday, hours)
    local = end.astimezone(SHANGHAI)
    day = local.date()
    for _ in range(duration.amount):
        day -= timedelta(days=1)
        while not is_workday(day):
            day -= timedelta(days=1)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), SHANGHAI).astimezone(UTC)


def add_working_time(start: datetime, length: timedelta, is_workday: WorkdayTest,
                     hours: WorkingHours = OFFICE_HOURS) -> datetime:
    """The instant when `length` of working time has passed since `start` (UTC).

    A deadline that uses up a period exactly ends at the period's end (12:00, not 13:30).
    """
    return _working_time_from(start, length, is_workday, hours, backwards=False)


def subtract_working_time(end: datetime, length: timedelta, is_workday: WorkdayTest,
                          hours: WorkingHours = OFFICE_HOURS) -> datetime:
    """The instant `length` of working time before `end` (UTC); the mirror of add_working_time."""
    return _working_time_from(end, length, is_workday, hours, backwards=True)


def _working_time_from(moment: datetime, length: timedelta, is_workday: WorkdayTest,
                       hours: WorkingHours, *, backwards: bool) -> datetime:
    """The instant `length` of working time after `moment` (before it when `backwards`), in UTC."""
    if length <= timedelta(0):
        return moment.astimezone(UTC)
    periods = _working_periods(moment.astimezone(SHANGHAI).replace(tzinfo=None), is_workday, hours,
                               backwards=backwards)
    left = length
    while True:
        begin, end = next(periods)
        if left <= end - begin:
            reached = end - left if backwards else begin + left
            return reached.replace(tzinfo=SHANGHAI).astimezone(UTC)
        left -= end - begin


def _working_periods(local: datetime, is_workday: WorkdayTest, hours: WorkingHours, *,
                     backwards: bool) -> Iterator[tuple[datetime, datetime]]:
    """The working periods after the naive Shanghai time `local` (before it when `backwards`),
    cut at it, in the order a clock meets them: (begin, end) naive Shanghai times, for ever."""
    day = local.date()
    step = timedelta(days=-1 if backwards else 1)
    while True:
        if is_workday(day):
            for opens, closes in reversed(hours) if backwards else hours:
                begin, end = datetime.combine(day, opens), datetime.combine(day, closes)
                if backwards:
                    end = min(end, local)
                else:
                    begin = max(begin, local)
                if begin < end:
                    yield begin, end
        day += step


# How a notice quotes a deadline: "12-21（周一）24:00".
NOTICE_DEADLINE = "%m-%d（{weekday}）%H:%M"


def format_deadline(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A deadline in Shanghai time; 00:00 reads as 24:00 of the day before (the day it ends).

    `{weekday}` in `fmt` becomes 周一..周日 of that day.
    """
    if moment is None:
        return ""
    local = moment.astimezone(SHANGHAI)
    if local.time() == time(0, 0):
        local -= timedelta(days=1)
        fmt = fmt.replace("%H", "24").replace("%M", "00").replace("%S", "00")
    text = local.strftime(fmt)
    return text.replace("{weekday}", "周" + "一二三四五六日"[local.weekday()])


def _next_workday(day: date, is_workday: WorkdayTest) -> date:
    day += timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    return day
