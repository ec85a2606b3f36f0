"""Courteous and correct automatic texts (issue 17 items 6-7): quiet hours for surveys,
Twilio's permanent refusals, and citizens who opt out (退订) and back in (订阅)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rq import Queue

from hotline import tasks
from hotline.channels.models import InboundSms
from hotline.outbox import OutboxMessage
from hotline.redis import connection
from hotline.tickets.models import Ticket
from tests.twilio_fakes import CALLER, rows, run, sms_params

SH = ZoneInfo("Asia/Shanghai")


def approved(api, phone: str = CALLER) -> dict:
    ticket = api.create(caller={"phone": phone, "name": "李四", "is_minor": False})
    api.act(ticket["id"], "submit", "seat1")
    api.act(ticket["id"], "dispatch", "dispatcher1", {"unit": "gulou", "co_units": []})
    api.act(ticket["id"], "acknowledge", "handler-gulou")
    api.act(ticket["id"], "reply", "handler-gulou", {"result": "已修复", "resolved": True})
    return api.act(ticket["id"], "approve_reply", "dispatcher1", {"note": "同意"})


def surveys(app, tid: int) -> list[OutboxMessage]:
    return rows(app, OutboxMessage, OutboxMessage.ticket_id == tid,
                OutboxMessage.purpose == "callback_survey")


# --- quiet hours ------------------------------------------------------------------------------

def test_a_survey_due_at_night_waits_for_eight_in_the_morning(app, api, sending_twilio):
    night = datetime(2026, 11, 23, 22, 30, tzinfo=SH)
    with time_machine.travel(night, tick=False):
        tid = approved(api)["id"]
        assert run(app, tasks.callback_survey, tid, 0, 1) is True
        [survey] = surveys(app, tid)
        morning = datetime(2026, 11, 24, 8, 0, tzinfo=SH)
        assert survey.send_after == morning
        assert run(app, tasks.deliver_message, survey.id) == "queued"      # not at night
        event = [e for e in api.events(tid) if e["action"] == "callback_survey"][-1]
        assert datetime.fromisoformat(event["data"]["scheduled_for"]) == morning
        with app.app_context():
            registry = Queue("default", connection=connection()).scheduled_job_registry
            followup = registry.get_scheduled_time(f"callback-followup-{tid}-0-1")
            delivery = registry.get_scheduled_time(f"deliver-{survey.id}")
        assert delivery == morning
        assert followup == datetime(2026, 11, 24, 12, 0, tzinfo=SH)      # spacing counted from 08:00
    assert sending_twilio.requests == []
    with time_machine.travel(datetime(2026, 11, 24, 8, 0, 5, tzinfo=SH), tick=False):
        assert run(app, tasks.deliver_message, survey.id) == "sent"
    assert len(sending_twilio.requests) == 1


def test_the_lost_job_sweep_does_not_count_a_waiting_survey_as_silence(app, api):
    from hotline import callbacks

    with time_machine.travel(datetime(2026, 11, 23, 22, 30, tzinfo=SH), tick=False):
        tid = approved(api)["id"]
        run(app, tasks.callback_survey, tid, 0, 1)
    with time_machine.travel(datetime(2026, 11, 24, 3, 0, tzinfo=SH), tick=False), app.app_context():
        connection().flushdb()                       # every job lost
        assert callbacks.requeue_lost() == 0         # 4h after 22:30, but the survey waits for 08:00
    with time_machine.travel(datetime(2026, 11, 24, 12, 5, tzinfo=SH), tick=False), app.app_context():
        assert callbacks.requeue_lost() == 1


@pytest.mark.parametrize("quiet, at, waits_until", [
    ("20:00-09:30", (2026, 11, 23, 20, 15), datetime(2026, 11, 24, 9, 30, tzinfo=SH)),
    ("00:00-00:00", (2026, 11, 23, 23, 15), None),          # zero length: no quiet hours
])
def test_quiet_hours_are_configurable(app, api, monkeypatch, quiet, at, waits_until):
    monkeypatch.setitem(app.config, "HOTLINE_QUIET_HOURS", quiet)
    with time_machine.travel(datetime(*at, tzinfo=SH), tick=False):
        tid = approved(api)["id"]
        run(app, tasks.callback_survey, tid, 0, 1)
    [survey] = surveys(app, tid)
    assert survey.send_after == waits_until


def test_a_survey_by_day_goes_at_once(app, api):
    tid = approved(api)["id"]
    run(app, tasks.callback_survey, tid, 0, 1)
    [survey] = surveys(app, tid)
    assert survey.send_after is None


def test_the_seats_safe_times_move_a_survey_into_them(app, api):
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=SH), tick=False):
        tid = approved(api)["id"]
        api.client.patch(f"/api/v1/tickets/{tid}/contact", headers=api.headers("seat1"),
                         json={"safe_times": "放学后 16:30-18:00"})
        run(app, tasks.callback_survey, tid, 0, 1)
    [survey] = surveys(app, tid)
    assert survey.send_after == datetime(2026, 11, 23, 16, 30, tzinfo=SH)


# --- Twilio's permanent refusals -----------------------------------------------------------

@pytest.mark.parametrize("code", [21610, 21211, 21614])
def test_a_survey_twilio_refuses_for_good_closes_as_unreachable_at_once(app, api, sending_twilio, code):
    tid = approved(api)["id"]
    run(app, tasks.callback_survey, tid, 0, 1)
    [survey] = surveys(app, tid)
    sending_twilio.script.append((400, {"code": code, "message": "refused", "status": 400}))
    assert run(app, tasks.deliver_message, survey.id) == "failed"
    closed = api.ticket(tid)
    assert (closed["state"], closed["resolution"]) == ("closed", "unreachable")
    assert closed["callback"]["attempts"] == 1 and closed["callback"]["reached"] is False
    assert run(app, tasks.callback_followup, tid, 0, 1) is False     # no silence counted after
    assert (closed["contact"]["opted_out"]) is (code == 21610)


def test_a_refusal_reported_by_a_status_callback_counts_too(app, api, sending_twilio, twilio):
    tid = approved(api)["id"]
    run(app, tasks.callback_survey, tid, 0, 1)
    [survey] = surveys(app, tid)
    assert run(app, tasks.deliver_message, survey.id) == "sent"
    [survey] = surveys(app, tid)
    response = twilio.status(survey.provider_sid, "undelivered", ErrorCode="21614",
                             ErrorMessage="To number is not a mobile number")
    assert response.status_code == 200
    assert api.ticket(tid)["resolution"] == "unreachable"


def test_a_passing_failure_is_still_silence(app, api, sending_twilio, twilio):
    tid = approved(api)["id"]
    run(app, tasks.callback_survey, tid, 0, 1)
    [survey] = surveys(app, tid)
    run(app, tasks.deliver_message, survey.id)
    [survey] = surveys(app, tid)
    twilio.status(survey.provider_sid, "undelivered", ErrorCode="30003", ErrorMessage="Unreachable handset")
    assert api.ticket(tid)["state"] == "callback_pending"


# --- opt-out and opt-in ----------------------------------------------------------------------

def texted(app, twilio, body: str, caller: str = CALLER) -> InboundSms:
    params = sms_params(body, caller)
    assert twilio.post("/twilio/sms", params).status_code == 200
    [sms] = rows(app, InboundSms, InboundSms.message_sid == params["MessageSid"])
    run(app, tasks.process_inbound_sms, sms.id)
    [sms] = rows(app, InboundSms, InboundSms.id == sms.id)
    return sms


@pytest.mark.parametrize("word", ["退订", "TD", " t ", "Stop", "UNSUBSCRIBE", "取消订阅", "退订。"])
def test_an_opt_out_text_opens_no_ticket_and_stops_automatic_texts(app, api, twilio, word):
    sms = texted(app, twilio, word)
    assert (sms.outcome.value, sms.ticket_id) == ("opted_out", None)
    assert rows(app, Ticket) == [] and rows(app, OutboxMessage) == []
    ticket = api.create(caller={"phone": "13912345678", "name": "李四", "is_minor": False})
    assert ticket["contact"]["opted_out"] is True and ticket["contact"]["safe_to_text"] is False
    tid = approved(api, phone="139 1234 5678")["id"]
    assert run(app, tasks.callback_survey, tid, 0, 1) is True
    assert surveys(app, tid) == []
    assert "callback_seat_task" in api.actions_logged(tid)


def test_a_text_that_only_mentions_unsubscribing_is_a_ticket(app, twilio):
    sms = texted(app, twilio, "怎么退订物业的短信")
    assert sms.outcome.value == "ticket"


def test_texting_start_opts_back_in(app, api, twilio):
    texted(app, twilio, "STOP")
    assert texted(app, twilio, "订阅").outcome.value == "opted_in"
    tid = approved(api)["id"]
    run(app, tasks.callback_survey, tid, 0, 1)
    assert len(surveys(app, tid)) == 1
    assert api.ticket(tid)["contact"]["opted_out"] is False


def test_an_opted_out_number_gets_no_receipt_for_its_next_text(app, twilio):
    texted(app, twilio, "TD")
    sms = texted(app, twilio, "我想咨询居住证办理")
    assert sms.outcome.value == "ticket"
    assert rows(app, OutboxMessage, OutboxMessage.to_number == CALLER) == []


def test_stop_from_a_withheld_number_opts_nobody_out(app, twilio):
    from hotline.contact_safety import TextOptOut
    from hotline.extensions import db

    sms = texted(app, twilio, "STOP", caller="anonymous")
    assert sms.outcome.value != "opted_out"
    with app.app_context():
        assert db.session.query(TextOptOut).count() == 0
