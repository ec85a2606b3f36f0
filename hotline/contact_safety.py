"""Contact safety: may the service text this ticket's caller now, and if not, why.

Every automatic sender (the SMS receipt, the callback survey by SMS or call, any reminder)
goes through `hotline.outbox.queue_message`, which asks `check` before it queues anything,
and the delivery job asks again before it sends. The rules, in order:

1. a number that texted 退订/TD/STOP... (an opt-out, `TextOptOut`) gets nothing automatic
   until it texts START/订阅 back;
2. a seat's explicit decision on the ticket (`ContactSafety.safe_to_text`) counts, unless
   the ticket became crisis or suspected abuse after that decision;
3. otherwise the children's desk, crisis tickets and suspected abuse are not safe to text
   (that phone may be the one the abuser reads); everything else is.

Surveys (回访) also keep quiet hours (HOTLINE_QUIET_HOURS, default 21:00-08:00 Shanghai)
and the seat's `safe_times` when it reads as clock ranges ("16:00-18:00"): the verdict
then carries the first moment they may go (`send_after`).

Depends on: the ticket models, visibility and event log, and the channels' settings.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ForeignKey, Integer, String, Text, and_, bindparam, select
from sqlalchemy.orm import Mapped, mapped_column

from hotline import permissions
from hotline.channels.settings import is_anonymous
from hotline.errors import Forbidden
from hotline.extensions import db
from hotline.tickets.events import record_event
from hotline.tickets.models import Desk, Event, Priority, Ticket
from hotline.types import UTCDateTime, utcnow
from hotline.users import User

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_QUIET_HOURS = "21:00-08:00"
# Purposes that wait for quiet hours and the seat's safe times (receipts answer the citizen's
# own text at once).
SCHEDULED_PURPOSES = frozenset({"callback_survey", "callback_voice_survey"})
SURVEY_PURPOSES = SCHEDULED_PURPOSES

# Inbound texts that are an opt-out or an opt-in, the whole message (trimmed, any case).
OPT_OUT_WORDS = frozenset({"退订", "td", "t", "stop", "unsubscribe", "取消订阅"})
OPT_IN_WORDS = frozenset({"start", "订阅"})
_EDGE_PUNCTUATION = " \t\r\n\u3000。.!！,，;；"

SAFE, SEAT, CHILDREN, CRISIS, ABUSE, OPTED_OUT, NO_NUMBER = (
    "safe", "seat", "children_desk", "crisis", "abuse", "opted_out", "no_number")
REASONS = {
    SAFE: "可以发送 (safe to text)",
    SEAT: "坐席已标记 (marked by a seat)",
    CHILDREN: "儿童专席工单默认不发短信 (children's desk: not texted unless a seat says so)",
    CRISIS: "危机工单默认不发短信 (crisis ticket: not texted unless a seat says so)",
    ABUSE: "疑似侵害工单默认不发短信 (suspected abuse: not texted unless a seat says so)",
    OPTED_OUT: "该号码已退订短信 (the number opted out of texts)",
    NO_NUMBER: "没有来电号码 (no caller number)",
}
# Events that make a ticket crisis or suspected abuse (after a seat's decision: unsafe again).
RISK_EVENTS = ("crisis_flagged", "mandatory_report")
WITHHELD = "text_withheld"
CONTACT_SET = "contact_safety_set"


class ContactSafety(db.Model):
    """What a seat said about texting this ticket's caller; no row means the defaults."""

    __tablename__ = "contact_safety"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    safe_to_text: Mapped[bool | None] = mapped_column()      # None: the defaults decide
    safe_times: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TextOptOut(db.Model):
    """A number that texted an opt-out word (退订, TD, STOP...), or back in (START, 订阅)."""

    __tablename__ = "text_opt_outs"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)   # E.164, +86...
    opted_out: Mapped[bool] = mapped_column()
    keyword: Mapped[str] = mapped_column(String(40))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class Verdict:
    """`allowed` now or from `send_after`; `reason` is one of REASONS' codes."""

    allowed: bool
    reason: str
    send_after: datetime | None = None

    @property
    def message(self) -> str:
        return REASONS[self.reason]


# --- the one question ---------------------------------------------------------------------

def check(ticket: Ticket | None, number: str | None, purpose: str = "",
          now: datetime | None = None) -> Verdict:
    """May an automatic text (or call) of `purpose` go to `number` about `ticket`, and when."""
    now = now or utcnow()
    if not number:
        return Verdict(False, NO_NUMBER)
    if is_opted_out(number):
        return Verdict(False, OPTED_OUT)
    record = db.session.get(ContactSafety, ticket.id) if ticket is not None and ticket.id else None
    if ticket is not None:
        safe, reason = _ticket_safety(ticket, record)
        if not safe:
            return Verdict(False, reason)
    if purpose in SCHEDULED_PURPOSES:
        start = next_sending_time(now, record.safe_times if record else None)
        return Verdict(True, SAFE, start if start > now else None)
    return Verdict(True, SAFE)


def _ticket_safety(ticket: Ticket, record: ContactSafety | None,
                   events: Sequence | None = None) -> tuple[bool, str]:
    risk, since = _risk(ticket, events)
    if record is not None and record.safe_to_text is not None and record.decided_at is not None:
        if risk is not None and since is not None and since > record.decided_at:
            return False, risk          # became crisis / abuse after the seat's word
        return record.safe_to_text, SEAT
    if risk is not None:
        return False, risk
    return True, SAFE


def _risk(ticket: Ticket, events: Sequence | None = None) -> tuple[str | None, datetime | None]:
    """The strongest reason a ticket is not safe by default, and since when (from its risk
    `events`, read here unless given)."""
    if events is None:
        events = db.session.execute(select(Event.action, Event.data, Event.at).where(
            Event.ticket_id == ticket.id, Event.action.in_(RISK_EVENTS))).all() if ticket.id else []
    abuse = [at for action, data, at in events
             if action == "mandatory_report" or "abuse" in ((data or {}).get("kinds") or [])]
    flagged = [at for action, _data, at in events if action == "crisis_flagged"]
    if abuse:
        return ABUSE, max(abuse + flagged)
    if flagged or ticket.priority == Priority.CRISIS:
        return CRISIS, max(flagged) if flagged else ticket.created_at
    if ticket.desk == Desk.CHILDREN:
        return CHILDREN, ticket.created_at
    return None, None


# --- quiet hours and safe times ---------------------------------------------------------------

_RANGE = re.compile(r"([01]?\d|2[0-4])[:：]([0-5]\d)\s*[-~～至到]\s*([01]?\d|2[0-4])[:：]([0-5]\d)")


def parse_ranges(text: str | None) -> list[tuple[time, time]]:
    """Clock ranges in a free text ("16:00-18:00，周末 10:00-12:00"); [] when none."""
    ranges = []
    for h1, m1, h2, m2 in _RANGE.findall(text or ""):
        ranges.append((_clock(int(h1), int(m1)), _clock(int(h2), int(m2))))
    return ranges


def _clock(hour: int, minute: int) -> time:
    return time(23, 59) if hour == 24 else time(hour, minute)


def quiet_hours() -> tuple[time, time]:
    configured = current_app.config.get("HOTLINE_QUIET_HOURS") or DEFAULT_QUIET_HOURS
    ranges = parse_ranges(configured)
    if not ranges:
        raise ValueError(f"HOTLINE_QUIET_HOURS={configured!r} is not like 21:00-08:00")
    return ranges[0]


def _inside(moment: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end        # across midnight


def next_sending_time(now: datetime, safe_times: str | None = None) -> datetime:
    """`now`, or the first minute after it outside quiet hours and inside the seat's safe
    times (when they read as clock ranges), in Shanghai time."""
    quiet_start, quiet_end = quiet_hours()
    windows = parse_ranges(safe_times)
    local = now.astimezone(SHANGHAI)
    candidates = [local] + [
        datetime.combine(local.date() + timedelta(days=day), edge, SHANGHAI)
        for day in range(3) for edge in [quiet_end] + [start for start, _ in windows]]
    for moment in sorted(c for c in candidates if c >= local):
        clock = moment.timetz().replace(tzinfo=None)
        if _inside(clock, quiet_start, quiet_end):
            continue
        if windows and not any(_inside(clock, start, end) for start, end in windows):
            continue
        return moment.astimezone(now.tzinfo)
    return now


# --- opt-out ----------------------------------------------------------------------------

def e164(number: str | None) -> str:
    """+8613912345678 for 139 1234 5678, 8613912345678 or +86 139-1234-5678."""
    digits = re.sub(r"[\s\-()]", "", number or "")
    bare = digits.lstrip("+")
    if len(bare) == 11 and bare.startswith("1"):
        return "+86" + bare
    return "+" + bare if bare.isdigit() else digits


def is_opted_out(number: str | None) -> bool:
    if not number:
        return False
    row = db.session.get(TextOptOut, e164(number))
    return bool(row and row.opted_out)


def opt_keyword(text: str | None) -> bool | None:
    """True for an opt-out text, False for an opt-in, None for anything else."""
    word = (text or "").strip(_EDGE_PUNCTUATION).lower()
    if word in OPT_OUT_WORDS:
        return True
    if word in OPT_IN_WORDS:
        return False
    return None


def record_opt(number: str, opted_out: bool, keyword: str) -> TextOptOut:
    """Remember that `number` opted out (or back in); the latest word counts."""
    key = e164(number)
    row = db.session.get(TextOptOut, key, with_for_update=True)
    if row is None:
        row = TextOptOut(number=key, opted_out=opted_out, keyword=keyword[:40], changed_at=utcnow())
        db.session.add(row)
    else:
        row.opted_out, row.keyword, row.changed_at = opted_out, keyword[:40], utcnow()
    db.session.flush()
    return row


def handle_opt_text(from_number: str | None, body: str | None) -> str | None:
    """An inbound text that is only an opt word: recorded, and "opted_out"/"opted_in";
    None when the text is something else (then it is processed as usual)."""
    opted = opt_keyword(body)
    if opted is None or not from_number or is_anonymous(from_number):
        return None         # a withheld number is shared by many: nothing to record
    record_opt(from_number, opted, (body or "").strip())
    return "opted_out" if opted else "opted_in"


# --- what a seat sees and sets -----------------------------------------------------------------

# Built once: every write's answer runs it (building it per call cost more than running it).
_ANCHOR = select(bindparam("ticket_id", type_=Integer).label("ticket_id")).subquery()
_DESCRIBE = (
    select(ContactSafety, TextOptOut.opted_out, Event.action, Event.data, Event.at)
    .select_from(_ANCHOR)
    .outerjoin(ContactSafety, ContactSafety.ticket_id == _ANCHOR.c.ticket_id)
    .outerjoin(TextOptOut, TextOptOut.number == bindparam("number", type_=String))
    .outerjoin(Event, and_(Event.ticket_id == _ANCHOR.c.ticket_id, Event.action.in_(RISK_EVENTS)))
)


def describe(ticket: Ticket) -> dict:
    """The ticket's contact safety as the API shows it (`contact`).

    Every write answers with it: the seat's word, the risk events and the opt-out are read
    in one statement, the ticket's id outer-joined to each (one row per risk event, mostly
    none)."""
    rows = db.session.execute(_DESCRIBE, {"ticket_id": ticket.id, "number": e164(ticket.caller_phone)}).all()
    record, opted = rows[0][0], rows[0][1]
    safe, reason = _ticket_safety(ticket, record, [row[2:] for row in rows if row[2] is not None])
    opted_out = bool(ticket.caller_phone) and bool(opted)
    decided_by = db.session.get(User, record.decided_by_id) if record and record.decided_by_id else None
    return {
        "safe_to_text": safe and not opted_out,
        "reason": OPTED_OUT if opted_out else reason,
        "explanation": REASONS[OPTED_OUT if opted_out else reason],
        "safe_times": record.safe_times if record else None,
        "note": record.note if record else None,
        "opted_out": opted_out,
        "decided_by": decided_by.username if decided_by else None,
        "decided_at": record.decided_at.isoformat() if record and record.decided_at else None,
    }


def record_intake(ticket: Ticket, actor: User | None, contact: dict | None) -> None:
    """What the seat said at intake (nothing said: the defaults)."""
    if contact and any(value is not None for value in contact.values()):
        _apply(ticket, actor, contact)


def set_contact(actor: User, ticket_id: int, data: dict) -> Ticket:
    """A seat (or the duty supervisor) sets whether and when the caller may be texted."""
    ticket = permissions.get_visible_ticket(actor, ticket_id, for_update=True)   # 404 first
    if actor.role not in permissions.SETS_CONTACT_SAFETY:
        raise Forbidden(error="contact.forbidden", params={"role": actor.role})
    _apply(ticket, actor, data)
    return ticket


def _apply(ticket: Ticket, actor: User | None, data: dict) -> None:
    # Function-level: tickets.service imports this module for intake.
    record = db.session.get(ContactSafety, ticket.id)
    if record is None:
        record = ContactSafety(ticket_id=ticket.id)
        db.session.add(record)
    now = utcnow()
    if data.get("safe_to_text") is not None:
        record.safe_to_text, record.decided_at = data["safe_to_text"], now
        record.decided_by_id = actor.id if actor else None
    elif "safe_to_text" in data and record.safe_to_text is not None:   # null: back to the defaults
        record.safe_to_text, record.decided_at, record.decided_by_id = None, None, None
    for key in ("safe_times", "note"):
        if key in data:
            setattr(record, key, data[key] or None)
    record.updated_at = now
    record_event(ticket, actor, CONTACT_SET, ticket.state, ticket.state,
                 {key: data[key] for key in ("safe_to_text", "safe_times", "note") if key in data},
                 at=now)
    db.session.flush()


def withheld(ticket: Ticket | None, purpose: str, verdict: Verdict) -> None:
    """An automatic text that did not go: said in the ticket's timeline."""
    if ticket is not None:
        record_event(ticket, None, WITHHELD, ticket.state, ticket.state,
                     {"purpose": purpose, "safety": verdict.reason, "note": verdict.message})
