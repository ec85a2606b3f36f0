"""The voice side of 回访: a call whose TwiML asks for 1/2/3, and the key the caller presses.

`send_survey_call` (job `tasks.voice_survey`) queues the call in the outbox for a ticket
waiting for its callback; `/twilio/voice/survey` hands the key to `record_key`, which
records the callback as the system would a seat's (`record_callback`).
"""

from sqlalchemy import select

from hotline import callbacks
from hotline.channels import twiml
from hotline.extensions import db
from hotline.outbox import Channel, OutboxMessage, queue_message

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
    from hotline.tickets.models import Ticket, TicketState
    from hotline.tickets.service import record_event

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


def record_key(ticket_id: int, cycle: int, digits: str) -> str:
    """The key pressed on a survey call: recorded, ignored (answered already) or invalid."""
    from hotline.tickets.models import Ticket, TicketState
    from hotline.tickets.service import perform_as_system

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
