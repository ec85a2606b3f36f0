"""Editing the working-day calendar: local overrides and declared years (admin, CLI and API).

Each change is an audited admin event (hotline.admin.changes, subject `calendar`); the CLI's
changes are recorded with no user, as `(cli)`.

Depends on: the calendar, the clock models, the admin change log and `hotline.signals`: a
declared year is announced (`signals.year_declared`) and the tickets recompute their
provisional clocks.
"""

import re
from datetime import date, timedelta

from sqlalchemy import delete, select

from hotline import changelog as changes
from hotline import signals
from hotline.changelog import Subject
from hotline.clocks.calendar import SHANGHAI, statutory_years
from hotline.clocks.models import CalendarDay, CalendarYear
from hotline.clocks.service import forget_calendar, work_calendar
from hotline.errors import Invalid
from hotline.extensions import db
from hotline.types import utcnow
from hotline.users import User

# The longest run of days one "from~to" line of a notice may name (a holiday is at most ~9).
LONGEST_RANGE = 31


def _by(actor: User | None) -> str:
    return actor.username if actor else "cli"


def set_day(day: date, is_workday: bool, note: str = "", actor: User | None = None) -> CalendarDay:
    """Make `day` a working day or a rest day, whatever the statutory calendar says."""
    row = db.session.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day)
        db.session.add(row)
    before = row.is_workday
    row.is_workday, row.note, row.updated_by, row.updated_at = is_workday, note, _by(actor), utcnow()
    changes.record(actor, Subject.CALENDAR, day.isoformat(), "update",
                   {"is_workday": [before, is_workday], "note": note})
    forget_calendar()
    return row


def clear_day(day: date, actor: User | None = None) -> bool:
    row = db.session.get(CalendarDay, day)
    if row is None:
        return False
    changes.record(actor, Subject.CALENDAR, day.isoformat(), "clear", {"is_workday": [row.is_workday, None]})
    db.session.delete(row)
    forget_calendar()
    return True


def declare_year(year: int, note: str = "", actor: User | None = None, *,
                 rest_days: list[date] | None = None, work_days: list[date] | None = None) -> int:
    """Say that `year`'s rest days and make-up days are entered as overrides (on top of the
    law's holidays), then recompute every open clock that was provisional; returns how many
    clocks moved.

    With `rest_days`/`work_days` (the State Council notice's 放假 and 调休上班 days) they
    replace the year's overrides first; without them the overrides already set stand."""
    if rest_days is not None or work_days is not None:
        _replace_overrides(year, rest_days or [], work_days or [], note, actor)
    row = db.session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year)
        db.session.add(row)
    row.note, row.declared_by, row.declared_at = note, _by(actor), utcnow()
    db.session.flush()
    forget_calendar()
    moved = sum(moved for _receiver, moved in signals.year_declared.send(year))
    changes.record(actor, Subject.CALENDAR, str(year), "declare", {
        "note": note, "rest_days": [d.isoformat() for d in rest_days or []],
        "work_days": [d.isoformat() for d in work_days or []], "recomputed": moved})
    return moved


def _replace_overrides(year: int, rest_days: list[date], work_days: list[date], note: str,
                       actor: User | None) -> None:
    """The year's overrides become exactly the notice's days (checked: within reach of the
    year, and no day both a rest day and a working day)."""
    errors: dict[str, list[str]] = {}
    first, last = date(year - 1, 12, 1), date(year + 1, 1, 31)
    for field, days in (("rest_days", rest_days), ("work_days", work_days)):
        outside = [d.isoformat() for d in days if not first <= d <= last]
        if outside:
            errors[field] = [f"日期不属于 {year} 年的放假安排：{'、'.join(outside)} "
                             f"(dates outside {year}'s notice: {', '.join(outside)})"]
    both = sorted(set(rest_days) & set(work_days))
    if both:
        text = "、".join(d.isoformat() for d in both)
        errors.setdefault("work_days", []).append(
            f"同一天既是放假又是上班：{text} (both a rest and a working day)")
    if errors:
        raise Invalid(errors=errors, error="calendar.bad_days",
                      params={"why": next(iter(errors.values()))[0]})
    db.session.execute(delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                 CalendarDay.day <= date(year, 12, 31)))
    db.session.flush()
    stamp = {"note": note, "updated_by": _by(actor), "updated_at": utcnow()}
    for day in sorted(set(rest_days)):
        db.session.merge(CalendarDay(day=day, is_workday=False, **stamp))
    for day in sorted(set(work_days)):
        db.session.merge(CalendarDay(day=day, is_workday=True, **stamp))
    db.session.flush()


_DATE = r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
_ITEM = re.compile(rf"^{_DATE}(?:\s*(?:~|～|至|到|—|–|-{{1,2}})\s*{_DATE})?$")


def parse_days(text: str, field: str) -> list[date]:
    """The days of a notice typed or pasted: dates ("2027-02-06", "2027年2月6日") or ranges
    ("2027-02-06~2027-02-13", "至"), separated by new lines, commas or 、. Invalid names the field."""
    days: list[date] = []
    for item in re.split(r"[\n,，、;；]+", text or ""):
        item = item.strip()
        if not item:
            continue
        match = _ITEM.match(item)
        try:
            if match is None:
                raise ValueError
            start = date(int(match[1]), int(match[2]), int(match[3]))
            end = date(int(match[4]), int(match[5]), int(match[6])) if match[4] else start
        except ValueError:
            message = f"无法识别的日期：{item}（如 2027-02-06 或 2027-02-06~2027-02-13） (not a date: {item})"
            raise Invalid(errors={field: [message]}, error="calendar.bad_days",
                          params={"why": message}) from None
        if not start <= end <= start + timedelta(days=LONGEST_RANGE):
            raise Invalid(errors={field: [f"日期范围不对：{item} (bad range)"]}, error="calendar.bad_range",
                          params={"range": item, "days": LONGEST_RANGE})
        days += [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return days


def overrides_in(year: int) -> list[CalendarDay]:
    stmt = select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
    ).order_by(CalendarDay.day)
    return list(db.session.scalars(stmt))


def year_status(year: int) -> dict:
    calendar = work_calendar()
    source = ("statutory" if year in statutory_years()
              else "declared" if year in calendar.declared_years else "provisional")
    row = db.session.get(CalendarYear, year)
    return {"year": year, "source": source, "overrides": len(overrides_in(year)),
            "declared_by": row.declared_by if row else None, "declared_at": row.declared_at if row else None,
            "note": row.note if row else ""}


def missing_year(today: date | None = None) -> int | None:
    """Next year, from November on (of `today`, default: today in Shanghai), while its holidays
    are not declared: deadlines reaching it are provisional (computed from the law)."""
    today = today or utcnow().astimezone(SHANGHAI).date()
    if today.month < 11 or work_calendar().knows(today.year + 1):
        return None
    return today.year + 1


def missing_year_warning(today: date | None = None) -> str | None:
    """The health check's words for `missing_year` (the console says it in the viewer's language)."""
    year = missing_year(today)
    if year is None:
        return None
    return (f"{year} 年放假安排尚未导入：跨年的工作日时限按法定节假日暂定计算，"
            f"管理员宣布该年后自动重算 (holidays for {year} are not declared yet: "
            f"deadlines reaching it are provisional, computed from the statutory holidays, and are "
            f"recomputed when an admin declares the year on the calendar page)")
