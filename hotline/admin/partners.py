"""The partners directory (合作机构): services, area, hours, capacity, contact, active.

Admins edit it; everyone signed in reads the active part of it (referrals pick from it).
"""

from sqlalchemy import select

from hotline import permissions
from hotline.admin import changes
from hotline.admin.changes import Subject
from hotline.errors import Forbidden, Invalid, NotFound
from hotline.extensions import db
from hotline.users import User
from referrals.models import Partner


def _check_editor(actor: User) -> None:
    if not permissions.is_admin(actor):
        raise Forbidden(error="partner.edit_forbidden")


def _get(code: str) -> Partner:
    partner = db.session.scalar(select(Partner).where(Partner.code == code))
    if partner is None:
        raise NotFound(error="partner.not_found", params={"partner": code})
    return partner


def directory() -> list[Partner]:
    """Every partner, active or not, by name."""
    return list(db.session.scalars(select(Partner).order_by(Partner.active.desc(), Partner.code)))


def get_partner(code: str) -> Partner:
    return _get(code)


def create(actor: User, body: dict) -> Partner:
    """Add a partner (a validated PartnerIn body)."""
    _check_editor(actor)
    if db.session.scalar(select(Partner).where(Partner.code == body["code"])):
        raise Invalid(errors={"code": ["exists"]}, error="partner.exists", params={"partner": body["code"]})
    partner = Partner(**body)
    db.session.add(partner)
    db.session.flush()
    changes.record(actor, Subject.PARTNER, partner.code, "create", body)
    return partner


def update(actor: User, code: str, body: dict) -> Partner:
    """Edit a partner with the fields given; its code never changes."""
    _check_editor(actor)
    partner = _get(code)
    if body.get("code", code) != code:
        raise Invalid(errors={"code": ["must match the URL"]}, error="partner.code_fixed")
    before = {key: getattr(partner, key) for key in body}
    for key, value in body.items():
        setattr(partner, key, value)
    db.session.flush()
    changed = changes.diff(before, body)
    if changed:
        changes.record(actor, Subject.PARTNER, code, "update", changed)
    return partner
