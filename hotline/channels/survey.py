"""The voice side of 回访: a call whose TwiML asks for 1/2/3, and the key the caller presses.

`send_survey_call` (job `tasks.voice_survey`) queues the call in the outbox for a ticket
waiting for its callback; `/twilio/voice/survey` stores the key (`store_key`, committed
before the caller hears the thank-you) and job `tasks.process_survey_key` applies it with
`process_key` → `record_key`, which records the callback as the system would a seat's
(`record_callback`). A key whose job keeps failing stays stored and unprocessed: the sweep
retries it, and the survey follow-up does not count that call as silence meanwhile.

Depends on: the ticket services, models and event log, callbacks, the outbox and TwiML.
"""

from sqlalchemy import exists, select, update

from hotline import callbacks
from hotline.channels import twiml
from hotline.channels.models import SurveyKey, insert_or_ignore
from hotline.extensions import db
from hotline.outbox import Channel, OutboxMessage, queue_message
from hotline.tickets.events import record_event
from hotline.tickets.models import Ticket, TicketState
from hotline.tickets.service import perform_as_system
from hotline.types import utcnow

RATINGS = {"1": 1, "2": 2, "3": 3}
RECORDED, IGNORED, INVALID = "recorded", "ignored", "invalid"


def queue_survey_call(ticket, cycle: int, attempt: int = 1) -> OutboxMessage | None:
    """Queue the survey call of (`ticket`, `cycle`, `attempt`) once; None without a number."""
    if not ticket.caller_phone:
        return None
    body = str(twiml.survey_call(ticket.id, cycle, ticket.number))
    return queue_message(f"callback-voice-{ticket.id}-{cycle}-{attempt}", Channel.VOICE,
                         ticket.caller_phone, body, purpose="callback_voice_survey", ticket=ticket)


def send_survey_call(ticket_id: int, cycle: int, attempt: int = 1) -> bool:
    """A ticket waiting for its callback gets a survey call; False when it no longer waits."""
    ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    if ticket is None or ticket.state != TicketState.CALLBACK_PENDING or ticket.rework_count != cycle:
        return False
    if ticket.caller_phone and callbacks.seat_task_instead(ticket, cycle, attempt, "callback_voice_survey"):
        return False
    message = queue_survey_call(ticket, cycle, attempt)
    if message is None:
        return False
    record_event(ticket, None, "callback_voice_survey", ticket.state, ticket.state,
                 {"cycle": cycle, "attempt": attempt, "message": message.id})
    return True


def is_rating(digits: str | None) -> bool:
    return (digits or "").strip() in RATINGS


def store_key(call_sid: str, ticket_id: int, cycle: int, digits: str) -> int | None:
    """Store the key of survey call `call_sid`; its id to process, None when there is nothing
    to do (no such ticket, or this call's key was stored and applied already)."""
    if not db.session.scalar(select(exists().where(Ticket.id == ticket_id))):
        return None
    key_id = insert_or_ignore(SurveyKey, {
        "call_sid": call_sid, "ticket_id": ticket_id, "cycle": cycle,
        "digits": (digits or "").strip(), "received_at": utcnow(),
    }, "call_sid")
    if key_id is None:           # Twilio retried the webhook: make sure the job exists if not done
        key_id = db.session.scalar(select(SurveyKey.id).where(
            SurveyKey.call_sid == call_sid, SurveyKey.processed_at.is_(None)))
    return key_id


def process_key(key_id: int) -> str | None:
    """Apply a stored key once, whoever runs it (the claim is rolled back if applying fails)."""
    claimed = db.session.execute(
        update(SurveyKey).where(SurveyKey.id == key_id, SurveyKey.processed_at.is_(None))
        .values(processed_at=utcnow())).rowcount
    key = db.session.get(SurveyKey, key_id, populate_existing=True)
    if not claimed or key is None:
        return key.outcome if key is not None else None
    key.outcome = record_key(key.ticket_id, key.cycle, key.digits)
    return key.outcome


def unprocessed_keys(before) -> list[int]:
    return list(db.session.scalars(select(SurveyKey.id).where(
        SurveyKey.processed_at.is_(None), SurveyKey.received_at <= before)
        .order_by(SurveyKey.id).limit(500)))


def record_key(ticket_id: int, cycle: int, digits: str) -> str:
    """The key pressed on a survey call: recorded, ignored (answered already) or invalid."""
    rating = RATINGS.get((digits or "").strip())
    if rating is None:
        return INVALID
    ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    if ticket is None or ticket.state != TicketState.CALLBACK_PENDING or ticket.rework_count != cycle:
        return IGNORED
    perform_as_system(ticket.id, "record_callback", {
        "reached": True, "rating": rating, "satisfied": rating in (1, 2), "resolved": rating != 3,
        "note": f"电话回访按键：{rating}",
    })
    return RECORDED
