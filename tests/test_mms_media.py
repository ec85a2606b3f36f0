"""A citizen's MMS (issue 22): its pictures and voice are fetched from Twilio by a job into the
ticket's attachments — authenticated with the account's credentials, size-limited, retried
when Twilio fails, once however often the job runs. Twilio is a fake on loopback."""

import base64
import uuid
from datetime import timedelta

import pytest
import time_machine

from hotline import tasks
from hotline.attachments.mms import Retry
from hotline.attachments.models import Attachment, Source
from hotline.channels.models import InboundSms
from hotline.extensions import db
from hotline.redis import connection
from hotline.types import utcnow
from tests.test_attachments import AMR, GPS, exif_of, photo
from tests.twilio_fakes import ACCOUNT_SID, AUTH_TOKEN, drain, rows, run, sms_params

MEDIA = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{{sid}}/Media/ME{{n}}"


def media_path(message_sid: str) -> str:
    return MEDIA.format(sid=message_sid, n=uuid.uuid4().hex)


def mms(twilio, body: str, *media: tuple[str, str]) -> dict:
    """Twilio posts an MMS listing `media` (path, content type) on Twilio's own host."""
    params = {**sms_params(body), "NumMedia": str(len(media))}
    for index, (path, content_type) in enumerate(media):
        params[f"MediaUrl{index}"] = "https://api.twilio.com" + path
        params[f"MediaContentType{index}"] = content_type
    assert twilio.post("/twilio/sms", params).status_code == 200
    return params


def sms_row(app, message_sid: str) -> InboundSms:
    [row] = rows(app, InboundSms, InboundSms.message_sid == message_sid)
    return row


def attachments_of(app, ticket_id: int) -> list[Attachment]:
    return rows(app, Attachment, Attachment.ticket_id == ticket_id)


@pytest.fixture
def media_twilio(twilio, sending_twilio):
    """Webhooks signed, credentials set, Twilio's API (and its media) on loopback."""
    return twilio, sending_twilio


def test_an_mms_photo_and_voice_note_become_the_tickets_attachments(app, api, media_twilio):
    twilio, fake = media_twilio
    sid = "MM" + uuid.uuid4().hex
    picture, voice = media_path(sid), media_path(sid)
    fake.media[picture] = [(200, "image/jpeg", photo())]
    fake.media[voice] = [(200, "audio/amr", AMR)]
    params = mms(twilio, "小区门口的井盖丢了，很危险", (picture, "image/jpeg"), (voice, "audio/amr"))
    params_sid = params["MessageSid"]
    drain(app)                       # the text's job opens the ticket, then the media job runs

    text = sms_row(app, params_sid)
    ticket = api.ticket(text.ticket_id)
    assert "附 2 个彩信附件，见本工单附件" in ticket["content"]
    stored = attachments_of(app, ticket["id"])
    assert [(a.kind.value, a.source, a.from_caller) for a in stored] == [
        ("image", Source.MMS, True), ("audio", Source.MMS, True)]
    fetched = [r for r in fake.requests if r.method == "GET"]
    assert [r.path for r in fetched] == [picture, voice]
    expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert all(r.headers["Authorization"] == expected for r in fetched)
    photo_bytes = api.get(f"/api/v1/attachments/{stored[0].id}/content", "seat1").data
    assert not exif_of(photo_bytes).get_ifd(GPS)
    assert "attach" in api.actions_logged(ticket["id"])

    assert run(app, tasks.fetch_mms_media, text.id) == 0          # again: nothing new
    assert len(attachments_of(app, ticket["id"])) == 2
    assert len([r for r in fake.requests if r.method == "GET"]) == 2


def test_twilio_failing_is_retried_and_the_second_try_stores_the_photo(app, api, media_twilio):
    twilio, fake = media_twilio
    sid = "MM" + uuid.uuid4().hex
    picture = media_path(sid)
    fake.media[picture] = [(503, "application/json", b"{}"), (200, "image/jpeg", photo())]
    params = mms(twilio, "路面塌陷", (picture, "image/jpeg"))
    with app.app_context():
        text_id = db.session.scalar(db.select(InboundSms.id).filter_by(message_sid=params["MessageSid"]))
    run(app, tasks.process_inbound_sms, text_id)
    with pytest.raises(Retry):
        run(app, tasks.fetch_mms_media, text_id)
    text = sms_row(app, params["MessageSid"])
    assert text.media_fetched_at is None                    # the claim rolled back with the error
    assert attachments_of(app, text.ticket_id) == []
    assert run(app, tasks.fetch_mms_media, text_id) == 1
    assert len(attachments_of(app, text.ticket_id)) == 1


def test_a_medium_over_the_limit_is_noted_on_the_ticket_not_stored(app, api, media_twilio, monkeypatch):
    twilio, fake = media_twilio
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 4096)
    sid = "MM" + uuid.uuid4().hex
    big, small = media_path(sid), media_path(sid)
    fake.media[big] = [(200, "image/jpeg", photo(size=(1600, 1200)))]
    fake.media[small] = [(200, "audio/amr", AMR)]
    params = mms(twilio, "噪音扰民，附录音和照片", (big, "image/jpeg"), (small, "audio/amr"))
    drain(app)
    text = sms_row(app, params["MessageSid"])
    [stored] = attachments_of(app, text.ticket_id)
    assert stored.kind.value == "audio"
    [note] = [e for e in api.events(text.ticket_id) if e["action"] == "attach_refused"]
    assert "彩信附件1未保存" in note["data"]["note"] and "超过 4 KB 的大小上限" in note["data"]["note"]


def test_a_media_url_that_is_not_twilios_is_never_fetched(app, api, media_twilio):
    twilio, fake = media_twilio
    params = {**sms_params("看这个链接"), "NumMedia": "1",
              "MediaUrl0": "http://169.254.169.254/latest/meta-data/", "MediaContentType0": "image/jpeg"}
    assert twilio.post("/twilio/sms", params).status_code == 200
    drain(app)
    text = sms_row(app, params["MessageSid"])
    assert attachments_of(app, text.ticket_id) == []
    assert [r for r in fake.requests if r.method == "GET"] == []
    [note] = [e for e in api.events(text.ticket_id) if e["action"] == "attach_refused"]
    assert "不是本账户的 Twilio 彩信地址" in note["data"]["note"]


def test_a_media_job_that_redis_lost_is_enqueued_again_by_the_sweep(app, api, media_twilio):
    twilio, fake = media_twilio
    picture = media_path("MM" + uuid.uuid4().hex)
    fake.media[picture] = [(200, "image/jpeg", photo())]
    params = mms(twilio, "垃圾堆在路边三天了", (picture, "image/jpeg"))
    with app.app_context():
        text_id = db.session.scalar(db.select(InboundSms.id).filter_by(message_sid=params["MessageSid"]))
    run(app, tasks.process_inbound_sms, text_id)
    with app.app_context():
        connection().flushdb()                     # the media job is lost with Redis's data
    with time_machine.travel(utcnow() + timedelta(minutes=3)), app.app_context():
        assert tasks.sweep()["mms_media"] == 1
        db.session.commit()
    drain(app)
    assert len(attachments_of(app, sms_row(app, params["MessageSid"]).ticket_id)) == 1
