"""What the ticket page and the queues show of a ticket's history, as a person reads it (issue 22).

- The timeline: one line per thing that happened. The event log is append-only and keeps what
  each module recorded (a referral records its own `referral_sent` beside the `refer` action, a
  mandatory report its opening beside the `mandatory_report` action); here such an echo is
  folded into the action's line, so 转介 and 强制报告 are said once. The API's
  `GET .../events` keeps every row.
- The clocks: each kind's latest clock; the earlier cycles (a forward restarts 签收时限, a
  rework 办理时限) fold away beneath.
- A co-unit's own task (待签收 / 协办中 / 意见已提交) where the ticket's state would mislead it.
- Who sent a notice, by name.

Reads only; registered as template globals of the console.
"""

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from hotline.console import bp
from hotline.extensions import db
from hotline.tickets.models import Event
from hotline.units import Unit
from hotline.users import Role, User

# action -> (the echo recorded just before it by another module, the key both carry)
ECHOES = {"refer": ("referral_sent", "referral"), "mandatory_report": ("mandatory_report", "report")}


@dataclass
class Entry:
    seq: int
    at: datetime
    actor: User | None
    unit: Unit | None
    action: str
    from_state: str | None
    to_state: str | None
    data: dict = field(default_factory=dict)


def entries(events: list[Event]) -> list[Entry]:
    """The events as timeline lines, oldest first, each echo folded into its action's line."""
    lines: list[Entry] = []
    for event in events:
        entry = Entry(event.seq, event.at, event.actor, event.unit, event.action, event.from_state,
                      event.to_state, dict(event.data or {}))
        if lines and _echoes(lines[-1], entry):
            echo = lines.pop()     # its name is the more telling one (发出转介)
            entry.action, entry.data = echo.action, {**echo.data, **entry.data}
        lines.append(entry)
    return lines


def _echoes(earlier: Entry, entry: Entry) -> bool:
    echo = ECHOES.get(entry.action)
    if echo is None or earlier.action != echo[0]:
        return False
    key = echo[1]
    return earlier.data.get(key) is not None and earlier.data.get(key) == entry.data.get(key)


def clock_history(timers: list[dict]) -> tuple[list[dict], list[dict]]:
    """The ticket's clocks (as dumped) split into each kind's latest and the earlier ones."""
    latest: dict[str, dict] = {}
    for timer in timers:
        seen = latest.get(timer["kind"])
        if seen is None or timer["started_at"] >= seen["started_at"]:
            latest[timer["kind"]] = timer
    current = [timer for timer in timers if latest[timer["kind"]] is timer]
    return current, [timer for timer in timers if latest[timer["kind"]] is not timer]


CO_TASKS = {"acknowledge": _l("协办待签收"), "working": _l("协办中"), "done": _l("协办意见已提交")}


def own_task(ticket: dict) -> str | None:
    """For a co-unit's handler: its own task on `ticket` (as dumped), in words; None for everyone
    else, who read the ticket's state."""
    if not current_user.is_authenticated or current_user.role != Role.HANDLER or current_user.unit is None:
        return None
    code = current_user.unit.code
    if ticket.get("lead_unit") == code:
        return None
    link = next((link for link in ticket.get("co_unit_status") or [] if link["unit"] == code), None)
    if link is None:
        return None
    if link["opinion_at"]:
        return str(CO_TASKS["done"])
    return str(CO_TASKS["working"] if link["acknowledged_at"] else CO_TASKS["acknowledge"])


def senders(notices: list) -> dict[int, str]:
    """Who sent each notice (a supervisor's 督办, a dispatcher's recall), by display name."""
    ids = {notice.created_by_id for notice in notices if notice.created_by_id}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.display_name, User.username).where(User.id.in_(ids)))
    return {user_id: display or username for user_id, display, username in rows}


bp.add_app_template_global(senders)
bp.add_app_template_global(clock_history)
bp.add_app_template_global(own_task)
