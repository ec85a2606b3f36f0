"""Data retention: anonymise children's-desk tickets a configured time after they ended.

What goes: the caller's phone, name and address, the free text, the referral's child
alias, contact route and notes, the phone numbers and text of messages sent, and the
ticket's attachments (their files and rows; hotline.attachments).
What stays: the ticket's number, desk, category, units, dates, states and events (KPIs).

The event log is append-only and hash-chained (hotline.audit): anonymising never rewrites an
event; it appends one (`anonymised`) saying which fields it cleared, so the chain records it.
Events carry no caller data (a referral's contact route and guardian stay on the referral;
the migration that made the log append-only took them out of the events written before).

Depends on: the ticket models and event log, the outbox's messages (a ticket's referrals are
read through `ticket.referrals`: nothing of `referrals` is imported).
"""

from datetime import timedelta

from sqlalchemy import select

from hotline.attachments import service as attachments
from hotline.extensions import db
from hotline.outbox import OutboxMessage
from hotline.tickets.events import record_event
from hotline.tickets.models import TERMINAL_STATES, Desk, Ticket
from hotline.types import utcnow

REDACTED = "（已按保留期限匿名化）"
CLEARED = ("caller_phone", "caller_name", "address", "content", "subject", "reply_result",
           "resolution_note")


def due_for_anonymising(days: int) -> list[Ticket]:
    cutoff = utcnow() - timedelta(days=days)
    stmt = select(Ticket).where(
        Ticket.desk == Desk.CHILDREN, Ticket.state.in_(TERMINAL_STATES),
        Ticket.anonymised_at.is_(None), Ticket.updated_at <= cutoff,
    ).order_by(Ticket.id)
    return [t for t in db.session.scalars(stmt) if (t.closed_at or t.updated_at) <= cutoff]


def anonymise(days: int, apply: bool) -> dict:
    """Anonymise (or, without `apply`, only count) the children's tickets past retention."""
    tickets = due_for_anonymising(days)
    summary = {"tickets": len(tickets), "referrals": 0, "messages": 0, "attachments": 0, "applied": apply,
               "numbers": [t.number for t in tickets]}
    if not apply:
        return summary
    now = utcnow()
    for ticket in tickets:
        cleared = [name for name in CLEARED if getattr(ticket, name)]
        ticket.caller_phone = ticket.caller_name = ticket.address = None
        ticket.content, ticket.subject = REDACTED, ""
        ticket.reply_result = REDACTED if ticket.reply_result else None
        ticket.resolution_note = REDACTED if ticket.resolution_note else None
        ticket.anonymised_at = now
        referrals = messages = 0
        for referral in ticket.referrals:
            referrals += 1
            referral.child_alias = referral.contact_route = referral.note = None
            referral.need, referral.consent_by = REDACTED, None
            summary["referrals"] += 1
        for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)):
            message.to_number, message.body = "anonymised", REDACTED
            summary["messages"] += 1
            messages += 1
        files = attachments.forget(ticket)
        summary["attachments"] += files
        record_event(ticket, None, "anonymised", ticket.state, ticket.state,
                     {"retention_days": days, "cleared": cleared, "referrals": referrals,
                      "messages": messages, "attachments": files}, at=now)
    db.session.flush()
    return summary
