"""Editing the working-day calendar: local overrides and declared years (admin, CLI and API)."""

from datetime import date

from sqlalchemy import select

from hotline.clocks.calendar import SHANGHAI, statutory_years
from hotline.clocks.models import CalendarDay, CalendarYear
from hotline.clocks.recompute import recompute_provisional
from hotline.clocks.service import forget_calendar, work_calendar
from hotline.extensions import db
from hotline.types import utcnow


def set_day(day: date, is_workday: bool, note: str = "", by: str | None = None) -> CalendarDay:
    """Make `day` a working day or a rest day, whatever the statutory calendar says."""
    row = db.session.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day)
        db.session.add(row)
    row.is_workday, row.note, row.updated_by, row.updated_at = is_workday, note, by, utcnow()
    forget_calendar()
    return row


def clear_day(day: date) -> bool:
    row = db.session.get(CalendarDay, day)
    if row is None:
        return False
    db.session.delete(row)
    forget_calendar()
    return True


def declare_year(year: int, note: str = "", by: str | None = None) -> int:
    """Say that `year`'s rest days and make-up days are entered as overrides (on top of the
    law's holidays), then recompute every open clock that was provisional; returns how many
    clocks moved."""
    row = db.session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year)
        db.session.add(row)
    row.note, row.declared_by, row.declared_at = note, by, utcnow()
    db.session.flush()
    forget_calendar()
    return recompute_provisional()


def overrides_in(year: int) -> list[CalendarDay]:
    stmt = select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
    ).order_by(CalendarDay.day)
    return list(db.session.scalars(stmt))


def year_status(year: int) -> dict:
    calendar = work_calendar()
    source = ("statutory" if year in statutory_years()
              else "declared" if year in calendar.declared_years else "provisional")
    return {"year": year, "source": source, "overrides": len(overrides_in(year))}


def missing_year(today: date | None = None) -> int | None:
    """From November on (of `today`, default: today in Shanghai), next year while its
    holidays are not declared: its deadlines are provisional (computed from the law)."""
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
            f"recomputed when an admin declares the year with `hotline calendar declare-year`)")
