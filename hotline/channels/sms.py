"""Texts from citizens: recorded by the webhook, turned into something by an RQ job.

The webhook only records the message (insert-or-ignore on MessageSid) and answers; the
job `tasks.process_inbound_sms` decides, exactly once per message:

1. an answer to an outstanding callback survey (回访) → the rating is recorded;
2. else, any other reply while that survey is outstanding, or a text from a sender with an
   open ticket opened in the last 24 hours → a note on that ticket (crisis words in a note
   put the ticket on the crisis path, as any note's do);
3. else → a new intake ticket (channel sms) on the desk the text or the number's history
   points at, and an SMS with the ticket number.

Every reply goes through the outbox keyed by the MessageSid, so it is sent at most once.

Depends on: the ticket services (intake, notes), callbacks (survey answers), the outbox,
contact safety, crisis words, the stored texts and the job helper.
"""

import logging
from datetime import timedelta

from rq.job import Job
from sqlalchemy import exists, select, update

from hotline import callbacks, contact_safety, crisis, phones, tasks
from hotline.channels import children
from hotline.channels.models import InboundSms, SmsOutcome, insert_or_ignore
from hotline.extensions import db
from hotline.outbox import Channel as OutboxChannel
from hotline.outbox import queue_message
from hotline.redis import connection
from hotline.tickets.models import TERMINAL_STATES, Category, Channel, Desk, Priority, Ticket
from hotline.tickets.service import intake_from_channel, perform_as_system
from hotline.types import utcnow

log = logging.getLogger(__name__)

NOTE_WINDOW = timedelta(hours=24)     # a text within this of an open ticket's intake is a note
STUCK_AFTER = timedelta(minutes=1)    # unprocessed this long: the sweep enqueues it again
SUBJECT_LENGTH = 30

AGE = children.AGE
# The first match wins; anything else is a consultation (咨询).
CATEGORY_WORDS = (
    (Category.REPORT, ("举报",)),
    (Category.COMPLAINT, ("投诉",)),
    (Category.SUGGESTION, ("建议",)),
    (Category.LEGAL, ("法律援助", "律师", "打官司", "起诉")),
    (Category.HELP, ("求助", "求救", "帮帮", "帮忙", "救救")),
)

RECEIPT = ("【12345】您的短信已受理，工单号 {number}。我们将尽快办理并答复您；"
           "补充情况请直接回复本短信。如遇紧急危险请立即拨打110。")
CRISIS_RECEIPT = ("【12345】您的短信已收到，工单号 {number}，工作人员会尽快联系您。"
                  "如有危险请立即拨打110或120；心理援助热线12356。")
NOTE_RECEIPT = "【12345】您补充的情况已记入工单 {number}。"
SURVEY_THANKS = "【12345】感谢您的评价（工单号 {number}）。"
EMPTY_TEXT = "（短信无文字内容）"


MAX_MEDIA = 10          # Twilio sends at most 10 media with one message


def record(message_sid: str, from_number: str, to_number: str, body: str, num_media: int,
           media: list[dict] | None = None) -> int | None:
    """Store an inbound text once; its id when new, None when this Sid was stored already.
    `media`: an MMS's media as the webhook listed them (`media_of`)."""
    now = utcnow()
    return insert_or_ignore(InboundSms, {
        "message_sid": message_sid, "from_number": phones.normalize(from_number) or "",
        "to_number": phones.normalize(to_number) or "",
        "body": body or "", "num_media": num_media, "received_at": now, "media": media or None,
    }, "message_sid")


def media_of(form) -> list[dict]:
    """The media a webhook lists (MediaUrl0, MediaContentType0 ...), as stored on the message."""
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    return [{"url": form.get(f"MediaUrl{i}", ""), "content_type": form.get(f"MediaContentType{i}", "")}
            for i in range(count) if form.get(f"MediaUrl{i}")]


def unprocessed_id(message_sid: str) -> int | None:
    """The id of an already stored text that still waits for its job (a retried webhook)."""
    return db.session.scalar(select(InboundSms.id).where(
        InboundSms.message_sid == message_sid, InboundSms.processed_at.is_(None)))


def process(sms_id: int) -> str | None:
    """Turn one stored text into a survey answer, a note or a ticket; once, whoever runs it.

    The claim is an UPDATE … WHERE processed_at IS NULL, so of two jobs on the same text
    one waits for the other's commit and then finds nothing to do. An error rolls the
    claim back with everything else, and RQ retries.
    """
    now = utcnow()
    claimed = db.session.execute(
        update(InboundSms).where(InboundSms.id == sms_id, InboundSms.processed_at.is_(None))
        .values(processed_at=now)
    ).rowcount
    sms = db.session.get(InboundSms, sms_id, populate_existing=True)
    if not claimed or sms is None:
        return sms.outcome.value if sms is not None and sms.outcome else None
    text = (sms.body or "").strip()
    opted = contact_safety.handle_opt_text(sms.from_number, text)   # 退订 / START: no ticket
    if opted is not None:
        sms.outcome = SmsOutcome(opted)
        return opted

    surveyed = callbacks.open_survey_for(sms.from_number) if sms.from_number else None
    ticket = callbacks.record_answer(sms.from_number, text) if surveyed and text else None
    if ticket is not None:
        outcome, reply = SmsOutcome.SURVEY_ANSWER, SURVEY_THANKS
    elif (ticket := surveyed or recent_open_ticket(sms.from_number, now)) is not None:
        add_note(ticket, sms)
        outcome, reply = SmsOutcome.NOTE, CRISIS_RECEIPT if crisis.detect(text) else NOTE_RECEIPT
    else:
        ticket = open_ticket(sms)
        outcome = SmsOutcome.TICKET
        reply = CRISIS_RECEIPT if ticket.priority == Priority.CRISIS else RECEIPT
    sms.outcome, sms.ticket_id = outcome, ticket.id
    if sms.media:       # an MMS: its pictures and voice into the ticket's attachments
        tasks.after_commit(tasks.fetch_mms_media, sms.id, job_id=f"mms-{sms.id}", retry=tasks.MEDIA_RETRY)
    if sms.from_number:
        queue_message(f"sms-reply-{sms.message_sid}", OutboxChannel.SMS, sms.from_number,
                      reply.format(number=ticket.number), purpose=f"sms_{outcome.value}",
                      ticket=ticket)
    return outcome.value


def recent_open_ticket(phone: str, now) -> Ticket | None:
    if not phone:
        return None
    stmt = (select(Ticket)
            .where(Ticket.caller_phone == phone, Ticket.state.not_in(TERMINAL_STATES),
                   Ticket.created_at >= now - NOTE_WINDOW)
            .order_by(Ticket.id.desc()).limit(1))
    return db.session.scalar(stmt)


def add_note(ticket: Ticket, sms: InboundSms) -> Ticket:
    """The text as a note (the note action itself flags crisis words)."""
    text = (sms.body or "").strip() or EMPTY_TEXT
    return perform_as_system(ticket.id, "add_note", {
        "note": f"来电人短信补充：{text}", "channel": "sms", "message_sid": sms.message_sid})


def open_ticket(sms: InboundSms) -> Ticket:
    text = (sms.body or "").strip()
    age = stated_age(text)
    desk = Desk.CHILDREN if (children.for_children_desk(text, age)
                             or had_children_desk(sms.from_number)) else Desk.GENERAL
    content = text or EMPTY_TEXT
    if sms.num_media:
        content += f"\n（附 {sms.num_media} 个彩信附件，见本工单附件）"
    return intake_from_channel({
        "desk": desk, "channel": Channel.SMS, "category": guess_category(text, desk),
        "priority": Priority.NORMAL, "content": content,
        "subject": "短信：" + _first_line(text or EMPTY_TEXT),
        "caller": {"phone": sms.from_number or None, "name": None,
                   "is_minor": age is not None and age < 18, "age": age},
        "location": {},
    })


def stated_age(text: str) -> int | None:
    """N in "我今年N岁" (digits or Chinese numerals), when plausible."""
    match = AGE.search(text or "")
    if not match:
        return None
    value = match.group(1)
    age = int(value) if value.isdigit() else _chinese_number(value)
    return age if age is not None and 0 < age < 120 else None


def had_children_desk(phone: str) -> bool:
    if not phone:
        return False
    return bool(db.session.scalar(select(exists().where(
        Ticket.caller_phone == phone, Ticket.desk == Desk.CHILDREN))))


def guess_category(text: str, desk: Desk) -> Category:
    for category, words in CATEGORY_WORDS:
        if any(word in text for word in words):
            return category
    signal = crisis.detect(text)
    if signal and desk == Desk.CHILDREN:
        return Category.RIGHTS_VIOLATION if signal.suggests_abuse else Category.PSYCH_SUPPORT
    if signal and "self_harm" in signal.found:
        return Category.PSYCH_SUPPORT
    return Category.CONSULTATION


def requeue_unprocessed(now=None) -> int:
    """Enqueue texts whose job was lost (Redis down or flushed); the sweep calls this.

    A text whose job still exists — waiting, retrying, or failed for good (kept in RQ's
    failed registry, shown to supervisors and retried every few minutes by
    `failed_jobs.retry_due`) — is left alone here.
    """

    now = now or utcnow()
    ids = list(db.session.scalars(select(InboundSms.id).where(
        InboundSms.processed_at.is_(None), InboundSms.received_at <= now - STUCK_AFTER)
        .order_by(InboundSms.id).limit(500)))
    requeued = 0
    try:
        for sms_id in ids:
            if Job.exists(f"sms-{sms_id}", connection=connection()):
                continue
            tasks.enqueue(tasks.process_inbound_sms, sms_id, job_id=f"sms-{sms_id}",
                          retry=tasks.INPUT_RETRY)
            requeued += 1
    except Exception as exc:
        log.warning("could not requeue inbound SMS: %s", exc)
    return requeued


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= SUBJECT_LENGTH else line[:SUBJECT_LENGTH] + "…"


_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _chinese_number(text: str) -> int | None:
    """一 … 九十九: 十三 = 13, 二十 = 20, 二十一 = 21."""
    if "十" not in text:
        return _DIGITS.get(text) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    ten = _DIGITS.get(tens) if tens else 1
    one = _DIGITS.get(ones) if ones else 0
    if ten is None or one is None:
        return None
    return ten * 10 + one
