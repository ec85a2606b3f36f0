"""`hotline seed --demo`: the demo organisation and users, idempotent."""

import tomllib
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from hotline.extensions import db
from hotline.units import Unit, UnitKind, get_by_code, path_for
from hotline.users import Role, User, get_by_username
from referrals.models import Partner, PartnerKind

DEMO_PASSWORD = "demo"


def seed_demo() -> dict:
    """Create what is missing of the demo org; never duplicates, never resets passwords."""
    org = tomllib.loads(Path(current_app.config["HOTLINE_DEMO_ORG"]).read_text(encoding="utf-8"))
    created = {"units": 0, "users": 0}
    # One hash for every demo user: the password is public anyway, and hashing it 50
    # times made each seed (and each test session) seconds slower.
    password_hash = ""

    def unit(code: str, name: str, kind: UnitKind, parent: Unit | None) -> Unit:
        existing = get_by_code(code)
        if existing is not None:
            return existing
        row = Unit(code=code, name=name, kind=kind, parent=parent, path=path_for(code, parent))
        db.session.add(row)
        db.session.flush()
        created["units"] += 1
        return row

    def user(username: str, role: Role, display_name: str, unit_row: Unit | None = None,
             desks: list[str] | None = None, partner: Partner | None = None) -> None:
        nonlocal password_hash
        if get_by_username(username) is not None:
            return
        row = User(username=username, role=role, display_name=display_name, unit=unit_row,
                   desks=desks or [], partner_id=partner.id if partner else None)
        if not password_hash:
            row.set_password(DEMO_PASSWORD)
            password_hash = row.password_hash
        row.password_hash = password_hash
        db.session.add(row)
        created["users"] += 1

    city = unit(org["city"]["code"], org["city"]["name"], UnitKind.CITY, None)
    handled: list[Unit] = []
    counties: list[Unit] = []
    for county in org.get("county", []):
        county_row = unit(county["code"], county["name"], UnitKind.COUNTY, city)
        handled.append(county_row)
        counties.append(county_row)
        for sub in county.get("units", []):
            sub_row = unit(sub["code"], sub["name"], UnitKind(sub["kind"]), county_row)
            handled.append(sub_row)
            for village in sub.get("villages", []):
                handled.append(unit(village["code"], village["name"], UnitKind.VILLAGE, sub_row))
    for department in org.get("department", []):
        handled.append(unit(department["code"], department["name"], UnitKind.DEPARTMENT, city))

    for entry in org.get("user", []):
        user(entry["username"], Role(entry["role"]), entry.get("display_name", ""), city,
             entry.get("desks"))
    for row in handled:
        user(f"handler-{row.code}", Role.HANDLER, f"{row.name}承办人", row)
    for row in counties:  # each county's own admin: its users and sub-units only
        user(f"admin-{row.code}", Role.UNIT_ADMIN, f"{row.name}管理员", row)
    created["partners"] = 0
    for entry in org.get("partner", []):
        partner = db.session.scalar(select(Partner).where(Partner.code == entry["code"]))
        if partner is None:
            partner = Partner(code=entry["code"], name=entry["name"], kind=PartnerKind(entry["kind"]),
                              services=entry["services"], area=entry.get("area", []),
                              hours=entry.get("hours", ""),
                              capacity_per_week=entry.get("capacity_per_week", 10))
            db.session.add(partner)
            db.session.flush()
            created["partners"] += 1
        user(f"partner-{partner.code}", Role.PARTNER, partner.name, partner=partner)
    db.session.flush()
    return created


def demo_usernames() -> list[str]:
    """The named users of the demo organisation (its handlers and partners are `handler-*`
    and `partner-*`): the accounts production checks for the public demo password."""
    org = tomllib.loads(Path(current_app.config["HOTLINE_DEMO_ORG"]).read_text(encoding="utf-8"))
    return [entry["username"] for entry in org.get("user", [])]


def demo_logins() -> list[str]:
    """The demo users worth trying first, for `hotline run` and the README (password `demo`)."""
    return ["seat1        坐席 (seat): general + children's desk",
            "seat2        儿童专席 (children's desk only)",
            "seat3        办不成事专席 (hard cases) + general",
            "dispatcher1  派单员 (dispatcher)",
            "supervisor1  值班长 (supervisor)",
            "admin        系统管理员",
            "admin-<county code>  区县单位管理员 (unit admin), e.g. admin-gulou",
            "handler-<unit code>  承办人 of each unit, e.g. handler-gulou, handler-gulou-edu, handler-edu",
            "partner-<code>       合作机构, e.g. partner-xz-xinli (心理援助), partner-12348 (法律援助)"]


def describe(summary: dict) -> str:
    """`created 45 units, 50 users` — the line `hotline seed` prints (parsed by tests)."""
    return "created " + ", ".join(f"{count} {kind}" for kind, count in summary.items())
