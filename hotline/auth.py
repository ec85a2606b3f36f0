"""Sessions: API bearer tokens and console sign-ins, both kept as server-side records.

`POST /api/v1/auth/token` issues a bearer token; a console sign-in gets a record of its own
whose secret rides in the (signed) session cookie. Only a SHA-256 of each secret is stored,
so a leaked table gives no working token. Ending a record ends that session at once: logout
ends one; a password change, a deactivation or an admin ends all of a user's (a reactivated
user starts with none, so old tokens stay dead).
"""

import enum
import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, g, request
from sqlalchemy import ForeignKey, String, bindparam, delete, event, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from hotline import shared_cache
from hotline.errors import Forbidden, Unauthorized
from hotline.extensions import db
from hotline.types import UTCDateTime, enum_column, utcnow
from hotline.users import User

# The console's Flask session holds the secret of its server-side record under this key.
CONSOLE_SESSION_KEY = "sid"


class SessionKind(enum.StrEnum):
    API = "api"
    CONSOLE = "console"


class ApiToken(db.Model):
    """One session: a bearer token (`api`) or a console sign-in (`console`)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[SessionKind] = mapped_column(enum_column(SessionKind), default=SessionKind.API,
                                              server_default=SessionKind.API.value)
    # Where it was signed in from (shown to an admin listing the user's sessions).
    address: Mapped[str] = mapped_column(String(64), default="", server_default="")

    user: Mapped[User] = relationship(lazy="joined")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, kind: SessionKind = SessionKind.API) -> str:
    """A new session record for a signed-in user; returns its secret (shown once)."""
    # The user's expired records go as a new one comes: the table holds live sessions only.
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at <= utcnow()))
    token = secrets.token_urlsafe(32)
    hours = current_app.config["TOKEN_LIFETIME_HOURS" if kind is SessionKind.API else "CONSOLE_SESSION_HOURS"]
    db.session.add(ApiToken(token_hash=_digest(token), user=user, kind=kind,
                            address=(request.remote_addr or "")[:64] if request else "",
                            expires_at=utcnow() + timedelta(hours=hours)))
    return token


def end_session(token: str) -> None:
    """End the one session holding this secret (logout)."""
    db.session.execute(delete(ApiToken).where(ApiToken.token_hash == _digest(token)))


def end_all_sessions(user_id: int) -> int:
    """End every session and token of a user at once; how many there were."""
    result = db.session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    return result.rowcount or 0


def end_one_session(user_id: int, session_id: int) -> bool:
    """End one session of this user (admin); False when there is no such session."""
    result = db.session.execute(
        delete(ApiToken).where(ApiToken.user_id == user_id, ApiToken.id == session_id))
    return bool(result.rowcount)


def sessions_of(user_id: int) -> list[ApiToken]:
    """The user's live sessions, newest first."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.expires_at > utcnow())
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


# Built once: every API request runs it, and a prebuilt statement skips the per-call
# cache-key work. One join, no token row loaded: the user (and when the token expires) or nothing.
_USER_FOR_TOKEN = (
    select(User, ApiToken.expires_at).join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"), ApiToken.expires_at > bindparam("now"),
           ApiToken.kind == bindparam("kind"), User.active.is_(True))
)


def user_for_token(token: str, kind: SessionKind = SessionKind.API) -> User | None:
    """The active user holding this unexpired session secret of this kind, else None.

    A token found is kept in this process's cache (hotline.shared_cache, name `sessions`)
    until it expires or any session or user changes anywhere: a logout, a revocation, a
    deactivation or a role change is in force at the next request on every process."""
    digest = _digest(token)
    found = shared_cache.cached("sessions", (digest, kind.value), lambda: _holder(digest, kind))
    if found is None:
        return None
    user, expires_at = found
    if expires_at <= utcnow():
        return None
    return shared_cache.attach(user)


def _holder(digest: str, kind: SessionKind) -> tuple[User, datetime] | None:
    row = db.session.execute(_USER_FOR_TOKEN, {"digest": digest, "now": utcnow(), "kind": kind.value}).first()
    return (shared_cache.snapshot(row[0]), row[1]) if row is not None else None


def bearer_token() -> str:
    """The request's bearer token; 401 without one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(error="auth.token_missing")
    return token.strip()


def current_user() -> User:
    """The user behind this request's bearer token; 401 without a valid one."""
    if "user" not in g:
        user = user_for_token(bearer_token())
        if user is None:
            raise Unauthorized(error="auth.token_invalid")
        if user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            raise PasswordChangeRequired()
        g.user = user
    return g.user


class PasswordChangeRequired(Forbidden):
    """An admin reset (or an import) set this user's password: only changing it is allowed."""

    error_code = "auth.password_change_required"


# What a user who must change their password may still do through the API.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout"})


@event.listens_for(Session, "before_flush")
def _deactivation_ends_sessions(session, _context, _instances) -> None:
    """Whatever deactivates a user (admin API, CLI, a script) ends all their sessions in the
    same transaction, so reactivating them later revives none."""
    for obj in session.dirty:
        if isinstance(obj, User) and obj.active is False:
            history = inspect(obj).attrs.active.history
            if history.deleted and any(history.deleted):
                session.execute(delete(ApiToken).where(ApiToken.user_id == obj.id))
