"""Every Twilio webhook checks X-Twilio-Signature as Twilio computes it, before touching the
database; without an auth token they refuse everything; senders are rate-limited."""

import pytest

from hotline.channels.models import Call, InboundSms
from hotline.outbox import OutboxMessage
from tests.helpers import Api
from tests.twilio_fakes import AUTH_TOKEN, CALLER, LOCAL, drain, rows, sid, signature, sms_params, twiml

WEBHOOKS = ["/twilio/voice", "/twilio/voice/gather", "/twilio/voice/connect", "/twilio/voice/after",
            "/twilio/voice/survey", "/twilio/sms", "/twilio/status"]


def test_a_signed_request_is_accepted(app, twilio, statements):
    call_sid = sid("CA")
    response = twilio.call(call_sid)
    assert response.status_code == 200
    assert any("INSERT INTO calls" in statement for statement in statements)  # the listener works
    assert twiml(response).find("Gather") is not None
    assert [c.call_sid for c in rows(app, Call)] == [call_sid]


@pytest.mark.parametrize("case", ["tampered body", "missing header", "wrong url", "extra parameter",
                                  "wrong token", "empty signature"])
def test_a_bad_signature_is_403_before_any_database_work(app, twilio, statements, case):
    params = sms_params("你好，路灯坏了")
    signed_url, signed, sent, headers = LOCAL + "/twilio/sms", dict(params), dict(params), None
    if case == "tampered body":
        sent["Body"] = "你好，路灯修好了"
    elif case == "extra parameter":
        sent["ForwardedFrom"] = "+8613000000000"
    elif case == "wrong url":
        signed_url = "https://elsewhere.example.com/twilio/sms"
    elif case == "missing header":
        headers = {}
    elif case == "empty signature":
        headers = {"X-Twilio-Signature": ""}
    elif case == "wrong token":
        headers = {"X-Twilio-Signature": signature(signed_url, signed, token="another-token")}
    statements.clear()
    if headers is None:
        response = twilio.post("/twilio/sms", sent, signed_url=signed_url, signed_params=signed)
    else:
        response = twilio.client.post("/twilio/sms", data=sent, headers=headers)
    Api.assert_error(response, 403)
    assert statements == []
    assert rows(app, InboundSms) == []


def test_a_signature_for_one_path_does_not_open_another(twilio):
    params = {"CallSid": sid("CA"), "From": CALLER, "Digits": "2"}
    header = {"X-Twilio-Signature": signature(LOCAL + "/twilio/voice/gather?attempt=1", params)}
    response = twilio.client.post("/twilio/voice/gather?attempt=3", data=params, headers=header)
    Api.assert_error(response, 403)


@pytest.mark.parametrize("path", WEBHOOKS)
def test_every_webhook_is_guarded(twilio, path):
    response = twilio.client.post(path, data={"CallSid": sid("CA"), "MessageSid": sid("SM")})
    Api.assert_error(response, 403)


@pytest.mark.parametrize("path", WEBHOOKS)
def test_without_an_auth_token_webhooks_refuse_everything(app, client, monkeypatch, statements, path):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", None)
    params = {"CallSid": sid("CA")}
    statements.clear()
    response = client.post(path, data=params,
                           headers={"X-Twilio-Signature": signature(LOCAL + path, params)})
    body = Api.assert_error(response, 503)
    assert "TWILIO_AUTH_TOKEN" in body["message"]
    assert statements == []


def test_behind_a_proxy_the_public_url_is_what_counts(app, twilio, monkeypatch):
    """TLS ends at the proxy: the app sees http://localhost, Twilio signed https://public."""
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://rexian.example.gov.cn/hotline/")
    public = "https://rexian.example.gov.cn/hotline/twilio/sms"
    params = sms_params("咨询公积金提取")
    assert twilio.post("/twilio/sms", params, signed_url=public).status_code == 200
    # The URL the app sees is not the one Twilio signed.
    Api.assert_error(twilio.post("/twilio/sms", sms_params("x"), signed_url=LOCAL + "/twilio/sms"), 403)
    # The query string is part of the signed URL.
    call_params = {"CallSid": sid("CA"), "From": CALLER, "Digits": "1"}
    signed = "https://rexian.example.gov.cn/hotline/twilio/voice/gather?attempt=2"
    response = twilio.post("/twilio/voice/gather?attempt=2", call_params, signed_url=signed)
    assert response.status_code == 200
    # TwiML links point at the public URL too.
    menu = twiml(twilio.post("/twilio/voice", {"CallSid": sid("CA"), "From": CALLER},
                             signed_url="https://rexian.example.gov.cn/hotline/twilio/voice"))
    assert menu.find("Gather").get("action") == (
        "https://rexian.example.gov.cn/hotline/twilio/voice/gather?attempt=1")


def test_the_port_twilio_adds_or_drops_does_not_matter(twilio):
    """The SDK's validator accepts the URL with and without its default port."""
    params = sms_params("你好")
    assert twilio.post("/twilio/sms", params, signed_url="http://localhost:80/twilio/sms").status_code == 200


def test_only_post(twilio):
    assert twilio.client.get("/twilio/sms").status_code == 405


def test_a_sender_over_the_limit_gets_a_200_with_harmless_twiml(app, twilio, monkeypatch):
    """Twilio treats a 4xx as an application error (the caller hears Twilio's error, not ours)."""
    monkeypatch.setitem(app.config, "TWILIO_RATE_LIMIT_PER_MINUTE", 3)
    answers = [twilio.sms(f"第{i}条", caller="+8613700000001") for i in range(5)]
    assert [r.status_code for r in answers] == [200] * 5
    limited = answers[-1]
    assert list(twiml(limited)) == []                      # <Response/>: nothing to send
    assert len(rows(app, InboundSms)) == 3
    # Another number is not affected; calls from the limited number are refused too.
    assert twilio.sms("你好", caller="+8613700000002").status_code == 200
    refused = twilio.call(sid("CA"), caller="+8613700000001")
    assert refused.status_code == 200
    assert [child.tag for child in twiml(refused)] == ["Say", "Hangup"]
    assert "过于频繁" in twiml(refused).find("Say").text
    # Status callbacks carry our number as From and are never limited.
    assert twilio.status(sid("SM"), "delivered").status_code == 200


def test_an_unsigned_flood_does_not_use_up_a_numbers_allowance(app, twilio, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_RATE_LIMIT_PER_MINUTE", 2)
    for _ in range(5):
        twilio.client.post("/twilio/sms", data=sms_params("spoof"), headers={"X-Twilio-Signature": "x"})
    assert twilio.sms("真的短信").status_code == 200


def test_webhooks_need_no_csrf_token_even_with_csrf_checks_on(app, twilio, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    monkeypatch.setitem(app.config, "WTF_CSRF_CHECK_DEFAULT", True)
    assert twilio.sms("你好").status_code == 200
    assert twilio.call(sid("CA")).status_code == 200


def test_a_signed_request_missing_its_sid_is_a_named_error(twilio):
    response = twilio.post("/twilio/sms", {"From": CALLER, "Body": "x"})
    Api.assert_error(response, 422, "MessageSid")


def test_the_token_is_never_echoed(twilio):
    response = twilio.client.post("/twilio/sms", data=sms_params("x"), headers={"X-Twilio-Signature": "x"})
    assert AUTH_TOKEN not in response.get_data(as_text=True)


def test_the_webhooks_are_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").json
    for path in WEBHOOKS:
        operation = spec["paths"][path]["post"]
        assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
        assert {"200", "403", "503"} <= set(operation["responses"])
        assert operation["security"] == [{"twilioSignature": []}]
    assert "/api/v1/calls" in spec["paths"]


@pytest.mark.parametrize("sender", ["not-a-number", "<script>alert(1)</script>", "+86 139 0000 0000",
                                    "13900000000; DROP TABLE", "sip:", "+8613900000000\x00"])
def test_a_signed_text_from_something_that_is_no_number_is_refused_and_nothing_queued(app, twilio, sender):
    """Issue 18 row 12: it was stored and a receipt queued to it."""
    response = twilio.sms("我要投诉", caller=sender)
    assert response.status_code == 400 and response.mimetype == "text/xml"
    assert list(twiml(response)) == []
    drain(app)
    assert rows(app, InboundSms) == [] and rows(app, OutboxMessage) == []
    call = twilio.call(sid("CA"), caller=sender)
    assert call.status_code == 400 and rows(app, Call) == []


def test_a_text_whose_to_is_no_number_is_refused(app, twilio):
    params = {**sms_params("你好"), "To": "evil.example.com"}
    assert twilio.post("/twilio/sms", params).status_code == 400
    assert rows(app, InboundSms) == []


@pytest.mark.parametrize("caller", ["+8613900000000", "12345", "anonymous", "sip:seat7@pbx.example.gov.cn",
                                    "client:seat7"])
def test_numbers_sip_addresses_and_withheld_callers_are_let_in(app, twilio, caller):
    assert twilio.call(sid("CA"), caller=caller).status_code == 200
