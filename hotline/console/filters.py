"""Jinja filters and globals of the console: local times, remaining time, labels, paging."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, request, url_for
from flask_babel import gettext, ngettext
from jinja2 import pass_context

from hotline.clocks.calendar import format_deadline
from hotline.console import labels
from hotline.console.forms import locale
from hotline.console.queries import units_by_code
from hotline.types import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")
# An operator's warning of /readyz (hotline/health.py), written "中文 (English)".
_BILINGUAL = re.compile(r"^(?P<zh>.*?)\s*\((?P<en>[^()]*[A-Za-z][^()]*)\)\s*$", re.S)


def localize(message) -> str:
    """A bilingual warning "中文 (English)" in the viewer's language; other text unchanged."""
    match = _BILINGUAL.match(str(message or ""))
    if not match:
        return message
    return match["en"] if locale() == "en" else match["zh"]


def as_datetime(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value


def localtime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    moment = as_datetime(value)
    return moment.astimezone(SHANGHAI).strftime(fmt) if moment else ""


def deadline(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A due time in Shanghai time, midnight read as 24:00 of the day it ends."""
    return format_deadline(as_datetime(value), fmt)


def span(seconds: float) -> str:
    """A duration in days, hours and minutes, coarse enough to read at a glance."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return gettext("%(d)s天%(h)s小时", d=days, h=hours)
    if hours:
        return gettext("%(h)s小时%(m)s分", h=hours, m=mins)
    return ngettext("%(num)s分钟", "%(num)s分钟", mins)


def waited(seconds) -> str:
    """How long a caller has waited, to the second: "45秒", "3分12秒", "1小时5分"."""
    seconds = max(0, int(seconds or 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return gettext("%(h)s小时%(m)s分", h=hours, m=minutes)
    if minutes:
        return gettext("%(m)s分%(s)s秒", m=minutes, s=secs)
    return gettext("%(s)s秒", s=secs)


def remaining(timer: dict) -> str:
    """"剩余 3小时5分" / "超期 1天2小时" for an open clock; the end time for a closed one."""
    due = as_datetime(timer.get("due_at"))
    if timer.get("state") in ("met", "cancelled"):
        return ""
    left = (due - utcnow()).total_seconds()
    if left >= 0:
        return gettext("剩余 %(span)s", span=span(left))
    return gettext("超期 %(span)s", span=span(left))


def ticket_tone(ticket: dict) -> str:
    """Row colour of a listed ticket: red when a clock is overdue, yellow when one warned."""
    states = {timer["state"] for timer in ticket.get("timers", [])}
    if "overdue" in states:
        return "overdue"
    if "warned" in states:
        return "warned"
    return ""


def percent(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def page_url(page: int) -> str:
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _words(table: dict):
    """A label filter. `pass_context` stops Jinja from folding `'code'|filter` into the
    compiled template in whatever language it happened to be compiled in."""

    @pass_context
    def words(_context, code) -> str:
        return labels.label(table, code)

    return words


def register(app: Flask) -> None:
    env = app.jinja_env
    env.filters.update(
        localize=localize,
        localtime=localtime, deadline=deadline, remaining=remaining, tone=ticket_tone, percent=percent,
        waited=waited,
        call_state=_words(labels.CALL_STATES),
        state=_words(labels.STATES),
        action=_words(labels.ACTIONS),
        desk=_words(labels.DESKS),
        channel=_words(labels.CHANNELS),
        category=_words(labels.CATEGORIES),
        priority=_words(labels.PRIORITIES),
        timer=_words(labels.TIMERS),
        timer_state=_words(labels.TIMER_STATES),
        role=_words(labels.ROLES),
        resolution=_words(labels.RESOLUTIONS),
        field=_words(labels.FIELDS),
        kpi=_words(labels.KPIS),
        choice=_words(labels.CHOICES),
        referral_state=_words(labels.REFERRAL_STATES),
        referral_action=_words(labels.REFERRAL_ACTIONS),
        service=_words(labels.SERVICES),
        consent_how=_words(labels.CONSENT_HOW),
        consent_kind=_words(labels.CONSENT_KINDS),
        report_state=_words(labels.REPORT_STATES),
        contact_reason=_words(labels.CONTACT_REASONS),
    )
    env.globals.update(labels=labels, page_url=page_url, locale=locale, unit_names=units_by_code)
