"""The media of a citizen's MMS, fetched from Twilio into the ticket's attachments.

The SMS webhook stores the message with its media list (`InboundSms.media`); once the text's
job knows which ticket it belongs to, it asks for `tasks.fetch_mms_media(sms_id)`, which runs
`fetch` here:

- exactly once per message: the job claims the message (`media_fetched_at`, an UPDATE …
  WHERE IS NULL) in the transaction that stores the files, so a duplicate job waits and then
  finds nothing to do, and an error rolls the claim back with the files for RQ to retry;
- only from Twilio: a media URL is taken only as the path Twilio gives media of this account
  (`/2010-04-01/Accounts/<our sid>/Messages/<sid>/Media/<sid>`) on Twilio's API host (or
  TWILIO_API_BASE_URL), never an address the request named, so a forged webhook cannot make
  the worker fetch anything else; authenticated with the account's credentials (HTTP Basic,
  as Twilio asks when media are protected), Twilio's redirect to its media store followed
  without them (requests drops the credentials on another host);
- size-limited: the download stops past ATTACHMENT_MAX_BYTES; a medium over it, or of a kind
  a ticket does not take, is noted on the ticket (in Chinese) and not retried;
- retried: a network error or a 5xx/429 from Twilio raises, and RQ tries again
  (tasks.MEDIA_RETRY); a 4xx other than 429 is final and noted.
"""

import logging
import re
from datetime import datetime, timedelta
from typing import cast
from urllib.parse import urlsplit

import requests
from flask import current_app
from rq.job import Job
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from hotline import tasks
from hotline.attachments import service
from hotline.channels.models import InboundSms
from hotline.channels.settings import setting
from hotline.errors import HotlineError
from hotline.extensions import db
from hotline.redis import connection
from hotline.tickets.service import record_event
from hotline.types import utcnow

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
MEDIA_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages/[A-Z]{2}[0-9a-fA-F]{32}"
                        r"/Media/ME[0-9a-fA-F]{32}$")
CHUNK = 64 * 1024
DEFAULT_TIMEOUT = 30.0
REFUSED = "attach_refused"
STUCK_AFTER = timedelta(minutes=2)    # a processed MMS whose media are not fetched this long after


class Retry(Exception):
    """Twilio or the network failed for now: RQ runs the job again later."""


def fetch(sms_id: int) -> int:
    """Fetch the media of one stored MMS into its ticket; the number of files stored."""
    claimed = cast(CursorResult, db.session.execute(
        update(InboundSms).where(InboundSms.id == sms_id, InboundSms.media_fetched_at.is_(None),
                                 InboundSms.ticket_id.is_not(None))
        .values(media_fetched_at=utcnow()))).rowcount
    sms = db.session.get(InboundSms, sms_id, populate_existing=True)
    if not claimed or sms is None or not sms.media:
        return 0
    ticket = sms.ticket
    stored, refused = 0, []
    for index, medium in enumerate(sms.media):
        name = f"彩信附件{index + 1}"
        try:
            data = _download(medium.get("url") or "")
            if service.attach_from_mms(ticket, f"{sms.message_sid}/{index}", name, data) is not None:
                stored += 1
        except HotlineError as error:            # too large, not a kind we take, not Twilio's
            refused.append(f"{name}未保存：{error.message}")
    if refused:
        record_event(ticket, None, REFUSED, ticket.state, ticket.state,
                     {"note": "；".join(refused), "source": "mms", "message_sid": sms.message_sid})
    return stored


def media_url(url: str) -> str:
    """The URL to fetch for a MediaUrl of a webhook: Twilio's media path of our account, on
    Twilio's host (or the configured API base); anything else is refused."""
    parts = urlsplit(url)
    match = MEDIA_PATH.match(parts.path)
    account = current_app.config.get("TWILIO_ACCOUNT_SID")
    if (parts.scheme != "https" or parts.hostname != "api.twilio.com" or match is None
            or match.group(1) != account):
        raise HotlineError(error="attachment.not_twilio_media")
    base = (current_app.config.get("TWILIO_API_BASE_URL") or TWILIO_API).rstrip("/")
    return base + parts.path


def _download(url: str) -> bytes:
    config = current_app.config
    if not (config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN")):
        raise HotlineError(error="attachment.no_credentials")
    target = media_url(url)
    timeout = float(setting("TWILIO_MEDIA_TIMEOUT", DEFAULT_TIMEOUT))
    limit = service.max_bytes()
    try:
        with requests.get(target, auth=(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"]),
                          stream=True, timeout=(5, timeout)) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise Retry(f"Twilio answered {response.status_code} for {target}")
            if response.status_code >= 400:
                raise HotlineError(error="attachment.twilio_refused",
                                   params={"status": response.status_code})
            if int(response.headers.get("Content-Length") or 0) > limit:
                raise service.too_large()
            data = bytearray()
            for chunk in response.iter_content(CHUNK):
                data += chunk
                if len(data) > limit:
                    raise service.too_large()
            return bytes(data)
    except requests.RequestException as error:
        raise Retry(f"fetching {target} failed: {error}") from error


def requeue_unfetched(now: datetime | None = None) -> int:
    """Enqueue the media jobs Redis lost (down when the text's job committed, or flushed); the
    sweep calls this. A job that still exists (waiting, retrying, failed for good) is left alone."""
    now = now or utcnow()
    ids = list(db.session.scalars(select(InboundSms.id).where(
        InboundSms.num_media > 0, InboundSms.media_fetched_at.is_(None),
        InboundSms.ticket_id.is_not(None), InboundSms.processed_at <= now - STUCK_AFTER)
        .order_by(InboundSms.id).limit(500)))
    requeued = 0
    try:
        for sms_id in ids:
            if Job.exists(f"mms-{sms_id}", connection=connection()):
                continue
            tasks.enqueue(tasks.fetch_mms_media, sms_id, job_id=f"mms-{sms_id}", retry=tasks.MEDIA_RETRY)
            requeued += 1
    except Exception as exc:
        log.warning("could not requeue MMS media: %s", exc)
    return requeued
