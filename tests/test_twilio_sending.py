"""Outbound SMS and survey calls through the real twilio SDK, pointed (TWILIO_API_BASE_URL)
at a fake Twilio API on a loopback port: the exact requests Twilio would receive, at most
once each, failures handled as Twilio's answers say; then the status callbacks."""

import base64
import xml.etree.ElementTree as ET

import pytest

from hotline import tasks
from hotline.channels.models import InboundSms, StatusEvent
from hotline.outbox import MessageStatus, OutboxMessage
from tests.twilio_fakes import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER,
    HOTLINE_NUMBER,
    drain,
    rows,
    run,
    sid,
    sms_params,
    twiml,
)

PUBLIC = "https://rexian.example.gov.cn"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
CALLS_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"


@pytest.fixture
def live(app, monkeypatch, fake_twilio, twilio):
    """Credentials configured and the SDK's HTTP client pointed at the fake."""
    for key, value in {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                       "TWILIO_FROM_NUMBER": HOTLINE_NUMBER, "TWILIO_API_BASE_URL": fake_twilio.url,
                       "PUBLIC_BASE_URL": PUBLIC}.items():
        monkeypatch.setitem(app.config, key, value)
    twilio.base = PUBLIC          # Twilio signs the public URL from now on
    return fake_twilio


def message(app, message_id: int) -> OutboxMessage:
    [row] = rows(app, OutboxMessage, OutboxMessage.id == message_id)
    return row


def receipt_for(app, twilio, body: str) -> OutboxMessage:
    """A citizen texts in; the job opens a ticket and queues the receipt (not yet sent)."""
    params = sms_params(body)
    assert twilio.post("/twilio/sms", params).status_code == 200
    [sms] = rows(app, InboundSms, InboundSms.message_sid == params["MessageSid"])
    run(app, tasks.process_inbound_sms, sms.id)
    [reply] = rows(app, OutboxMessage, OutboxMessage.to_number == CALLER)
    return reply


def test_the_receipt_reaches_twilio_exactly_as_the_sdk_sends_it(app, live, twilio):
    reply = receipt_for(app, twilio, "我想咨询居住证办理")
    assert run(app, tasks.deliver_message, reply.id) == "sent"
    [request] = live.requests
    assert (request.method, request.path) == ("POST", MESSAGES_PATH)
    assert request.form == {"To": CALLER, "From": HOTLINE_NUMBER, "Body": reply.body,
                            "StatusCallback": f"{PUBLIC}/twilio/status"}
    expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    sent = message(app, reply.id)
    assert sent.status == MessageStatus.SENT and sent.provider_sid.startswith("SM")
    assert sent.sent_at is not None and sent.attempts == 1
    # A retried or duplicated job never sends it again.
    assert run(app, tasks.deliver_message, reply.id) == "sent"
    assert len(live.requests) == 1


def test_a_job_that_crashed_after_claiming_never_sends_twice(app, live, twilio):
    """The claim (sending) is committed before Twilio is called: a rerun leaves it alone."""
    from hotline import outbox
    from hotline.extensions import db

    reply = receipt_for(app, twilio, "咨询社保转移")
    with app.app_context():
        assert outbox.claim(reply.id) is not None
        db.session.commit()                       # ... and the worker died here
    assert run(app, tasks.deliver_message, reply.id) == "sending"
    assert live.requests == []


def test_a_4xx_from_twilio_fails_the_message_for_good(app, live, twilio):
    live.script.append((400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                              "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}))
    reply = receipt_for(app, twilio, "咨询户口迁移")
    assert run(app, tasks.deliver_message, reply.id) == "failed"
    failed = message(app, reply.id)
    assert failed.status == MessageStatus.FAILED and "21211" in failed.status_detail
    assert run(app, tasks.deliver_message, reply.id) == "failed"
    assert len(live.requests) == 1


def test_a_5xx_from_twilio_leaves_the_message_queued_for_the_retry(app, live, twilio):
    live.script.append((503, {"code": 20503, "message": "Service Unavailable", "status": 503}))
    reply = receipt_for(app, twilio, "咨询医保报销")
    with pytest.raises(Exception, match="503"):
        run(app, tasks.deliver_message, reply.id)            # RQ retries it (SEND_RETRY)
    waiting = message(app, reply.id)
    assert waiting.status == MessageStatus.QUEUED and waiting.status_detail.startswith("retrying")
    assert run(app, tasks.deliver_message, reply.id) == "sent"
    assert len(live.requests) == 2
    assert message(app, reply.id).attempts == 2


def test_a_429_from_twilio_is_retried_too(app, live, twilio):
    live.script.append((429, {"code": 20429, "message": "Too Many Requests", "status": 429}))
    reply = receipt_for(app, twilio, "咨询公租房")
    with pytest.raises(Exception, match="429"):
        run(app, tasks.deliver_message, reply.id)
    assert message(app, reply.id).status == MessageStatus.QUEUED


def test_twilio_unreachable_leaves_the_message_queued(app, live, twilio, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_API_BASE_URL", "http://127.0.0.1:9")   # nothing listens
    reply = receipt_for(app, twilio, "咨询电动车上牌")
    with pytest.raises(Exception, match="(?i)connect"):
        run(app, tasks.deliver_message, reply.id)
    assert message(app, reply.id).status == MessageStatus.QUEUED
    monkeypatch.setitem(app.config, "TWILIO_API_BASE_URL", live.url)
    assert run(app, tasks.deliver_message, reply.id) == "sent"


def test_no_answer_in_time_is_an_unknown_outcome_and_never_resent(app, live, twilio, monkeypatch):
    """Twilio got the request but did not answer in time: it may have sent the SMS."""
    monkeypatch.setitem(app.config, "TWILIO_HTTP_TIMEOUT", "0.5")
    live.script.append((201, {"sid": sid("SM"), "status": "queued"}, 1.5))
    reply = receipt_for(app, twilio, "咨询出入境")
    assert run(app, tasks.deliver_message, reply.id) == "failed"
    unknown = message(app, reply.id)
    assert "outcome unknown" in unknown.status_detail
    assert run(app, tasks.deliver_message, reply.id) == "failed"
    assert len(live.requests) == 1


def test_the_worker_sends_the_receipt_after_the_text_is_processed(app, live, twilio):
    params = sms_params("你好，想问一下新生儿落户")
    twilio.post("/twilio/sms", params)
    drain(app)              # the SMS job, then the delivery job it queued
    [request] = live.requests
    assert request.path == MESSAGES_PATH and request.form["To"] == CALLER
    assert "工单号 12345-" in request.form["Body"]


def test_delivery_reports_only_move_forward(app, live, twilio):
    reply = receipt_for(app, twilio, "咨询不动产登记")
    run(app, tasks.deliver_message, reply.id)
    provider_sid = message(app, reply.id).provider_sid
    for value in ["delivered", "sent", "queued", "delivered", "sent"]:
        assert twilio.status(provider_sid, value).status_code == 200
    assert message(app, reply.id).status == MessageStatus.DELIVERED
    stored = rows(app, StatusEvent, StatusEvent.sid == provider_sid)
    assert sorted(event.status for event in stored) == ["delivered", "queued", "sent"]


def test_an_undelivered_report_keeps_twilios_error(app, live, twilio):
    reply = receipt_for(app, twilio, "咨询驾照换证")
    run(app, tasks.deliver_message, reply.id)
    provider_sid = message(app, reply.id).provider_sid
    twilio.status(provider_sid, "undelivered", ErrorCode="30003", ErrorMessage="Unreachable handset")
    twilio.status(provider_sid, "delivered")          # late and contradictory: ignored
    kept = message(app, reply.id)
    assert kept.status == MessageStatus.UNDELIVERED and "30003" in kept.status_detail


def test_a_report_that_beats_the_sending_job_is_applied_later(app, live, twilio):
    """Twilio can report `delivered` before the job that sent the message committed its Sid."""
    from rq.registry import ScheduledJobRegistry

    from hotline.extensions import db
    from hotline.redis import connection

    reply = receipt_for(app, twilio, "咨询护照办理")
    early_sid = sid("SM")
    assert twilio.status(early_sid, "delivered").status_code == 200
    with app.app_context():
        scheduled = ScheduledJobRegistry(queue=tasks.queue(), connection=connection()).get_job_ids()
        assert f"status-{early_sid}" in scheduled
    with pytest.raises(LookupError):
        run(app, tasks.reapply_status, early_sid)       # still unknown: RQ retries later
    with app.app_context():                             # the sending job commits the Sid
        row = db.session.get(OutboxMessage, reply.id)
        row.provider_sid, row.status = early_sid, MessageStatus.SENT
        db.session.commit()
    assert run(app, tasks.reapply_status, early_sid) is True
    assert message(app, reply.id).status == MessageStatus.DELIVERED


def test_the_voice_survey_calls_with_a_gather_and_records_the_key(app, api, live, twilio):
    tid = api.callback_pending(unit="gulou")["id"]
    ticket = api.ticket(tid)
    assert run(app, tasks.voice_survey, tid, 0, 1) is True
    assert run(app, tasks.voice_survey, tid, 0, 1) is True              # same key: queued once
    [call] = [m for m in rows(app, OutboxMessage) if m.purpose == "callback_voice_survey"]
    assert run(app, tasks.deliver_message, call.id) == "sent"
    [request] = live.requests
    assert request.path == CALLS_PATH
    assert (request.form["To"], request.form["From"]) == (ticket["caller"]["phone"], HOTLINE_NUMBER)
    assert request.form["StatusCallback"] == f"{PUBLIC}/twilio/status"
    action = f"{PUBLIC}/twilio/voice/survey?ticket={tid}&cycle=0&attempt=1"
    gather = ET.fromstring(request.form["Twiml"]).find("Gather")
    assert gather.get("numDigits") == "1" and gather.get("action") == action
    assert "满意请按1" in gather.find("Say").text
    assert (gather.find("Say").get("voice"), gather.find("Say").get("language")) == ("Polly.Zhiyu", "cmn-CN")

    # The citizen presses 3; Twilio posts the key to the action URL, signed.
    path = action.removeprefix(PUBLIC)
    params = {"CallSid": message(app, call.id).provider_sid, "Digits": "3",
              "From": HOTLINE_NUMBER, "To": ticket["caller"]["phone"]}
    thanks = twiml(twilio.post(path, params))
    assert "感谢" in thanks.find("Say").text
    drain(app)                                            # the stored key is applied by its job
    after = api.ticket(tid)
    assert (after["state"], after["callback"]["rating"], after["callback"]["satisfied"]) == (
        "in_progress", 3, False)                         # 不满意: back for 重办
    events = api.actions_logged(tid)
    # Twilio retries the same request: nothing more is recorded.
    twiml(twilio.post(path, params))
    drain(app)
    assert api.actions_logged(tid) == events
    # The call's own status reports reach the outbox row.
    twilio.status(params["CallSid"], "completed", kind="call")
    assert message(app, call.id).status == MessageStatus.DELIVERED


def test_a_wrong_key_on_the_survey_asks_once_more(app, api, live, twilio):
    tid = api.callback_pending(unit="gulou")["id"]
    run(app, tasks.voice_survey, tid, 0, 1)
    path = f"/twilio/voice/survey?ticket={tid}&cycle=0&attempt=1"
    again = twiml(twilio.post(path, {"CallSid": sid("CA"), "Digits": "7"}))
    gather = again.find("Gather")
    assert gather.get("action").endswith(f"ticket={tid}&cycle=0&attempt=2")
    assert gather.find("Say").text.startswith("您的输入有误")
    bye = twiml(twilio.post(f"/twilio/voice/survey?ticket={tid}&cycle=0&attempt=2",
                            {"CallSid": sid("CA"), "Digits": ""}))
    assert "未收到" in bye.find("Say").text
    assert api.ticket(tid)["state"] == "callback_pending"


def test_no_voice_survey_for_a_ticket_that_no_longer_waits(app, api, live):
    ticket = api.create()
    assert run(app, tasks.voice_survey, ticket["id"], 0, 1) is False
    assert rows(app, OutboxMessage) == []


def test_without_credentials_nothing_is_sent_and_the_outbox_says_why(app, api, twilio):
    tid = api.callback_pending(unit="gulou")["id"]
    run(app, tasks.voice_survey, tid, 0, 1)
    [call] = rows(app, OutboxMessage)
    assert run(app, tasks.deliver_message, call.id) == "not_sent"
    assert message(app, call.id).status_detail == "no credentials"
