"""Editing the time limits in force: the changed durations checked (the field named), a preview
of the open clocks the change would move, and the save (hotline.rulebook), optionally
recomputing those clocks.

A field is the dotted place of a duration in the time-limit document: `rule.0.handle` (the
first rule's handle clock), `ticket.review`, `ticket.callback`, `windows.reopen`,
`referral.accept`, `referral.crisis.accept`, `warning.before`.

Open clocks keep their deadlines unless the admin asks to recompute: then each clock whose
limit changed is recomputed from its start (hotline.tickets.recompute, a `timer_recomputed`
event on its ticket), as a declared year does.
"""

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from hotline.admin import changes
from hotline.admin.changes import Subject
from hotline.clocks import service as clocks
from hotline.clocks.durations import parse_duration
from hotline.clocks.limits import REFERRAL_CLOCKS, TICKET_CLOCKS, WINDOWS, TimeLimits, TimeLimitsError
from hotline.clocks.models import OPEN_TIMER_STATES, Timer
from hotline.errors import FieldProblems, Invalid, Problem
from hotline.extensions import db
from hotline.tickets.models import Ticket
from hotline.tickets.recompute import recompute
from hotline.users import User
from referrals.models import Referral

LIMITS_CHANGED = "time_limits_changed"
# No time limit is longer than a year (a typo like 15000wd would also make every deadline
# computation walk decades of days).
LONGEST = timedelta(days=366)
EXAMPLES = 5


def fields_of(document: dict) -> dict[str, str]:
    """Every editable duration of `document`, by field, as text ("2h", "5wd")."""
    found = {}
    for index, rule in enumerate(document.get("rule", [])):
        found.update({f"rule.{index}.{kind}": rule[kind] for kind in TICKET_CLOCKS if kind in rule})
    ticket = document.get("ticket", {})
    found.update({f"ticket.{key}": ticket[key] for key in ("review", "callback") if key in ticket})
    found.update({f"windows.{key}": value for key, value in document.get("windows", {}).items()
                  if key in WINDOWS})
    referral = document.get("referral", {})
    found.update({f"referral.{key}": referral[key] for key in REFERRAL_CLOCKS if key in referral})
    found.update({f"referral.crisis.{key}": value for key, value in referral.get("crisis", {}).items()
                  if key in REFERRAL_CLOCKS})
    if "before" in document.get("warning", {}):
        found["warning.before"] = document["warning"]["before"]
    return {key: str(value) for key, value in found.items()}


def edited(document: dict, values: dict[str, str]) -> tuple[dict, TimeLimits]:
    """`document` with the given fields' new durations, and the time limits it builds.

    Invalid names every field whose value is not a duration, is not an editable field, or is
    zero; a document the builder refuses is named as a whole (`time_limits`)."""
    known = fields_of(document)
    errors = FieldProblems()
    new = copy.deepcopy(document)
    for field, raw in values.items():
        text = (raw or "").strip()
        if field not in known:
            errors.add(field, "time_limits.not_editable", limit=field)
            continue
        try:
            duration = parse_duration(text)
            if duration.amount <= 0 or duration.elapsed_equivalent() > LONGEST:
                raise ValueError("more than zero and at most a year")
        except ValueError:
            errors.add(field, "time_limits.bad_duration", value=text)
            continue
        _put(new, field, text)
    errors.refuse("time_limits.invalid")
    try:
        built = clocks.TIME_LIMITS.build(new, "time_limits")
    except TimeLimitsError as error:
        raise error.refusal("time_limits", "time_limits.invalid") from None
    return new, built


def _put(document: dict, field: str, text: str) -> None:
    parts = field.split(".")
    if parts[0] == "rule":
        document["rule"][int(parts[1])][parts[2]] = text
        return
    place = document
    for part in parts[:-1]:
        place = place.setdefault(part, {})
    place[parts[-1]] = text


@dataclass(frozen=True)
class Moved:
    """One open clock the change would move: where it ends now and would end after."""

    ticket: Ticket
    timer: Timer
    before: datetime
    after: datetime


@dataclass(frozen=True)
class Preview:
    changed: dict[str, tuple[str, str]]   # field -> (before, after)
    moving: int                           # open clocks whose limit changes
    examples: list[Moved]


def preview(document: dict, new_document: dict, new: TimeLimits) -> Preview:
    """What saving `new` would change: the fields, and how many open clocks would move if the
    admin chose to recompute (with a few examples, before and after)."""
    before, after = fields_of(document), fields_of(new_document)
    changed = {field: (before.get(field, ""), value) for field, value in after.items()
               if before.get(field) != value}
    moving = _moving(clocks.time_limits(), new)
    examples = []
    for ticket, timer in moving[:EXAMPLES]:
        duration, around_the_clock = clocks.limit_of(new, ticket, timer.kind, _referral(timer))
        after_due = clocks.compute(timer.started_at, duration, around_the_clock).due_at
        examples.append(Moved(ticket, timer, timer.due_at, after_due))
    return Preview(changed, len(moving), examples)


def preview_of(values: dict[str, str]) -> Preview:
    """The preview of changing the given fields of the time limits in force (nothing saved)."""
    document = clocks.TIME_LIMITS.document()
    new_document, new = edited(document, values)
    return preview(document, new_document, new)


def save(actor: User, values: dict[str, str], *, recompute_open: bool, note: str = "") -> tuple[Preview, int]:
    """Save the edited durations (an audited change); with `recompute_open`, recompute every
    open clock whose limit changed. Returns the preview and how many clocks moved."""
    old = clocks.time_limits()
    document = clocks.TIME_LIMITS.document()
    new_document, new = edited(document, values)
    shown = preview(document, new_document, new)
    if not shown.changed:
        raise Invalid(errors={"time_limits": [Problem("time_limits.unchanged")]},
                      error="time_limits.unchanged")
    moving = _moving(old, new) if recompute_open else []
    clocks.TIME_LIMITS.save(actor, new_document, note)
    moved = 0
    by_ticket: dict[int, list[Timer]] = {}
    for ticket, timer in moving:
        by_ticket.setdefault(ticket.id, []).append(timer)
    for ticket_id in sorted(by_ticket):
        ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
        moved += len(recompute(ticket, by_ticket[ticket_id], reason=LIMITS_CHANGED, actor=actor))
    if recompute_open:
        changes.record(actor, Subject.RULES, clocks.TIME_LIMITS.name, "recompute", {"recomputed": moved})
    return shown, moved


def _moving(old: TimeLimits, new: TimeLimits) -> list[tuple[Ticket, Timer]]:
    """Open clocks (ticket's and referral's) whose limit differs between `old` and `new`."""
    rows = db.session.execute(
        select(Ticket, Timer).join(Timer, Timer.ticket_id == Ticket.id)
        .where(Timer.state.in_(OPEN_TIMER_STATES)).order_by(Timer.due_at, Timer.id)).all()
    moving = []
    for ticket, timer in rows:
        referral = _referral(timer)
        was, will = (clocks.limit_of(limits, ticket, timer.kind, referral) for limits in (old, new))
        if was != will:
            moving.append((ticket, timer))
    return moving


def _referral(timer: Timer):
    return db.session.get(Referral, timer.referral_id) if timer.referral_id else None
