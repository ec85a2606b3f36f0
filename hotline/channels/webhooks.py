"""The Twilio webhooks under /twilio: voice menu and routing, inbound SMS, status callbacks.

Each one is guarded (`security.webhook`: 503 without an auth token, 403 on a bad
signature, polite TwiML with 200 past the per-number limit), does one small write keyed by
Twilio's Sid, commits and answers TwiML; anything slow runs in an RQ job after the commit.
A voice webhook that fails inside answers its fallback TwiML (never an error to Twilio).

    POST /twilio/voice            a call arrives: logged, the menu (1 general, 2 children, 3 hard case)
    POST /twilio/voice/gather     the key: desk recorded, <Enqueue> (or <Dial> when configured)
    POST /twilio/voice/connect    a seat takes the call (the <Queue url> / <Number url> hook)
    POST /twilio/voice/after      the call left the queue or the dial ended (<Enqueue>/<Dial> action)
    POST /twilio/voice/survey     the key pressed on an outbound survey call (回访): stored, then a job
    POST /twilio/sms              a text: recorded, empty TwiML; `tasks.process_inbound_sms` does the rest
    POST /twilio/status           delivery status of our messages and calls, progress of inbound calls
"""

from collections.abc import Callable

from flask import Blueprint, Response, request

from hotline import tasks
from hotline.channels import calls, sms, status, survey, twiml
from hotline.channels.models import single_statement
from hotline.channels.security import twiml_response, webhook
from hotline.errors import Invalid
from hotline.extensions import db
from hotline.tickets.models import Desk, Ticket

bp = Blueprint("twilio", __name__, url_prefix="/twilio")

SID_MAX = 64
QUEUE_DONE = {"bridged", "hangup", "leave", "redirected"}
DIAL_DONE = {"completed", "answered"}


def _sid(name: str) -> str:
    value = (request.form.get(name) or "").strip()
    if not value or len(value) > SID_MAX:
        raise Invalid(errors={name: ["required"]}, error="twilio.missing_field", params={"name": name})
    return value


def _int_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default


def _commit_and_answer(answer, job: Callable, stored_id: int | None, job_name: str) -> Response:
    """Commit what a webhook stored and answer Twilio; the job that works on the stored row
    (none when there is nothing to do) is queued once the commit holds, retried as input is."""
    if stored_id is not None:
        tasks.after_commit(job, stored_id, job_id=f"{job_name}-{stored_id}", retry=tasks.INPUT_RETRY)
    db.session.commit()
    return twiml_response(answer)


# --- voice ------------------------------------------------------------------------------

@bp.post("/voice")
@webhook(rate_limited_answer=twiml.rate_limited_voice, fallback=twiml.menu)
def voice():
    form = request.form
    call_sid = _sid("CallSid")
    single_statement()
    calls.record_arrival(call_sid, form.get("From", ""), form.get("To", ""), form.get("CallStatus"))
    db.session.commit()
    return twiml_response(twiml.menu())


@bp.post("/voice/gather")
@webhook(fallback=lambda: twiml.route_to_desk(_chosen_desk(), _sid("CallSid")))
def voice_gather():
    call_sid = _sid("CallSid")
    digit = (request.form.get("Digits") or "").strip()
    desk = twiml.MENU_KEYS.get(digit)
    attempt = _int_arg("attempt", 1)
    if desk is None:
        if attempt < twiml.MENU_ATTEMPTS:
            return twiml_response(twiml.menu(attempt + 1, invalid=bool(digit)))
        desk = Desk.GENERAL       # no usable key after the last menu: a seat, not a hang-up
    calls.choose_desk(call_sid, desk, request.form.get("From", ""), request.form.get("To", ""))
    db.session.commit()
    return twiml_response(twiml.route_to_desk(desk, call_sid))


@bp.post("/voice/connect")
@webhook(fallback=twiml.connected)
def voice_connect():
    dialled = request.args.get("call")       # a <Number url>: runs on the seat's leg
    calls.mark_connected(dialled or _sid("CallSid"))
    whisper = (calls.desk_of(dialled) or Desk.GENERAL) if dialled else None
    db.session.commit()
    return twiml_response(twiml.connected(whisper))


@bp.post("/voice/after")
@webhook(fallback=twiml.sorry)
def voice_after():
    call_sid = _sid("CallSid")
    queue_result = request.form.get("QueueResult")
    dial_status = request.form.get("DialCallStatus")
    if dial_status is not None and dial_status not in DIAL_DONE:
        # The desk's number did not answer: the caller waits in the desk's queue instead.
        desk = calls.desk_of(call_sid) or _desk_arg()
        db.session.rollback()
        return twiml_response(twiml.route_to_desk(desk, call_sid, dial=False))
    calls.mark_ended(call_sid)
    db.session.commit()
    if queue_result is not None and queue_result not in QUEUE_DONE:
        return twiml_response(twiml.queue_failed())     # queue full, or Twilio's error
    return twiml_response(twiml.hangup())


def _chosen_desk() -> Desk:
    """The desk of the key pressed (the general desk for anything else): used when recording
    the choice failed, so the caller still reaches a seat."""
    return twiml.MENU_KEYS.get((request.form.get("Digits") or "").strip(), Desk.GENERAL)


def _desk_arg() -> Desk:
    try:
        return Desk(request.args.get("desk", Desk.GENERAL.value))
    except ValueError:
        return Desk.GENERAL


@bp.post("/voice/survey")
@webhook(fallback=twiml.survey_thanks)
def voice_survey():
    """The key is stored and committed, then applied by a job: the caller is thanked even
    when applying it fails for now (the job is retried; nothing the caller pressed is lost)."""
    ticket_id, cycle = _int_arg("ticket", 0), _int_arg("cycle", 0)
    attempt = _int_arg("attempt", 1)
    digits = request.form.get("Digits", "")
    if not survey.is_rating(digits):
        ticket = db.session.get(Ticket, ticket_id) if attempt < twiml.SURVEY_ATTEMPTS else None
        db.session.rollback()
        if ticket is not None:
            return twiml_response(twiml.survey_call(ticket_id, cycle, ticket.number, attempt + 1,
                                                    invalid=True))
        return twiml_response(twiml.said(twiml.SURVEY_NO_ANSWER))
    key_id = survey.store_key(_sid("CallSid"), ticket_id, cycle, digits)
    return _commit_and_answer(twiml.survey_thanks(), tasks.process_survey_key, key_id, "survey-key")


# --- SMS ----------------------------------------------------------------------------------

@bp.post("/sms")
@webhook(rate_limited_answer=twiml.empty_messaging)
def inbound_sms():
    form = request.form
    message_sid = _sid("MessageSid")
    try:
        num_media = int(form.get("NumMedia") or 0)
    except ValueError:
        num_media = 0
    single_statement()
    sms_id = sms.record(message_sid, form.get("From", ""), form.get("To", ""), form.get("Body", ""),
                        num_media, sms.media_of(form))
    if sms_id is None:               # a retried delivery: make sure its job exists if not done
        sms_id = sms.unprocessed_id(message_sid)
    return _commit_and_answer(twiml.empty_messaging(), tasks.process_inbound_sms, sms_id, "sms")


# --- status callbacks -----------------------------------------------------------------------

@bp.post("/status")
@webhook()
def status_callback():
    form = request.form
    message_status = form.get("MessageStatus") or form.get("SmsStatus")
    if form.get("CallSid") and form.get("CallStatus"):
        sid, value, kind = _sid("CallSid"), form["CallStatus"], status.CALL
    elif (form.get("MessageSid") or form.get("SmsSid")) and message_status:
        sid = _sid("MessageSid") if form.get("MessageSid") else _sid("SmsSid")
        value, kind = message_status, status.MESSAGE
    else:
        raise Invalid(errors={"MessageStatus": ["required"], "CallStatus": ["required"]},
                      error="twilio.missing_status")
    value = value.strip().lower()
    detail = " ".join(filter(None, [form.get("ErrorCode"), form.get("ErrorMessage")])) or None
    status.record(sid, value, kind, detail)
    if not status.apply(sid, value, kind, detail):
        # Not known yet: the sending job may not have committed the Sid. Try again shortly.
        tasks.after_commit(tasks.reapply_status, sid, job_id=f"status-{sid}",
                           at=tasks.status_retry_at(), retry=tasks.STATUS_RETRY)
    db.session.commit()
    return twiml_response(twiml.empty_messaging() if kind == status.MESSAGE else twiml.empty_voice())


def init_app(app, spec=None) -> None:
    """Register the webhooks (and describe them in `spec`, the OpenAPI document).

    Twilio cannot send a CSRF token, so they are exempt from the console's CSRF check.
    """
    app.register_blueprint(bp)
    if spec is not None:
        document(spec, {rule.rule: rule for rule in app.url_map.iter_rules()})
    try:
        from hotline.console import csrf  # optional: the console is above the channels
    except ImportError:  # no console in this build
        return
    csrf.exempt(bp)


# --- the OpenAPI description -----------------------------------------------------------------

_FORMS = {
    "/twilio/voice": ("A call comes in: logged, answered with the menu (<Gather>).",
                      ["CallSid", "From", "To", "CallStatus"], ["CallSid"]),
    "/twilio/voice/gather": ("The key pressed in the menu (query: attempt): <Enqueue> or <Dial>.",
                             ["CallSid", "Digits", "From", "To"], ["CallSid"]),
    "/twilio/voice/connect": ("<Queue url>/<Number url>: a seat takes the call (query: call).",
                              ["CallSid"], []),
    "/twilio/voice/after": ("<Enqueue>/<Dial> action: the call left the queue or the dial ended.",
                            ["CallSid", "QueueResult", "DialCallStatus"], ["CallSid"]),
    "/twilio/voice/survey": ("The key pressed on a survey call (query: ticket, cycle, attempt).",
                             ["CallSid", "Digits"], []),
    "/twilio/sms": ("A text comes in: stored once per MessageSid, processed by a job; empty TwiML.",
                    ["MessageSid", "From", "To", "Body", "NumMedia"], ["MessageSid"]),
    "/twilio/status": ("Status callback of a message or call (forward only; replays harmless).",
                       ["MessageSid", "MessageStatus", "CallSid", "CallStatus", "ErrorCode",
                        "ErrorMessage"], []),
}


def document(spec, rules: dict) -> None:
    """Add the webhooks to the OpenAPI document (they take forms and answer TwiML)."""
    spec.components.security_scheme("twilioSignature", {
        "type": "apiKey", "in": "header", "name": "X-Twilio-Signature",
        "description": "Twilio's HMAC-SHA1 over PUBLIC_BASE_URL + path (+ query) and every "
                       "posted parameter, with TWILIO_AUTH_TOKEN"})
    error = {"application/json": {"schema": {"type": "object", "properties": {
        "code": {"type": "integer"}, "status": {"type": "string"}, "message": {"type": "string"},
        "errors": {"type": "object"}}}}}
    for path, (summary, fields, required) in _FORMS.items():
        spec.path(rule=rules[path], operations={"post": {
            "tags": ["Twilio webhooks"], "summary": summary, "security": [{"twilioSignature": []}],
            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                "schema": {"type": "object", "required": required, "additionalProperties": True,
                           "properties": {name: {"type": "string"} for name in fields}}}}},
            "responses": {
                "200": {"description": "TwiML (also when the number is over its per-minute limit, "
                                       "and, for voice, when something failed inside: an apology)",
                        "content": {"text/xml": {"schema": {"type": "string"}}}},
                "403": {"description": "Missing or invalid X-Twilio-Signature", "content": error},
                "422": {"description": "A required parameter is missing", "content": error},
                "503": {"description": "TWILIO_AUTH_TOKEN is not configured", "content": error},
            }}})
