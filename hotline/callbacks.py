"""回访: after a reply is approved the caller gets an SMS survey; the answer closes the
ticket or sends it back for 重办; silence counts as a failed attempt, and after the
last attempt the ticket closes as unreachable (docs/design.md §3-4).

Seats record phone callbacks with the `record_callback` action; this module does
the automated side: the survey, the caller's SMS answer, and the follow-ups.

The survey never carries case details (only the ticket number and how to answer), keeps
quiet hours, and is not sent at all where contact safety says no (`hotline.contact_safety`):
the callback is then a seat's call task (`callback_seat_task`), the ticket waits in the
callback list for the seat's `record_callback`, and no silence is counted.

Depends on: the ticket services, models and event log (it acts on tickets as the service
itself), the clocks, the outbox, contact safety, stored texts and keys, and the job helper.
The tickets do not import it: an approved reply reaches it as `signals.action_performed`
(`reply_approved`), a survey Twilio refused as `signals.message_refused` (`refused`).
"""

import logging
import re
from datetime import datetime, timedelta

from rq.job import Job
from sqlalchemy import and_, case, exists, func, or_, select

from hotline import contact_safety, tasks
from hotline.channels.models import InboundSms, SurveyKey
from hotline.clocks import service as clocks
from hotline.extensions import db
from hotline.outbox import Channel, OutboxMessage, queue_message
from hotline.redis import connection
from hotline.tickets.events import record_event
from hotline.tickets.models import Event, Ticket, TicketState
from hotline.tickets.service import perform_as_system
from hotline.types import utcnow

# The ticket number and how to answer: nothing of the matter or of the unit's reply.
SURVEY = ("【12345】您的工单 {number} 已办结，请回复数字评价：1满意 2基本满意 3不满意；"
          "如问题仍未解决，请同时回复“未解决”。")
SEAT_TASK = "callback_seat_task"
RATINGS = {"1": 1, "2": 2, "3": 3, "基本满意": 2, "不满意": 3, "满意": 1}
# A survey or follow-up job not run this long after it was due was lost with Redis.
STUCK_AFTER = timedelta(minutes=2)

log = logging.getLogger(__name__)


def reply_approved(_action: str, *, ticket, **_kwargs) -> None:
    """Receives `signals.action_performed` for `approve_reply`: the survey starts."""
    start(ticket)


def refused(_purpose: str, *, message: OutboxMessage, code: int) -> None:
    """Receives `signals.message_refused`: a survey refused for good closes the callback."""
    if message.purpose in contact_safety.SURVEY_PURPOSES and message.ticket_id:
        unreachable_now(message.ticket_id, message.key, code)


def start(ticket) -> None:
    """A reply was approved: text the survey once the approval is committed."""
    cycle = ticket.rework_count
    tasks.after_commit(tasks.callback_survey, ticket.id, cycle, 1,
                       job_id=f"callback-{ticket.id}-{cycle}-1")


def send_survey(ticket_id: int, cycle: int, attempt: int) -> bool:
    """Queue survey `attempt` and the follow-up that counts it as failed if unanswered."""
    ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    if not _waiting(ticket, cycle, attempt) or _surveyed(ticket, cycle, attempt):
        return False
    send_at = utcnow()
    if ticket.caller_phone:
        if seat_task_instead(ticket, cycle, attempt, "callback_survey"):
            return True
        message = queue_message(f"callback-survey-{ticket.id}-{cycle}-{attempt}", Channel.SMS,
                                ticket.caller_phone, SURVEY.format(number=ticket.number),
                                purpose="callback_survey", ticket=ticket)
        send_at = (message.send_after if message is not None else None) or send_at
    data: dict[str, object] = {"cycle": cycle, "attempt": attempt, "sms": bool(ticket.caller_phone)}
    if send_at > utcnow():
        data["scheduled_for"] = send_at.isoformat()
    record_event(ticket, None, "callback_survey", ticket.state, ticket.state, data)
    spacing = clocks.time_limits().callback_spacing
    tasks.after_commit(tasks.callback_followup, ticket.id, cycle, attempt,
                       at=clocks.deadline(send_at, spacing),
                       job_id=f"callback-followup-{ticket.id}-{cycle}-{attempt}")
    return True


def seat_task_instead(ticket, cycle: int, attempt: int, purpose: str) -> bool:
    """Not safe to text or call automatically (or opted out): the callback becomes a seat's
    call task (recorded), no survey goes and silence is never counted. False when it may go."""
    verdict = contact_safety.check(ticket, ticket.caller_phone, purpose)
    if verdict.allowed:
        return False
    record_event(ticket, None, SEAT_TASK, ticket.state, ticket.state,
                 {"cycle": cycle, "attempt": attempt, "safety": verdict.reason, "note": verdict.message})
    return True


def unreachable_now(ticket_id: int, message_key: str, code: int) -> bool:
    """Twilio refused the survey for good: the callback closes as unreachable at once,
    if the ticket still waits for this cycle's callback (not after waiting out silence)."""
    match = re.fullmatch(r"callback-(?:survey|voice)-(\d+)-(\d+)-(\d+)", message_key or "")
    ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    if (match is None or ticket is None or ticket.state != TicketState.CALLBACK_PENDING
            or ticket.rework_count != int(match.group(2))):
        return False
    perform_as_system(ticket.id, "callback_unreachable", {
        "note": f"回访短信/电话被运营商拒绝（Twilio {code}），号码无法接收 "
                f"(Twilio refused the survey for good: {code})", "twilio_error": code})
    return True


def follow_up(ticket_id: int, cycle: int, attempt: int) -> bool:
    """Survey `attempt` went unanswered: a failed attempt; then the next one, or closed."""
    ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    if not _waiting(ticket, cycle, attempt):
        return False       # answered meanwhile, or a seat recorded the attempt: nothing to do
    if answer_pending(ticket, cycle):
        # The caller answered but the answer is not applied yet (its job waits or failed):
        # not silence. The sweep asks again later (`requeue_lost`), by when it may be applied.
        log.info("ticket %s: a survey answer waits to be applied; not counted as silence", ticket.id)
        return False
    ticket = perform_as_system(ticket.id, "record_callback", {
        "reached": False, "note": f"短信回访第 {attempt} 次无应答 (no answer to survey {attempt})"})
    if ticket.state == TicketState.CALLBACK_PENDING:
        tasks.after_commit(tasks.callback_survey, ticket.id, cycle, attempt + 1,
                           job_id=f"callback-{ticket.id}-{cycle}-{attempt + 1}")
    return True


def requeue_lost(now: datetime | None = None, batch: int = 500) -> int:
    """Enqueue again the surveys and follow-ups whose job Redis lost; the sweep calls this.

    A reply approved while Redis was down (or a flushed Redis) would otherwise never get
    its first survey, nor a sent survey its follow-up (which asks for the next one). Both
    jobs are idempotent and keyed by (ticket, cycle, attempt); one that still exists in
    Redis (waiting, scheduled, failed) is left alone, as `sms.requeue_unprocessed` does.
    """

    now = now or utcnow()
    requeued, last_id = 0, 0
    try:
        while True:
            candidates = _maybe_lost(now, last_id, batch)
            if not candidates:
                break
            last_id = candidates[-1].id
            for func, job_id, args in _lost_jobs(candidates, now):
                if not Job.exists(job_id, connection=connection()):
                    tasks.enqueue(func, *args, job_id=job_id)
                    requeued += 1
    except Exception as exc:
        log.warning("could not requeue callback surveys: %s", exc)
    return requeued


def _maybe_lost(now: datetime, after_id: int, batch: int) -> list:
    """Tickets waiting for a callback whose survey never went out since the approval, or
    whose last survey is older than the spacing (its follow-up should have run): in SQL, so
    the sweep does not walk every waiting ticket each minute."""

    spacing = clocks.time_limits().callback_spacing
    shortest = timedelta(days=spacing.amount) if spacing.working_days else spacing.as_timedelta()
    stuck = now - STUCK_AFTER
    waiting = select(Ticket.id).where(Ticket.state == TicketState.CALLBACK_PENDING, Ticket.id > after_id)
    last = (select(Event.ticket_id,
                   func.max(case((Event.action == "approve_reply", Event.at))).label("approved"),
                   func.max(case((Event.action == "callback_survey", Event.at))).label("surveyed"),
                   func.max(case((Event.action == SEAT_TASK, Event.at))).label("tasked"))
            .where(Event.ticket_id.in_(waiting),
                   Event.action.in_(["approve_reply", "callback_survey", SEAT_TASK]))
            .group_by(Event.ticket_id).subquery())
    return db.session.execute(
        select(Ticket.id, Ticket.rework_count, Ticket.callback_attempts, last.c.approved)
        .join(last, last.c.ticket_id == Ticket.id)
        .where(Ticket.state == TicketState.CALLBACK_PENDING,
               or_(last.c.tasked.is_(None), last.c.tasked < last.c.approved), or_(
            and_(Ticket.callback_attempts == 0, last.c.approved <= stuck,
                 or_(last.c.surveyed.is_(None), last.c.surveyed < last.c.approved)),
            and_(last.c.surveyed >= last.c.approved, last.c.surveyed <= stuck - shortest)))
        .order_by(Ticket.id).limit(batch)).all()


def _lost_jobs(candidates, now: datetime):
    """The survey or follow-up each candidate should have had by now (job, id, args)."""
    surveys = {(ticket_id, data.get("cycle"), data.get("attempt")): _scheduled(data, at)
               for ticket_id, data, at in db.session.execute(
                   select(Event.ticket_id, Event.data, Event.at).where(
                       Event.ticket_id.in_([row.id for row in candidates]),
                       Event.action == "callback_survey"))}
    spacing = clocks.time_limits().callback_spacing
    for ticket_id, cycle, attempts, approved in candidates:
        attempt = attempts + 1
        sent_at = surveys.get((ticket_id, cycle, attempt))
        if sent_at is not None:
            if clocks.deadline(sent_at, spacing) <= now - STUCK_AFTER:
                yield (tasks.callback_followup, f"callback-followup-{ticket_id}-{cycle}-{attempt}",
                       (ticket_id, cycle, attempt))
        elif attempts == 0 and approved is not None and approved <= now - STUCK_AFTER:
            # The first survey after approval (later ones are asked for by the follow-up).
            yield tasks.callback_survey, f"callback-{ticket_id}-{cycle}-1", (ticket_id, cycle, 1)


def _scheduled(data: dict, at: datetime) -> datetime:
    """When a survey went (or goes) out: its event's time, or the morning it waits for."""
    scheduled = data.get("scheduled_for")
    return datetime.fromisoformat(scheduled) if scheduled else at


def parse_answer(text: str) -> tuple[int, bool] | None:
    """(rating, resolved) from a survey answer like "1", "2 已解决", "3未解决", "不满意"."""
    cleaned = re.sub(r"\s+", "", text or "")
    rating = None
    match = re.search(r"[123]", cleaned)
    if match:
        rating = RATINGS[match.group(0)]
    else:
        for word in ("基本满意", "不满意", "满意"):
            if word in cleaned:
                rating = RATINGS[word]
                break
    if rating is None:
        return None
    resolved = "未解决" not in cleaned and "没解决" not in cleaned and rating != 3
    return rating, resolved


def open_survey_for(phone: str):
    """The caller's ticket waiting for a survey answer (newest), if any."""
    stmt = (select(Ticket)
            .where(Ticket.caller_phone == phone, Ticket.state == TicketState.CALLBACK_PENDING)
            .order_by(Ticket.id.desc()).limit(1))
    return db.session.scalar(stmt)


def record_answer(phone: str, text: str):
    """A caller answered the survey by SMS: record it; None when it is not a survey answer."""
    ticket = open_survey_for(phone)
    parsed = parse_answer(text)
    if ticket is None or parsed is None:
        return None
    rating, resolved = parsed
    return perform_as_system(ticket.id, "record_callback", {
        "reached": True, "rating": rating, "satisfied": rating in (1, 2), "resolved": resolved,
        "note": f"短信回复：{text.strip()[:200]}",
    })


def answer_pending(ticket, cycle: int) -> bool:
    """A text from the caller or a key on the survey call arrived and is not processed yet."""
    key = exists().where(SurveyKey.ticket_id == ticket.id, SurveyKey.cycle == cycle,
                         SurveyKey.processed_at.is_(None))
    if db.session.scalar(select(key)):
        return True
    if not ticket.caller_phone:
        return False
    text = exists().where(InboundSms.from_number == ticket.caller_phone, InboundSms.processed_at.is_(None))
    return bool(db.session.scalar(select(text)))


def _surveyed(ticket, cycle: int, attempt: int) -> bool:
    """Survey `attempt` of `cycle` went out already (a duplicate or retried job)."""
    sent = db.session.scalars(select(Event.data).where(
        Event.ticket_id == ticket.id, Event.action == "callback_survey"))
    return any(data.get("cycle") == cycle and data.get("attempt") == attempt for data in sent)


def _waiting(ticket, cycle: int, attempt: int) -> bool:
    return (ticket is not None and ticket.state == TicketState.CALLBACK_PENDING
            and ticket.rework_count == cycle and ticket.callback_attempts == attempt - 1)


def seat_call_tasks(ticket_ids: list[int]) -> dict[int, str]:
    """Of these tickets, those whose callback is a seat's call (no survey since the last
    approval), with the reason: {ticket id: reason code}."""
    if not ticket_ids:
        return {}
    events = db.session.execute(
        select(Event.ticket_id, Event.action, Event.data).where(
            Event.ticket_id.in_(ticket_ids), Event.action.in_(["approve_reply", SEAT_TASK]))
        .order_by(Event.ticket_id, Event.seq)).all()
    tasks: dict[int, str] = {}
    for ticket_id, action, data in events:
        if action == "approve_reply":
            tasks.pop(ticket_id, None)
        else:
            tasks[ticket_id] = (data or {}).get("safety", "")
    return tasks
