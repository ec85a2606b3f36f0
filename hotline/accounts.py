"""What a user does to their own account, and an admin to another's sessions.

Every change that must end sessions (a new password, an admin's "end all") ends them here,
in the same transaction, through hotline.auth.
"""

from hotline import auth, passwords, permissions
from hotline.admin import changes
from hotline.admin.changes import Subject
from hotline.auth import ApiToken
from hotline.errors import Invalid, NotFound, Problem
from hotline.extensions import db
from hotline.users import User, get_by_username


class WrongPassword(Invalid):
    """The current password given with a change is wrong (422, `auth.wrong_password`)."""

    error_code = "auth.wrong_password"


def change_password(user: User, old: str, new: str) -> None:
    """The user's own change: the old password first, then the policy; every session and
    token of the user ends (this one too: sign in again with the new password)."""
    if not passwords.verify(user.password_hash, old):
        raise WrongPassword(errors={"old": [Problem("auth.wrong_password")]})
    if new == old:
        raise Invalid(errors={"new": [Problem("auth.same_password")]}, error="auth.same_password")
    passwords.check_policy(new, user.username, field="new")
    user.set_password(new)
    user.must_change_password = False
    db.session.flush()
    auth.end_all_sessions(user.id)


def set_password(username: str, new: str) -> None:
    """An operator's reset (`hotline users passwd`): the policy applies, every session ends."""
    user = _user(username)
    passwords.check_policy(new, user.username)
    user.set_password(new)
    db.session.flush()
    auth.end_all_sessions(user.id)


def deactivate(username: str) -> None:
    """`hotline users deactivate`: the user can no longer sign in; every session ends."""
    _user(username).active = False
    db.session.flush()


def _user(username: str) -> User:
    user = get_by_username(username)
    if user is None:
        raise NotFound(error="user.not_found", params={"username": username})
    return user


def _managed_user(admin: User, username: str) -> User:
    """The user whose sessions `admin` manages: anyone for an admin; for a unit admin, a user of
    its subtree (404 for anyone else, as the users list would not show them)."""
    permissions.check_manages_sessions(admin)
    user = _user(username)
    root = permissions.admin_root(admin)
    if root is not None and (user.unit is None or not user.unit.is_within(root)):
        raise NotFound(error="user.not_found", params={"username": username})
    return user


def list_sessions(admin: User, username: str) -> list[ApiToken]:
    return auth.sessions_of(_managed_user(admin, username).id)


def end_sessions(admin: User, username: str, session_id: int | None = None) -> None:
    """End one session of the user, or (without an id) all of them (an audited change)."""
    user = _managed_user(admin, username)
    if session_id is None:
        auth.end_all_sessions(user.id)
    elif not auth.end_one_session(user.id, session_id):
        raise NotFound(error="session.not_found")
    changes.record(admin, Subject.SESSION, username, "end_sessions", {"session": session_id or "all"})

