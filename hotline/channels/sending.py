"""Sending through the `twilio` SDK: SMS and voice calls from outbox rows.

`TWILIO_API_BASE_URL` (tests, or a regional edge) points the SDK's HTTP client
at another host; the SDK builds and signs requests exactly as in production.

Depends on: the twilio SDK and the channels' settings only.
"""

from urllib.parse import urlsplit, urlunsplit

from flask import current_app
from requests.exceptions import ReadTimeout
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from hotline.channels.settings import setting

DEFAULT_TIMEOUT = 10.0   # seconds; TWILIO_HTTP_TIMEOUT overrides


class PermanentFailure(Exception):
    """Twilio refused the message (bad number, blocked...): retrying will not help.

    Also raised when Twilio took the request but its answer never came (a read timeout):
    the message may have gone out, and sending it again could text the citizen twice.
    `code` is Twilio's error code when Twilio gave one (21610, 21211...).
    """

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class _RedirectingHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self._base = urlsplit(base_url)

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        url = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


def client() -> Client:
    config = current_app.config
    base = config.get("TWILIO_API_BASE_URL")
    timeout = float(setting("TWILIO_HTTP_TIMEOUT", DEFAULT_TIMEOUT))
    http = _RedirectingHttpClient(base, timeout=timeout) if base else TwilioHttpClient(timeout=timeout)
    return Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], http_client=http)


def send_via_twilio(message) -> str:
    """Send one outbox message; returns Twilio's Sid."""
    config = current_app.config
    status_callback = None
    if config.get("PUBLIC_BASE_URL"):
        status_callback = config["PUBLIC_BASE_URL"].rstrip("/") + "/twilio/status"
    try:
        if message.channel.value == "voice":
            call = client().calls.create(to=message.to_number, from_=config["TWILIO_FROM_NUMBER"],
                                         twiml=message.body, status_callback=status_callback)
            return call.sid
        sms = client().messages.create(to=message.to_number, from_=config["TWILIO_FROM_NUMBER"],
                                       body=message.body, status_callback=status_callback)
        return sms.sid
    except TwilioRestException as exc:
        if 400 <= exc.status < 500 and exc.status != 429:
            raise PermanentFailure(f"Twilio {exc.status} {exc.code}: {exc.msg}", exc.code) from exc
        raise
    except ReadTimeout as exc:   # sent, but no answer: maybe delivered, so never resent
        raise PermanentFailure(f"outcome unknown (no answer from Twilio in time); not resent: {exc}") \
            from exc
