"""The audit trail nobody can edit: hash chains over the ticket event log and the read audit.

Both tables are append-only in the database (triggers refusing UPDATE, DELETE and, on
PostgreSQL, TRUNCATE; migration `..._h7_append_only_hash_chained_audit`). Every row carries
`hash` = sha256(canonical JSON of its content + the previous row's hash in its chain):
- the event log: one chain per ticket, in `seq` order (seq is gapless, and the ticket's
  `event_seq` says how long the chain must be, so a cut tail shows too);
- the read audit: one chain per subject (a ticket, a referral, or "export"), in id order.
The hash is computed when the row is inserted (a `before_insert` hook, so every writer gets
it). Two writers cannot fork an event chain: the ticket row is locked FOR UPDATE (or its
version bumped) and (ticket_id, seq) is unique. Read-audit writers of one subject are
serialised on PostgreSQL by a transaction advisory lock on the chain, on SQLite by taking the
database's write lock before the chain's head is read.

The one way past the triggers is the `audit_bypass` table: while it holds a row, in the
writer's own transaction, the triggers let UPDATE and DELETE through (PostgreSQL: no other
transaction sees the uncommitted row). Only the test harness uses it, to empty the tables
between tests; `maintenance()` is the documented door. Retention does not need it: it adds
an `anonymised` event to the chain and never rewrites an event (events carry no caller data).
"""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import g
from sqlalchemy import String, delete, insert, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from hotline import notices, permissions
from hotline.clocks.calendar import SHANGHAI
from hotline.extensions import db
from hotline.tickets.models import Desk, Event, Ticket
from hotline.types import utcnow
from hotline.users import Role, User
from referrals.models import ReadAudit

GENESIS = "0" * 64
HEADS = "audit_chain_heads"
PRIMED = "audit_chain_primed"


class AuditBypass(db.Model):
    """While this table holds a row (in the same transaction), the append-only triggers let
    UPDATE and DELETE through. Empty at every commit; see `maintenance`."""

    __tablename__ = "audit_bypass"

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))


@contextmanager
def maintenance(connection, reason: str) -> Iterator[None]:
    """Within `connection`'s transaction, let the audit tables be changed (the test harness)."""
    connection.execute(insert(AuditBypass).values(id=1, reason=reason[:200]))
    try:
        yield
    finally:
        connection.execute(delete(AuditBypass))


# --- canonical content and the hash -------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def event_content(row) -> dict:
    return {"ticket_id": row.ticket_id, "seq": row.seq, "at": _iso(row.at), "actor_id": row.actor_id,
            "unit_id": row.unit_id, "action": row.action, "from_state": row.from_state,
            "to_state": row.to_state, "data": row.data or {}}


def read_content(row) -> dict:
    return {"user_id": row.user_id, "subject": row.subject, "subject_id": row.subject_id,
            "view": row.view, "at": _iso(row.at), "kind": row.kind, "reason": row.reason,
            "detail": row.detail}


def digest(content: dict, prev_hash: str) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


# --- chaining each row as it is inserted ----------------------------------------------------

def _heads(session: Session) -> dict:
    """The last hash of each chain written in this flush (several rows of one chain go out in
    one INSERT batch, after all their before_insert hooks)."""
    return session.info.setdefault(HEADS, {})


@sa_event.listens_for(Session, "before_flush")
@sa_event.listens_for(Session, "after_flush")
def _forget_heads(session, *_args) -> None:
    session.info.pop(HEADS, None)


@sa_event.listens_for(Session, "after_commit")
@sa_event.listens_for(Session, "after_rollback")
def _forget_primed(session, *_args) -> None:
    session.info.pop(PRIMED, None)


def prime_event_chains(tickets) -> None:
    """Many tickets read with their last event's hash (`LAST_EVENT_HASH`: a batch of clocks
    firing): their next events chain to it unread. A ticket whose last event is not found
    (archived with its month) starts again from GENESIS, as the insert hook would."""
    primed = db.session.info.setdefault(PRIMED, {})
    for ticket in tickets:
        primed[("event", ticket.id)] = (ticket.event_seq, ticket.last_event_hash or GENESIS)


def prime_event_chain(ticket) -> None:
    """The ticket was read with its last event's hash (`Ticket.last_event_hash`): its next
    event chains to it without reading it again."""
    if ticket.last_event_hash is not None:
        db.session.info.setdefault(PRIMED, {})[("event", ticket.id)] = (ticket.event_seq,
                                                                        ticket.last_event_hash)


def chain_next(row) -> bool:
    """Chain an event written without the ORM (`tickets.events.held`): when its ticket's head
    is known here (primed for the batch, or the row before it chained this way) set its
    `prev_hash` and `hash`, make it the head, True; else False (the caller records it as an
    ORM object, chained at flush, which reads the head it needs)."""
    primed = db.session.info.setdefault(PRIMED, {})
    key = ("event", row.ticket_id)
    prev = (0, GENESIS) if row.seq == 1 else primed.get(key)
    if prev is None or prev[0] != row.seq - 1:
        return False
    row.prev_hash = prev[1]
    row.hash = digest(event_content(row), row.prev_hash)
    primed[key] = (row.seq, row.hash)
    return True


@sa_event.listens_for(Event, "before_insert")
def _chain_event(_mapper, connection, row: Event) -> None:
    row.ticket_id = row.ticket_id or row.ticket.id
    row.at = row.at or utcnow()
    heads = _heads(object_session(row))
    key = ("event", row.ticket_id)
    prev = heads.get(key) or object_session(row).info.get(PRIMED, {}).get(key)
    if row.seq == 1:            # a ticket's first event: the chain starts here, nothing to read
        prev = (0, GENESIS)
    elif prev is None or prev[0] != row.seq - 1:
        found = connection.execute(select(Event.hash).where(
            Event.ticket_id == row.ticket_id, Event.seq == row.seq - 1)).scalar()
        prev = (row.seq - 1, found or GENESIS)
    row.prev_hash = prev[1]
    row.hash = digest(event_content(row), row.prev_hash)
    heads[key] = (row.seq, row.hash)


def _advisory_key(chain: str) -> int:
    return int.from_bytes(hashlib.sha256(chain.encode()).digest()[:8], "big", signed=True)


@sa_event.listens_for(ReadAudit, "before_insert")
def _chain_read(_mapper, connection, row: ReadAudit) -> None:
    row.at = row.at or utcnow()
    row.kind = row.kind or "read"
    heads = _heads(object_session(row))
    key = (row.subject, row.subject_id)
    prev = heads.get(key)
    if prev is None:
        if connection.dialect.name == "postgresql":
            # Held until commit: the next reader of this subject waits for this row.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _advisory_key(f"read:{row.subject}:{row.subject_id}")})
        else:
            # SQLite: take the database's write lock before reading the head (a write that
            # changes nothing), so that a concurrent reader's row cannot slip in between.
            connection.execute(update(AuditBypass).where(AuditBypass.id < 0).values(id=AuditBypass.id))
        prev = connection.execute(
            select(ReadAudit.hash).where(ReadAudit.subject == row.subject,
                                         ReadAudit.subject_id == row.subject_id)
            .order_by(ReadAudit.id.desc()).limit(1)).scalar() or GENESIS
    row.prev_hash = prev
    row.hash = digest(read_content(row), prev)
    heads[key] = row.hash


# --- audited events: reads, exports and break-glass reveals ----------------------------------

def log_read(user: User, subject: str, subject_id: int, view: str, *, kind: str = "read",
             reason: str | None = None, detail: dict | None = None) -> None:
    """Log a read of a child's data (once per request, subject and view). The request's
    boundary commits it (the API's `committed`, the console's after-request hook)."""
    seen = g.setdefault("audited_reads", set())
    if kind == "read" and (subject, subject_id, view) in seen:
        return
    seen.add((subject, subject_id, view))
    db.session.add(ReadAudit(user_id=user.id, subject=subject, subject_id=subject_id, view=view,
                             kind=kind, reason=reason, detail=detail, at=utcnow()))


def audit_children(user: User | None, tickets, view: str) -> None:
    """Every read of a children's-desk ticket is logged (who, when, which view)."""
    if user is None:
        return
    for ticket in tickets:
        if ticket.desk == Desk.CHILDREN:
            log_read(user, "ticket", ticket.id, view)


def record_export(user: User, fmt: str, filters: dict, rows: int, view: str = "tickets") -> ReadAudit:
    """An export is itself audited: who, in which format, with which filter, how many rows,
    of what (`view`: the ticket list, a daily or weekly report)."""
    wanted = {key: value for key, value in filters.items()
              if key not in ("page", "per_page") and value not in (None, [], False)}
    row = ReadAudit(user_id=user.id, subject="export", subject_id=0, view=view, kind="export",
                    detail={"format": fmt, "filters": _jsonable(wanted), "rows": rows}, at=utcnow())
    db.session.add(row)
    return row


def reveal(user: User, ticket_id: int, reason: str) -> dict:
    """Break-glass: the caller's contact, the referrals' contact routes and guardians, shown
    once to a viewer of the ticket who sees them masked, for a stated reason. Audited (read
    audit, kind "reveal", with the reason) and the supervisor on duty is told at once. Later
    reads stay masked."""
    ticket = permissions.get_visible_ticket(user, ticket_id)
    reason = reason.strip()
    log_read(user, "ticket", ticket.id, "reveal", kind="reveal", reason=reason)
    who = f"{user.display_name or user.username}（{user.username}）"
    notices.notify_role(Role.SUPERVISOR, ticket, "reveal",
                        f"{who} 查看了工单 {ticket.number} 的完整联系方式，理由：{reason}")
    return {"ticket": ticket.id, "caller": {"phone": ticket.caller_phone, "name": ticket.caller_name},
            "referrals": [{"id": r.id, "partner": r.partner.code, "contact_route": r.contact_route,
                           "guardian": r.consent_by} for r in ticket.referrals]}


def _jsonable(value):
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return getattr(value, "value", value)


# --- the read-audit viewer ----------------------------------------------------------------------

AUDIT_KINDS = ("read", "export", "reveal")


def read_audits(viewer: User, *, ticket: int | None = None, username: str | None = None,
                kind: str | None = None, start: date | None = None, end: date | None = None,
                limit: int = 200) -> list[tuple[ReadAudit, User]]:
    """Read-audit rows, newest first, with their user (supervisors and admins only);
    `start`..`end` are Shanghai calendar days, both included."""
    permissions.check_audit_viewer(viewer)
    stmt = select(ReadAudit, User).join(User, User.id == ReadAudit.user_id)
    if ticket is not None:
        stmt = stmt.where(ReadAudit.subject == "ticket", ReadAudit.subject_id == ticket)
    if username:
        stmt = stmt.where(User.username == username)
    if kind:
        stmt = stmt.where(ReadAudit.kind == kind)
    if start is not None:
        stmt = stmt.where(ReadAudit.at >= datetime.combine(start, time(), SHANGHAI))
    if end is not None:
        stmt = stmt.where(ReadAudit.at < datetime.combine(end + timedelta(days=1), time(), SHANGHAI))
    return [tuple(row) for row in db.session.execute(stmt.order_by(ReadAudit.id.desc()).limit(limit))]


# --- verify ------------------------------------------------------------------------------------

@dataclass
class Broken:
    chain: str
    row_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f" (row id {self.row_id})" if self.row_id is not None else ""
        return f"{self.chain}{where}: {self.problem}"


@dataclass
class Verification:
    chains: int = 0
    rows: int = 0
    unchained: int = 0          # rows written before the chains existed (no hash)
    broken: list[Broken] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


def _walk(chain: str, rows, content, report: Verification) -> Broken | None:
    """Check one chain's rows in order; the first broken link, or None."""
    prev, started = GENESIS, False
    for row in rows:
        report.rows += 1
        if row.hash is None and not started:
            report.unchained += 1
            continue
        started = True
        if row.hash is None:
            return Broken(chain, row.id, "row without a hash inside the chain")
        if row.prev_hash != prev:
            return Broken(chain, row.id, "previous hash does not match: a row before it was "
                                         "removed, inserted or changed")
        if digest(content(row), prev) != row.hash:
            return Broken(chain, row.id, "content does not match its hash: the row was edited")
        prev = row.hash
    return None


def verify(ticket_id: int | None = None) -> Verification:
    """Recompute every chain (or one ticket's: its events and the reads of it)."""
    report = Verification()
    tickets = select(Ticket.id, Ticket.event_seq).order_by(Ticket.id)
    if ticket_id is not None:
        tickets = tickets.where(Ticket.id == ticket_id)
    for tid, event_seq in db.session.execute(tickets).all():
        rows = list(db.session.scalars(select(Event).where(Event.ticket_id == tid).order_by(Event.seq)))
        report.chains += 1
        chain = f"ticket {tid} events"
        broken = _walk(chain, rows, event_content, report)
        if broken is None:
            seqs = [row.seq for row in rows]
            if seqs != list(range(1, len(seqs) + 1)):
                missing = sorted(set(range(1, max(seqs, default=0) + 1)) - set(seqs))
                broken = Broken(chain, None, f"event seq {missing[:5]} missing: rows were deleted")
            elif len(seqs) != event_seq:
                broken = Broken(chain, None, f"the ticket says {event_seq} events, the log holds "
                                             f"{len(seqs)}: the last rows were deleted")
        if broken:
            report.broken.append(broken)
    stmt = select(ReadAudit.subject, ReadAudit.subject_id).distinct()
    if ticket_id is not None:
        stmt = stmt.where(ReadAudit.subject == "ticket", ReadAudit.subject_id == ticket_id)
    chains = db.session.execute(stmt.order_by(ReadAudit.subject, ReadAudit.subject_id)).all()
    for subject, subject_id in chains:
        rows = db.session.scalars(select(ReadAudit).where(
            ReadAudit.subject == subject, ReadAudit.subject_id == subject_id).order_by(ReadAudit.id))
        report.chains += 1
        broken = _walk(f"read audit of {subject} {subject_id}", rows, read_content, report)
        if broken:
            report.broken.append(broken)
    return report
