"""Twilio as the tests see it: webhooks signed exactly as Twilio signs them, and a fake
Twilio REST API on a loopback port that records what the SDK sends it.

Nothing is mocked on our side: the requests go through the app (test client, or a real
threaded HTTP server), the database and Redis are the real ones of the suite.
"""

import json
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from twilio.request_validator import RequestValidator

from hotline.extensions import db
from tests.helpers import POLL

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT_SID = "AC" + "a1" * 16
HOTLINE_NUMBER = "+8651612345"
CALLER = "+8613912345678"
LOCAL = "http://localhost"


def sid(prefix: str) -> str:
    """A Sid shaped like Twilio's: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


def signature(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


class Twilio:
    """Posts webhooks the way Twilio does: form-encoded, signed over URL + parameters."""

    def __init__(self, client, base: str = LOCAL):
        self.client = client
        self.base = base

    def post(self, path: str, params: dict, *, signed_url: str | None = None,
             signed_params: dict | None = None, headers: dict | None = None, sign: bool = True):
        url = signed_url or self.base + path
        sent_headers = dict(headers or {})
        if sign:
            sent_headers["X-Twilio-Signature"] = signature(url, signed_params
                                                           if signed_params is not None else params)
        return self.client.post(path, data=params, headers=sent_headers)

    # --- the webhooks, with what Twilio puts in them --------------------------------------

    def call(self, call_sid: str, caller: str = CALLER, status: str = "ringing"):
        return self.post("/twilio/voice", {"CallSid": call_sid, "AccountSid": ACCOUNT_SID,
                                           "From": caller, "To": HOTLINE_NUMBER, "CallStatus": status,
                                           "Direction": "inbound"})

    def press(self, call_sid: str, digits: str, attempt: int = 1, caller: str = CALLER):
        return self.post(f"/twilio/voice/gather?attempt={attempt}",
                         {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "From": caller,
                          "To": HOTLINE_NUMBER, "Digits": digits, "CallStatus": "in-progress"})

    def sms(self, body: str, caller: str = CALLER, message_sid: str | None = None):
        return self.post("/twilio/sms", sms_params(body, caller, message_sid))

    def status(self, sid_value: str, value: str, kind: str = "message", **extra):
        if kind == "message":
            params = {"MessageSid": sid_value, "SmsSid": sid_value, "MessageStatus": value,
                      "SmsStatus": value, "AccountSid": ACCOUNT_SID, "From": HOTLINE_NUMBER,
                      "To": CALLER, **extra}
        else:
            params = {"CallSid": sid_value, "CallStatus": value, "AccountSid": ACCOUNT_SID,
                      "From": CALLER, "To": HOTLINE_NUMBER, **extra}
        return self.post("/twilio/status", params)


def queued_call(twilio: Twilio, digit: str = "2", caller: str = CALLER) -> str:
    """A call that came in and chose a desk (1 general, 2 children, 3 hard case): its CallSid.

    The desk's queue takes it, or its number is dialled where the desk has one."""
    call_sid = sid("CA")
    assert twilio.call(call_sid, caller=caller).status_code == 200
    assert twilio.press(call_sid, digit, caller=caller).status_code == 200
    return call_sid


def sms_params(body: str, caller: str = CALLER, message_sid: str | None = None) -> dict:
    message_sid = message_sid or sid("SM")
    return {"MessageSid": message_sid, "SmsSid": message_sid, "SmsMessageSid": message_sid,
            "AccountSid": ACCOUNT_SID, "From": caller, "To": HOTLINE_NUMBER, "Body": body,
            "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01"}


def twiml(response) -> ET.Element:
    """The TwiML of a response, parsed (fails unless it is XML with a <Response> root)."""
    assert response.mimetype == "text/xml", (response.status_code, response.get_data(as_text=True))
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    return root


@pytest.fixture
def twilio(app, client, monkeypatch):
    """Webhooks on: the auth token configured (no sending credentials, so nothing goes out)."""
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    return Twilio(client)


def run(app, func, *args):
    """Run a job function the way the worker does (its own app context and commit)."""
    with app.app_context():
        return func(*args)


def drain(app) -> None:
    """Run every job waiting in the queue, in this process, like `hotline worker --burst`."""
    from hotline import tasks
    from hotline.redis import connection
    from hotline.worker import HotlineWorker

    with app.app_context():
        worker = HotlineWorker([tasks.queue()], connection=connection())
        worker.work(burst=True, logging_level="WARNING")


def rows(app, model, *where):
    from sqlalchemy import select

    with app.app_context():
        found = list(db.session.scalars(select(model).where(*where).order_by(model.id)))
        db.session.expunge_all()      # detached, loaded, readable after the context
        return found


# --- the fake Twilio REST API ---------------------------------------------------------------

@dataclass
class Received:
    method: str
    path: str
    headers: dict
    form: dict


@dataclass
class FakeTwilio:
    """Answers the SDK's requests with the next scripted (status, body[, delay]), else 201 and a Sid."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    script: list[tuple] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # GET path -> the answers for a medium, in turn (the last one repeats): (status, type, bytes)
    media: dict[str, list[tuple[int, str, bytes]]] = field(default_factory=dict)

    def serve(self, received: Received) -> tuple[int, str, bytes]:
        with self.lock:
            self.requests.append(received)
            answers = self.media.get(received.path)
            if not answers:
                return 404, "application/json", b'{"code": 20404}'
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def answer(self, received: Received) -> tuple[int, dict]:
        with self.lock:
            self.requests.append(received)
            scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            status, body, *delay = scripted
            time.sleep(delay[0] if delay else 0)
            return status, body
        kind = "CA" if received.path.endswith("/Calls.json") else "SM"
        new_sid = sid(kind)
        return 201, {"sid": new_sid, "account_sid": ACCOUNT_SID, "status": "queued",
                     "to": received.form.get("To"), "from": received.form.get("From"),
                     "uri": received.path.replace(".json", f"/{new_sid}.json")}


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}
            status, body = fake.answer(Received("POST", self.path, dict(self.headers), form))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            """A medium of an MMS (Twilio's /Media/ME... URLs)."""
            status, content_type, payload = fake.serve(Received("GET", self.path, dict(self.headers), {}))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def sending_twilio(app, monkeypatch, fake_twilio):
    """Sending credentials configured and the SDK pointed at the fake: messages really go."""
    for key, value in {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                       "TWILIO_FROM_NUMBER": HOTLINE_NUMBER,
                       "TWILIO_API_BASE_URL": fake_twilio.url}.items():
        monkeypatch.setitem(app.config, key, value)
    return fake_twilio
