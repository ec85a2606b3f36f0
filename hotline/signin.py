"""The one sign-in policy of both front doors: `POST /api/v1/auth/token` and the console form.

Failed sign-ins are counted per account (whatever the address) and per address (whatever the
account) by the maintained `limits` library, with a moving window in Redis shared by every
process; an account or address over its limit gets 429 at both doors until the window moves
on. A good sign-in clears the account's count. While Redis does not answer, the counts are
kept in this process's memory instead (the same library's MemoryStorage): an outage neither
opens the gate (the limits still hold, per process) nor locks anyone out (sign-in needs only
the database). An unknown name costs the same password check as a wrong password.
"""

import logging
import math
import time

import redis as redis_errors
from flask import current_app, request
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from hotline import passwords, redis
from hotline.errors import HotlineError, Unauthorized
from hotline.seed import DEMO_PASSWORD
from hotline.users import User, get_by_username

log = logging.getLogger(__name__)


class BadCredentials(Unauthorized):
    """Unknown name, wrong password or inactive account: one answer for all (401)."""

    error_code = "auth.bad_credentials"


class TooManyAttempts(HotlineError):
    """Too many failed sign-ins for this account or from this address (429, Retry-After)."""

    code = 429
    error_code = "auth.too_many_attempts"

    def __init__(self, retry_after: int):
        super().__init__(params={"minutes": max(1, math.ceil(retry_after / 60))})
        self.retry_after = retry_after


def _keys(username: str) -> list[tuple[RateLimitItemPerSecond, str, str]]:
    """(limit, scope, identifier) of this sign-in: the account's first, then the address's."""
    config = current_app.config
    window = int(config.get("CONSOLE_LOGIN_WINDOW_SECONDS", 300))
    account = RateLimitItemPerSecond(int(config.get("CONSOLE_LOGIN_MAX_FAILURES", 5)), window)
    address = RateLimitItemPerSecond(int(config.get("SIGNIN_ADDRESS_MAX_FAILURES", 30)), window)
    return [(account, "account", username.strip().lower() or "-"),
            (address, "address", request.remote_addr or "-")]


def _limiters() -> list[MovingWindowRateLimiter]:
    """Redis first (unless it failed a moment ago), then this process's memory."""
    app = current_app._get_current_object()
    state = app.extensions.setdefault("hotline.signin", {})
    if "memory" not in state:
        state["memory"] = MovingWindowRateLimiter(MemoryStorage())
    if not redis.available():
        return [state["memory"]]
    if "redis" not in state:
        storage = RedisStorage("redis://", connection_pool=redis.connection().connection_pool,
                               key_prefix="hotline:signin")
        state["redis"] = MovingWindowRateLimiter(storage)
    return [state["redis"], state["memory"]]


def _with_limiter(operation):
    """Run `operation(limiter)` on Redis, or on memory when Redis does not answer."""
    for limiter in _limiters():
        try:
            return operation(limiter)
        except (redis_errors.RedisError, OSError) as error:
            log.warning("sign-in limiter falls back to memory, Redis unavailable: %s", error)
            redis.failed()
    raise AssertionError("the memory limiter cannot fail")  # pragma: no cover


def check_not_locked(username: str) -> None:
    """429 when this account or this address has used up its failed sign-ins."""

    def blocked(limiter: MovingWindowRateLimiter) -> int:
        waits = []
        for item, scope, ident in _keys(username):
            if not limiter.test(item, scope, ident):
                reset = limiter.get_window_stats(item, scope, ident).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits, default=0)

    wait = _with_limiter(blocked)
    if wait:
        raise TooManyAttempts(wait)


def _failed(username: str) -> None:
    _with_limiter(lambda limiter: [limiter.hit(item, scope, ident) for item, scope, ident in _keys(username)])


def _succeeded(username: str) -> None:
    item, scope, ident = _keys(username)[0]
    _with_limiter(lambda limiter: limiter.clear(item, scope, ident))


def authenticate(username: str, password: str) -> User:
    """The active user with these credentials; 429 while locked out, else 401 on any mismatch.

    The same answer, after the same work, for an unknown name, a wrong password or an inactive
    account. Outside production the demo users' password `demo` works; in production it never
    does (and the app refuses to start while a demo user still has it).
    """
    check_not_locked(username)
    user = get_by_username(username) if username else None
    if user is None:
        passwords.burn_time(password)
        ok = False
    else:
        ok = user.check_password(password) and user.active
    if ok and password == DEMO_PASSWORD and current_app.config.get("ENV_NAME") == "production":
        ok = False
    if not ok:
        _failed(username)
        raise BadCredentials()
    _succeeded(username)
    return user
