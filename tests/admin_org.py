"""A fixture for tests that change the organisation: users and units are seeded once per
session (not emptied per test), so what a test adds goes again and what it changes comes back."""

import pytest
from sqlalchemy import delete, select, text, update

from hotline import audit
from hotline.extensions import db
from hotline.units import Unit
from hotline.users import User
from tests.conftest import PER_TEST_TABLES

UNIT_FIELDS = ("name", "kind", "parent_id", "path", "active", "contact_name", "contact_phone")
USER_FIELDS = ("display_name", "role", "unit_id", "desks", "active", "must_change_password", "phone",
               "password_hash")


@pytest.fixture
def org(app):
    """Yields; then the seeded units and users are as they were and the new ones are gone."""
    with app.app_context():
        units = {u.id: {f: getattr(u, f) for f in UNIT_FIELDS} for u in db.session.scalars(select(Unit))}
        users = {u.id: {f: getattr(u, f) for f in USER_FIELDS} for u in db.session.scalars(select(User))}
        db.session.remove()
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn, audit.maintenance(conn, "test harness: restore the organisation"):
            for table in PER_TEST_TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(delete(User).where(User.id.not_in(list(users))))
            for uid, values in users.items():
                conn.execute(update(User).where(User.id == uid).values(**values))
            for uid, values in units.items():
                conn.execute(update(Unit).where(Unit.id == uid).values(**values))
            extra = conn.execute(select(Unit.id, Unit.path).where(Unit.id.not_in(list(units)))).all()
            for uid, _path in sorted(extra, key=lambda row: -len(row.path)):
                conn.execute(delete(Unit).where(Unit.id == uid))
        db.session.remove()
