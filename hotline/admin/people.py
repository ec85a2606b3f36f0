"""People: list, create, edit, deactivate users, reset a password, bulk import and export.

One validation (`_check`) serves the API, the console form and every row of an import, so a
file's dry run names exactly the problems the real run would refuse. A reset or an imported
password must be changed at the user's next sign-in (`must_change_password`).
"""

import re
import secrets

from sqlalchemy import false, or_, select

from hotline import auth, passwords, permissions, phones
from hotline.admin import changes
from hotline.admin.changes import Subject
from hotline.errors import FieldProblems, Invalid, NotFound
from hotline.extensions import db
from hotline.tickets.models import Desk
from hotline.units import Unit, get_by_code
from hotline.users import Role, User, get_by_username

# The columns of the import and export file (an import may add `password`).
COLUMNS = ["username", "display_name", "role", "unit", "desks", "phone", "active"]
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,79}$")
PHONE = re.compile(r"^\+?\d{5,15}$")
# Roles made elsewhere: a partner user belongs to a partner organisation (referrals).
NOT_HERE = {Role.PARTNER}
NEEDS_UNIT = {Role.HANDLER, Role.UNIT_ADMIN}
YES = {"1", "true", "yes", "y", "是", "启用", "有效"}
NO = {"0", "false", "no", "n", "否", "停用", "无效"}


def normalize_phone(value: str) -> str:
    """E.164 (`+8613912345678`) whatever the spacing (hotline.phones); what is no phone number
    stays as typed, and is refused below."""
    return phones.normalize(value.strip()) or ""


def split_list(value) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    return [item.strip() for item in re.split(r"[,，;；\s]+", value or "") if item.strip()]


def _flag(value, errors: FieldProblems, field: str) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    if text == "":
        return None
    if text in YES:
        return True
    if text in NO:
        return False
    errors.add(field, "field.yes_or_no")
    return None


def _check(actor: User, data: dict, existing: User | None) -> tuple[dict, FieldProblems]:
    """(clean values, errors by field) of one user's fields; only the keys given are checked."""
    errors = FieldProblems()
    fail = errors.add
    clean: dict = {}

    if existing is None:
        username = str(data.get("username") or "").strip()
        if not USERNAME.match(username):
            fail("username", "admin.bad_username")
        clean["username"] = username
    if "display_name" in data or existing is None:
        name = str(data.get("display_name") or "").strip()
        if not name:
            fail("display_name", "admin.name_required")
        elif len(name) > 200:
            fail("display_name", "admin.name_too_long")
        clean["display_name"] = name
    if "role" in data or existing is None:
        value = str(data.get("role") or "").strip()
        try:
            role = Role(value)
        except ValueError:
            fail("role", "admin.unknown_role", value=value)
            role = None
        if role in NOT_HERE and (existing is None or existing.role != role):
            fail("role", "admin.partner_users_elsewhere")
        clean["role"] = role
    role = clean.get("role") or (existing.role if existing else None)
    if "unit" in data or existing is None:
        code = str(data.get("unit") or "").strip()
        unit = get_by_code(code) if code else None
        if code and unit is None:
            fail("unit", "unit.unknown", unit=code)
        elif unit is not None and not unit.active:
            fail("unit", "admin.unit_inactive", unit=code)
        clean["unit"] = unit
    unit = clean.get("unit", existing.unit if existing else None)
    if role in NEEDS_UNIT and unit is None and "unit" not in errors:
        fail("unit", "admin.role_needs_unit")
    if "desks" in data or existing is None:
        desks = split_list(data.get("desks"))
        unknown = [desk for desk in desks if desk not in {d.value for d in Desk}]
        if unknown:
            fail("desks", "admin.unknown_desks", desks=unknown)
        clean["desks"] = desks
    if "phone" in data:
        phone = normalize_phone(str(data.get("phone") or ""))
        if phone and not PHONE.match(phone):
            fail("phone", "admin.bad_phone")
        clean["phone"] = phone
    if "active" in data:
        active = _flag(data.get("active"), errors, "active")
        if active is not None:
            clean["active"] = active
    if data.get("password"):
        try:
            passwords.check_policy(str(data["password"]), clean.get("username") or existing.username)
        except Invalid as error:
            for field, messages in (error.errors or {}).items():
                errors.setdefault(field, []).extend(messages)
        clean["password"] = str(data["password"])
    # What the actor may do: a unit admin, only within its subtree and only its roles.
    places = [unit] + ([existing.unit] if existing is not None and existing.unit is not unit else [])
    if not all(permissions.can_manage_unit(actor, where) for where in places):
        fail("unit", "admin.outside_subtree")
    if role is not None and not permissions.may_grant(actor, role):
        fail("role", "admin.grants_handler_roles")
    return clean, errors


def _apply(user: User, clean: dict) -> None:
    for field in ("display_name", "role", "unit", "desks", "phone", "active"):
        if field in clean:
            setattr(user, field, clean[field])
    if user.role != Role.SEAT:
        user.desks = []
    if clean.get("password"):
        user.set_password(clean["password"])
        user.must_change_password = True


def values_of(user: User) -> dict:
    """What the change log compares of a user."""
    return {"display_name": user.display_name, "role": user.role.value if user.role else None,
            "unit": user.unit.code if user.unit else None, "desks": list(user.desks or []),
            "phone": user.phone, "active": user.active}


def _new_user(clean: dict) -> User:
    user = User(username=clean["username"], password_hash="", active=True, must_change_password=True)
    if not clean.get("password"):
        # No password given: nobody can sign in until an admin sets one (reset).
        user.set_password(secrets.token_urlsafe(24))
    _apply(user, clean)
    return user


# --- the services -------------------------------------------------------------------------

def list_users(actor: User, q: str = "", role: str | None = None, unit: str | None = None,
               active: bool | None = None) -> list[User]:
    """Users the actor may see (a unit admin: its subtree), matching the search words."""
    permissions.check_reads_admin(actor)
    stmt = select(User).outerjoin(User.unit).order_by(User.username)
    root = permissions.admin_root(actor)
    if root is not None:
        stmt = stmt.where(Unit.path.startswith(root.path, autoescape=True))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(User.username.ilike(like), User.display_name.ilike(like),
                              User.phone.ilike(like), Unit.name.ilike(like)))
    if role:
        stmt = stmt.where(User.role == role)
    if unit:
        below = get_by_code(unit)
        stmt = stmt.where(Unit.path.startswith(below.path, autoescape=True)) if below else stmt.where(false())
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    return list(db.session.scalars(stmt))


def get_user(actor: User, username: str) -> User:
    """The user, or 404 when there is none or it lies outside what the actor administers."""
    permissions.check_reads_admin(actor)
    user = get_by_username(username)
    root = permissions.admin_root(actor)
    if user is None or (root is not None and (user.unit is None or not user.unit.is_within(root))):
        raise NotFound(error="user.not_found", params={"username": username})
    return user


def create_user(actor: User, data: dict) -> User:
    permissions.check_administers(actor, get_by_code(data.get("unit") or "") or permissions.admin_root(actor))
    clean, errors = _check(actor, data, None)
    if clean.get("username") and get_by_username(clean["username"]) is not None:
        errors.add("username", "admin.username_taken")
    errors.refuse()
    user = _new_user(clean)
    db.session.add(user)
    db.session.flush()
    changes.record(actor, Subject.USER, user.username, "create", values_of(user))
    return user


def update_user(actor: User, username: str, data: dict) -> User:
    """Edit, deactivate (`active: false`, every session ends) or reactivate a user."""
    user = get_user(actor, username)
    permissions.check_administers(actor, user.unit)
    if user.id == actor.id and data.get("active") is False:
        raise Invalid(errors={"active": ["yourself"]}, error="admin.deactivate_self")
    clean, errors = _check(actor, {k: v for k, v in data.items() if k != "password"}, user)
    errors.refuse()
    before = values_of(user)
    _apply(user, clean)
    db.session.flush()
    changed = changes.diff(before, values_of(user))
    if changed:
        action = changes.edit_action(before, values_of(user))
        changes.record(actor, Subject.USER, user.username, action, changed)
    return user


def reset_password(actor: User, username: str, password: str) -> None:
    """An admin's reset: the policy applies, every session ends, and the user must choose a
    new password at the next sign-in."""
    user = get_user(actor, username)
    permissions.check_administers(actor, user.unit)
    passwords.check_policy(password, user.username)
    user.set_password(password)
    user.must_change_password = True
    db.session.flush()
    auth.end_all_sessions(user.id)
    changes.record(actor, Subject.USER, user.username, "reset_password")


# --- bulk import and export ---------------------------------------------------------------

def import_users(actor: User, rows: list[dict], dry_run: bool) -> dict:
    """Create new users and update existing ones from a file's rows. Every row is checked
    first; when any row has a problem nothing is written, and each problem is listed."""
    permissions.check_reads_admin(actor)
    if actor.role == Role.SUPERVISOR:
        permissions.check_administers(actor, None)
    report, seen, plans = [], set(), []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        username = str(row.get("username") or "").strip()
        existing = get_by_username(username) if username else None
        given = {key: value for key, value in row.items() if key in COLUMNS + ["password"]}
        if existing is not None:
            given = {key: value for key, value in given.items() if key != "username" and value != ""}
        clean, errors = _check(actor, given, existing)
        if username and username in seen:
            errors.add("username", "import.duplicate_row")
        seen.add(username)
        report.append({"row": number, "username": username,
                       "action": "update" if existing else "create", "errors": errors})
        plans.append((existing, clean))
    ok = not any(entry["errors"] for entry in report)
    if ok and not dry_run:
        for existing, clean in plans:
            if existing is None:
                user = _new_user(clean)
                db.session.add(user)
                changes.record(actor, Subject.USER, user.username, "import_create", values_of(user))
            else:
                before = values_of(existing)
                _apply(existing, clean)
                changed = changes.diff(before, values_of(existing))
                if changed:
                    changes.record(actor, Subject.USER, existing.username, "import_update", changed)
        db.session.flush()
    return _summary(report, ok, dry_run)


def _summary(report: list[dict], ok: bool, dry_run: bool) -> dict:
    return {"dry_run": dry_run, "ok": ok, "written": ok and not dry_run, "rows": report,
            "created": sum(entry["action"] == "create" for entry in report),
            "updated": sum(entry["action"] == "update" for entry in report),
            "problems": sum(bool(entry["errors"]) for entry in report)}


def export_rows(actor: User) -> list[dict]:
    """The users the actor may see, in the import's columns."""
    return [{"username": u.username, "display_name": u.display_name, "role": u.role.value,
             "unit": u.unit.code if u.unit else "", "desks": ",".join(u.desks or []),
             "phone": u.phone, "active": "yes" if u.active else "no"} for u in list_users(actor)]
