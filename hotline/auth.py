"""API tokens: `POST /api/v1/auth/token` issues one; `Authorization: Bearer` presents it.

Only a SHA-256 of each token is stored, so a leaked table gives no working token.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, g, request
from sqlalchemy import ForeignKey, String, bindparam, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.errors import Unauthorized
from hotline.extensions import db
from hotline.types import UTCDateTime, utcnow
from hotline.users import User, get_by_username

BAD_CREDENTIALS = "用户名或密码错误 (wrong username or password)"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(username: str, password: str) -> str:
    """Check the credentials and return a new bearer token (401 otherwise)."""
    user = get_by_username(username)
    if user is None or not user.active or not user.check_password(password):
        raise Unauthorized(BAD_CREDENTIALS)
    token = secrets.token_urlsafe(32)
    lifetime = timedelta(hours=current_app.config["TOKEN_LIFETIME_HOURS"])
    db.session.add(ApiToken(token_hash=_digest(token), user=user, expires_at=utcnow() + lifetime))
    return token


# Built once: every API request runs it, and a prebuilt statement skips the per-call
# cache-key work. One join, no token row loaded: the user or nothing.
_USER_FOR_TOKEN = (
    select(User).join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"), ApiToken.expires_at > bindparam("now"),
           User.active.is_(True))
)


def user_for_token(token: str) -> User | None:
    """The active user holding this unexpired token, else None."""
    return db.session.scalar(_USER_FOR_TOKEN, {"digest": _digest(token), "now": utcnow()})


def current_user() -> User:
    """The user behind this request's bearer token; 401 without a valid one."""
    if "user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("需要登录 (missing bearer token)")
        user = user_for_token(token.strip())
        if user is None:
            raise Unauthorized("令牌无效或已过期 (invalid or expired token)")
        g.user = user
    return g.user
