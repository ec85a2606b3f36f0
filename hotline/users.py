"""Users and their roles: seats, dispatchers, supervisors, unit handlers, partners, admins."""

import enum

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String, false, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline import passwords
from hotline.extensions import db
from hotline.types import enum_column
from hotline.units import Unit


class Role(enum.StrEnum):
    SEAT = "seat"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    HANDLER = "handler"
    PARTNER = "partner"
    ADMIN = "admin"
    # A county's own admin: manages users and sub-units within its unit's subtree only.
    UNIT_ADMIN = "unit_admin"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # The partner organisation a partner user works for (referrals).
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    # Desks a seat works on (general, children, hard_case); empty for other roles.
    desks: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # Set by an admin's reset or an import: the console and the API ask for a new password first.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Where notices to this user may be texted (E.164), empty when none.
    phone: Mapped[str] = mapped_column(String(32), default="", server_default="")

    unit: Mapped[Unit | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated user's console session ends
        return bool(self.active)

    def set_password(self, password: str) -> None:
        self.password_hash = passwords.hash_password(password)

    def check_password(self, password: str) -> bool:
        """True when it matches; an older hash format is replaced by today's on the way."""
        if not passwords.verify(self.password_hash, password):
            return False
        if passwords.needs_upgrade(self.password_hash):
            self.password_hash = passwords.hash_password(password)
        return True


def get_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def display_names() -> dict[int, str]:
    """Every user's display name (their username where none is set) by id: what exports and
    reports show instead of a username."""
    rows = db.session.execute(select(User.id, User.display_name, User.username))
    return {user_id: name or username for user_id, name, username in rows}
