"""Channel settings: the app config first, then the environment, then the default.

The Twilio keys of docs/integration.md (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER,
PUBLIC_BASE_URL) live in config/settings.py; the channel's own knobs are read here:

- TWILIO_DESK_DIAL_GENERAL / _CHILDREN / _HARD_CASE: a number (or SIP URI) to `<Dial>` for
  that desk instead of putting the caller in the desk's Twilio queue;
- TWILIO_DESK_QUEUE_GENERAL / _CHILDREN / _HARD_CASE: the Twilio queue name of a desk
  (default: the desk's code, `general`, `children`, `hard_case`);
- TWILIO_RATE_LIMIT_PER_MINUTE: calls + texts accepted from one number per minute (20).
"""

import os

from flask import current_app

from hotline.tickets.models import Desk

DEFAULT_RATE_LIMIT = 20

# What Twilio puts in `From` when the caller's number is withheld: shared by many callers,
# so never rate-limited, copied onto a ticket or used to find "the caller's" tickets.
ANONYMOUS_NUMBERS = frozenset({
    "", "anonymous", "restricted", "unknown", "blocked", "unavailable", "private",
    "+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253",
})


def setting(name: str, default=None):
    value = current_app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    return default if value in (None, "") else value


def public_base_url() -> str | None:
    base = current_app.config.get("PUBLIC_BASE_URL")
    return base.rstrip("/") if base else None


def rate_limit_per_minute() -> int:
    try:
        return int(setting("TWILIO_RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT))
    except (TypeError, ValueError):
        return DEFAULT_RATE_LIMIT


def desk_dial_target(desk: Desk) -> str | None:
    return setting(f"TWILIO_DESK_DIAL_{desk.name}")


def desk_queue_name(desk: Desk) -> str:
    return setting(f"TWILIO_DESK_QUEUE_{desk.name}", desk.value)


def is_anonymous(number: str | None) -> bool:
    return (number or "").strip().lower() in ANONYMOUS_NUMBERS
