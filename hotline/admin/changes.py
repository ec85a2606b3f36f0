"""Reading the administration change log as each role may (the log itself: hotline.changelog)."""

from sqlalchemy import and_, or_, select

from hotline import permissions
from hotline.changelog import AdminEvent, Subject, diff, edit_action, recent, record  # noqa: F401
from hotline.extensions import db
from hotline.units import Unit
from hotline.users import User


def visible(actor: User, subject: str | None = None, key: str | None = None,
            limit: int = 200) -> list[AdminEvent]:
    """The change log as `actor` may read it: everything for admins and supervisors; for a unit
    admin, the changes to the users and units of its subtree only."""
    permissions.check_reads_admin(actor)
    stmt = select(AdminEvent).order_by(AdminEvent.at.desc(), AdminEvent.id.desc()).limit(limit)
    if subject:
        stmt = stmt.where(AdminEvent.subject == subject)
    if key:
        stmt = stmt.where(AdminEvent.key == key)
    root = permissions.admin_root(actor)
    if root is not None:
        below = Unit.path.startswith(root.path, autoescape=True)
        units = select(Unit.code).where(below)
        users = select(User.username).join(User.unit).where(below)
        stmt = stmt.where(or_(and_(AdminEvent.subject == Subject.UNIT.value, AdminEvent.key.in_(units)),
                              and_(AdminEvent.subject.in_([Subject.USER.value, Subject.SESSION.value]),
                                   AdminEvent.key.in_(users))))
    return list(db.session.scalars(stmt))
