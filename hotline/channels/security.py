"""The guard in front of every Twilio webhook, before any database work.

1. Without TWILIO_AUTH_TOKEN the webhooks refuse everything (503): unsigned traffic is
   never accepted, not even on a laptop.
2. `X-Twilio-Signature` is checked with the SDK's RequestValidator against the URL Twilio
   called — PUBLIC_BASE_URL + path (+ query string) when set, so a TLS-terminating proxy
   cannot break it, else the request URL — and every posted parameter (403 otherwise).
3. New contacts (calls, texts) are counted per sender number in Redis; past the limit the
   answer is the view's polite TwiML with status 200 (Twilio treats any 4xx as an
   application error and plays its own message instead). Redis down: let it through.
4. A voice webhook never answers Twilio with an error once the request is genuine: whatever
   fails inside it (database, a job's enqueue, a bug) is logged and the caller hears the
   view's `fallback` TwiML (the call goes on where it can, else a short apology).
"""

import contextlib
import hashlib
import logging
import time
from functools import wraps

from flask import Response, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from hotline import redis
from hotline.channels import parties
from hotline.channels.settings import is_anonymous, public_base_url, rate_limit_per_minute
from hotline.errors import Forbidden, HotlineError
from hotline.extensions import db
from hotline.redis import connection

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
TWIML_MIMETYPE = "text/xml"


class NotConfigured(HotlineError):
    code = 503
    error_code = "twilio.not_configured"


def signed_url() -> str:
    """The URL Twilio signed: the public one when PUBLIC_BASE_URL says where we are."""
    base = public_base_url()
    if not base:
        return request.url
    url = base + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return url


def check_signature() -> None:
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if not token:
        raise NotConfigured()
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise Forbidden(error="twilio.signature_missing")
    if not RequestValidator(token).validate(signed_url(), request.form, signature):
        log.warning("bad Twilio signature for %s", signed_url())
        raise Forbidden(error="twilio.signature_invalid")


def over_limit(number: str | None) -> bool:
    """Count one contact from `number` in this minute; True past the limit."""
    if is_anonymous(number):
        return False
    minute = int(time.time() // 60)
    digest = hashlib.sha256(number.encode()).hexdigest()[:20]
    key = f"hotline:ratelimit:twilio:{digest}:{minute}"
    if not redis.available():  # it failed a moment ago: do not wait on it for every text
        return False
    try:
        # One round trip: the expiry is simply set again on each count (the key is per minute).
        count, _ = connection().pipeline(transaction=False).incr(key).expire(key, 120).execute()
    except Exception as exc:  # Redis down: serve the citizen, the database is what matters
        redis.failed()
        log.warning("rate limit unavailable (%s); letting %s through", exc, key)
        return False
    return count > rate_limit_per_minute()


def twiml_response(twiml, status: int = 200, headers: dict | None = None) -> Response:
    return Response(str(twiml), status=status, mimetype=TWIML_MIMETYPE, headers=headers)


def webhook(*, rate_limited_answer=None, fallback=None):
    """Guard a Twilio webhook view; `rate_limited_answer()` (TwiML) also limits by `From`;
    `fallback()` (TwiML) is the answer when the view fails after the request was checked."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            check_signature()
            if parties.bad_parties(request.form):  # no ticket, no receipt to a made-up sender
                return twiml_response(VoiceResponse(), 400)
            if rate_limited_answer is not None and over_limit(request.form.get("From")):
                return twiml_response(rate_limited_answer())
            if fallback is None:
                return view(*args, **kwargs)
            try:
                return view(*args, **kwargs)
            except HotlineError as error:
                if error.code < 500:       # not Twilio's request (a missing CallSid): say so
                    raise
                return _fell_back(view, fallback)
            except Exception:
                return _fell_back(view, fallback)

        return wrapper

    return decorator


def _fell_back(view, fallback) -> Response:
    log.exception("Twilio webhook %s failed; answering with its fallback TwiML", view.__name__)
    with contextlib.suppress(Exception):
        db.session.rollback()
    return twiml_response(fallback())
