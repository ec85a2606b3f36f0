"""The unit tree: add, rename, move, merge, deactivate units, their contacts, bulk import.

A unit's materialised `path` is its ancestors' codes; moving a unit rewrites the paths of its
whole subtree and recomputes `ticket_scopes` of every ticket (open and closed) led or
co-handled within it, so who may see which ticket follows the new tree at once.
"""

import re

from sqlalchemy import select

from hotline import permissions
from hotline.admin import changes
from hotline.admin.changes import Subject
from hotline.errors import FieldProblems, Invalid, NotFound
from hotline.extensions import db
from hotline.tickets.models import Ticket, TicketScope
from hotline.units import Unit, UnitKind, get_by_code, path_for
from hotline.users import User

COLUMNS = ["code", "name", "kind", "parent", "contact_name", "contact_phone", "active"]
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def list_units(actor: User) -> list[Unit]:
    """The units the actor administers (a unit admin: its subtree), parents first."""
    permissions.check_reads_admin(actor)
    stmt = select(Unit).order_by(Unit.path)
    root = permissions.admin_root(actor)
    if root is not None:
        stmt = stmt.where(Unit.path.startswith(root.path, autoescape=True))
    return list(db.session.scalars(stmt))


def get_unit(actor: User, code: str) -> Unit:
    permissions.check_reads_admin(actor)
    unit = get_by_code(code)
    root = permissions.admin_root(actor)
    if unit is None or (root is not None and not unit.is_within(root)):
        raise NotFound(error="unit.not_found", params={"unit": code})
    return unit


def _check(actor: User, data: dict, existing: Unit | None,
           pending: dict | None = None) -> tuple[dict, FieldProblems]:
    """(clean values, errors by field); `pending` holds units a file creates before this row."""
    errors = FieldProblems()
    fail = errors.add
    clean: dict = {}
    pending = pending or {}

    if existing is None:
        code = str(data.get("code") or "").strip()
        if not CODE.match(code):
            fail("code", "admin.bad_unit_code")
        elif get_by_code(code) is not None or code in pending:
            fail("code", "admin.unit_code_taken", unit=code)
        clean["code"] = code
    if "name" in data or existing is None:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 200:
            fail("name", "admin.unit_name")
        clean["name"] = name
    if "kind" in data or existing is None:
        value = str(data.get("kind") or "").strip()
        try:
            clean["kind"] = UnitKind(value)
        except ValueError:
            fail("kind", "admin.unknown_unit_kind", value=value)
    if "parent" in data or existing is None:
        code = str(data.get("parent") or "").strip()
        parent = get_by_code(code) or pending.get(code) if code else None
        if code and parent is None:
            fail("parent", "admin.unknown_parent", unit=code)
        elif parent is None and clean.get("kind", existing.kind if existing else None) != UnitKind.CITY:
            fail("parent", "admin.parent_required")
        elif parent is not None and existing is not None and parent.path.startswith(existing.path):
            fail("parent", "admin.parent_below_itself")
        elif parent is not None and not parent.active:
            fail("parent", "admin.parent_inactive", unit=code)
        clean["parent"] = parent
    for field, limit in (("contact_name", 200), ("contact_phone", 64)):
        if field in data:
            value = str(data.get(field) or "").strip()
            if len(value) > limit:
                fail(field, "admin.too_long", max=limit)
            clean[field] = value
    if "active" in data and data["active"] not in ("", None):
        value = data["active"]
        flag = value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes", "是"}
        clean["active"] = flag
    # A unit admin changes only what is strictly below its own unit.
    if permissions.admin_root(actor) is not None:
        root = permissions.admin_root(actor)
        for where in filter(None, [existing, clean.get("parent")]):
            inside = where.is_within(root) if where.id else where.path.startswith(root.path)
            if not inside or (where is existing and existing.id == root.id):
                fail("parent" if where is not existing else "code", "admin.outside_subtree")
        if existing is None and clean.get("parent") is None:
            fail("parent", "admin.outside_subtree")
    return clean, errors


def _check_writer(actor: User) -> None:
    permissions.check_reads_admin(actor)
    if permissions.admin_root(actor) is None:
        permissions.check_administers(actor, None)  # supervisors read only


def create_unit(actor: User, data: dict) -> Unit:
    _check_writer(actor)
    clean, errors = _check(actor, data, None)
    errors.refuse()
    unit = _new_unit(clean)
    db.session.flush()
    changes.record(actor, Subject.UNIT, unit.code, "create", values_of(unit))
    return unit


def _apply(unit: Unit, clean: dict) -> None:
    """The checked values onto an existing unit; a new parent moves it with its subtree."""
    for field in ("name", "kind", "contact_name", "contact_phone", "active"):
        if field in clean:
            setattr(unit, field, clean[field])
    if "parent" in clean and clean["parent"] is not unit.parent:
        move(unit, clean["parent"])


def values_of(unit: Unit) -> dict:
    """What the change log compares of a unit."""
    return {"name": unit.name, "kind": unit.kind.value if unit.kind else None,
            "parent": unit.parent.code if unit.parent else None, "active": unit.active,
            "contact_name": unit.contact_name, "contact_phone": unit.contact_phone}


def _new_unit(clean: dict) -> Unit:
    unit = Unit(code=clean["code"], name=clean["name"], kind=clean["kind"], parent=clean["parent"],
                path=path_for(clean["code"], clean["parent"]), active=clean.get("active", True),
                contact_name=clean.get("contact_name", ""), contact_phone=clean.get("contact_phone", ""))
    db.session.add(unit)
    return unit


def update_unit(actor: User, code: str, data: dict) -> Unit:
    """Rename, change kind or contacts, move (`parent`), deactivate or reactivate (`active`),
    or merge (`merge_into`: this unit's sub-units and users go to the other unit, and this unit,
    deactivated, goes below it so its tickets' history stays visible there)."""
    _check_writer(actor)
    unit = get_unit(actor, code)
    merge_into = data.get("merge_into")
    clean, errors = _check(actor, {k: v for k, v in data.items() if k != "merge_into"}, unit)
    target = None
    if merge_into:
        target = get_by_code(str(merge_into))
        if target is None or target.id == unit.id or target.path.startswith(unit.path):
            errors.add("merge_into", "admin.bad_merge_target")
        elif (root := permissions.admin_root(actor)) is not None and not target.is_within(root):
            errors.add("merge_into", "admin.outside_subtree")
    errors.refuse()
    before = values_of(unit)
    _apply(unit, clean)
    if target is not None:
        merge(unit, target)
    db.session.flush()
    changed = changes.diff(before, values_of(unit))
    if changed:
        after = values_of(unit)
        action = "merge" if target is not None else changes.edit_action(
            before, after, "move" if "parent" in changed else "update")
        changes.record(actor, Subject.UNIT, unit.code, action, changed)
    return unit


def move(unit: Unit, parent: Unit) -> None:
    """Put `unit` (and its subtree) below `parent`; every affected ticket is rescoped."""
    old, new = unit.path, path_for(unit.code, parent)
    subtree = list(db.session.scalars(select(Unit).where(Unit.path.startswith(old, autoescape=True))))
    unit.parent = parent
    for row in subtree:
        row.path = new + row.path[len(old):]
    db.session.flush()
    ids = [row.id for row in subtree]
    tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_(
        select(TicketScope.ticket_id).where(TicketScope.unit_id.in_(ids)))))
    for ticket in tickets:
        permissions.rescope(ticket)


def merge(unit: Unit, target: Unit) -> None:
    """`unit`'s sub-units and users go to `target`; `unit`, deactivated, moves below it."""
    for child in list(db.session.scalars(select(Unit).where(Unit.parent_id == unit.id))):
        move(child, target)
    for member in db.session.scalars(select(User).where(User.unit_id == unit.id)):
        member.unit = target
    unit.active = False
    move(unit, target)


def import_units(actor: User, rows: list[dict], dry_run: bool) -> dict:
    """Create new units and update existing ones (by code) from a file's rows, parents in any
    order. Every row is checked first; when any has a problem nothing is written."""
    _check_writer(actor)
    pending: dict[str, Unit] = {}
    by_code = {str(row.get("code") or "").strip(): row for row in rows}
    ordered = sorted(enumerate(rows, start=2), key=lambda item: _depth(item[1], by_code))
    report, plans = {}, []
    for number, row in ordered:
        code = str(row.get("code") or "").strip()
        existing = get_by_code(code) if code else None
        given = {key: value for key, value in row.items() if key in COLUMNS}
        if existing is not None:
            given = {key: value for key, value in given.items() if key != "code" and value != ""}
        clean, errors = _check(actor, given, existing, pending)
        if existing is None and code and "code" not in errors and "parent" not in errors:
            # A stand-in, never added to the session: its children's rows can name it.
            parent = clean.get("parent")
            pending[code] = Unit(code=code, name=clean.get("name", ""), kind=clean.get("kind"),
                                 path=path_for(code, parent), active=True)
        report[number] = {"row": number, "code": code, "action": "update" if existing else "create",
                          "errors": errors}
        plans.append((existing, code, clean))
    report_rows = [report[number] for number in sorted(report)]
    ok = not any(entry["errors"] for entry in report_rows)
    if ok and not dry_run:
        made: dict[str, Unit] = {}
        for existing, code, clean in plans:
            parent = clean.get("parent")
            if parent is not None and parent.code in made:
                clean["parent"] = made[parent.code]
            if existing is None:
                made[code] = _new_unit(clean)
                db.session.flush()
                changes.record(actor, Subject.UNIT, code, "import_create", values_of(made[code]))
            else:
                before = values_of(existing)
                _apply(existing, clean)
                changed = changes.diff(before, values_of(existing))
                if changed:
                    changes.record(actor, Subject.UNIT, code, "import_update", changed)
        db.session.flush()
    return {"dry_run": dry_run, "ok": ok, "written": ok and not dry_run, "rows": report_rows,
            "created": sum(entry["action"] == "create" for entry in report_rows),
            "updated": sum(entry["action"] == "update" for entry in report_rows),
            "problems": sum(bool(entry["errors"]) for entry in report_rows)}


def _depth(row: dict, by_code: dict, limit: int = 20) -> int:
    """How many of the row's ancestors the file itself defines (parents come first)."""
    depth, parent = 0, str(row.get("parent") or "").strip()
    while parent in by_code and depth < limit:
        depth += 1
        parent = str(by_code[parent].get("parent") or "").strip()
    return depth


def export_rows(actor: User) -> list[dict]:
    return [{"code": u.code, "name": u.name, "kind": u.kind.value,
             "parent": u.parent.code if u.parent else "", "contact_name": u.contact_name,
             "contact_phone": u.contact_phone, "active": "yes" if u.active else "no"}
            for u in list_units(actor)]


def check_may_receive(unit: Unit) -> None:
    """A deactivated unit keeps its history but receives no new dispatch (422 `unit.inactive`)."""
    if not unit.active:
        raise Invalid(errors={"unit": [f"unit {unit.code} is deactivated"]}, error="unit.inactive",
                      params={"unit": unit.name})

