"""Administration (docs/integration.md Additions "Administration"): users, unit writes, bulk import/export.

`GET|POST /api/v1/users`, `PATCH /api/v1/users/{username}`, `POST /api/v1/users/{username}/password`,
`POST /api/v1/units`, `PATCH /api/v1/units/{code}`, `POST /api/v1/admin/import` (multipart,
`kind=units|users`, `dry_run`), `GET /api/v1/admin/export?kind=&format=csv|xlsx`.
"""

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from hotline.admin import organisation, people, tabular
from hotline.api import route
from hotline.auth import current_user
from hotline.passwords import MAX_LENGTH
from hotline.units import UnitKind
from hotline.users import Role

users_blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users (administration)")
units_blp = Blueprint("unit_admin", __name__, url_prefix="/api/v1/units", description="Unit tree (admin)")
import_blp = Blueprint("admin_import", __name__, url_prefix="/api/v1/admin",
                       description="Bulk import and export of units and users")
ROLES = [role.value for role in Role]
NAMED = "A field breaks a rule (named)"
NO_USER = "No such user, or outside the unit admin's subtree"


class UserOut(ma.Schema):
    username = fields.String()
    display_name = fields.String()
    role = fields.Function(lambda u: u.role.value)
    unit = fields.Function(lambda u: u.unit.code if u.unit else None)
    desks = fields.List(fields.String())
    phone = fields.String()
    active = fields.Boolean()
    must_change_password = fields.Boolean()


class UserPatch(ma.Schema):
    display_name = fields.String(validate=validate.Length(min=1, max=200))
    role = fields.String(validate=validate.OneOf(ROLES))
    unit = fields.String(allow_none=True, validate=validate.Length(max=64))
    desks = fields.List(fields.String(validate=validate.Length(max=32)), validate=validate.Length(max=3))
    phone = fields.String(validate=validate.Length(max=32))
    active = fields.Boolean()


class UserIn(UserPatch):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = fields.String(validate=validate.Length(max=MAX_LENGTH), metadata={
        "description": "Optional initial password (policy applies); the user must change it at "
                       "first sign-in. Without it nobody can sign in until an admin resets it."})


class UserQuery(ma.Schema):
    q = fields.String(load_default="", validate=validate.Length(max=100))
    role = fields.String(validate=validate.OneOf(ROLES))
    unit = fields.String(validate=validate.Length(max=64))
    active = fields.Boolean()


class PasswordReset(ma.Schema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=MAX_LENGTH))


class UnitAdminOut(ma.Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.Function(lambda u: u.kind.value)
    parent = fields.Function(lambda u: u.parent.code if u.parent else None)
    active = fields.Boolean()
    contact_name = fields.String()
    contact_phone = fields.String()


class UnitPatch(ma.Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.String(validate=validate.OneOf([kind.value for kind in UnitKind]))
    parent = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "Move the unit (and its subtree) below this unit; scopes are recomputed."})
    contact_name = fields.String(validate=validate.Length(max=200))
    contact_phone = fields.String(validate=validate.Length(max=64))
    active = fields.Boolean(metadata={"description": "false: keeps its history, takes no new dispatch"})
    merge_into = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "Merge into this unit: sub-units and users move there, this unit is "
                       "deactivated below it (its tickets stay visible there)."})


class UnitIn(UnitPatch):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf([kind.value for kind in UnitKind]))


class ImportForm(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["units", "users"]))
    dry_run = fields.Boolean(load_default=True, metadata={
        "description": "true (default): check every row, write nothing"})


class ImportFile(ma.Schema):
    file = Upload(required=True)


class RowOut(ma.Schema):
    row = fields.Integer(metadata={"description": "the row number in the file (the header is row 1)"})
    key = fields.Function(lambda row: row.get("username", row.get("code")))
    action = fields.String(metadata={"description": "create or update"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ImportOut(ma.Schema):
    dry_run = fields.Boolean()
    ok = fields.Boolean(metadata={"description": "no row has a problem"})
    written = fields.Boolean()
    created = fields.Integer()
    updated = fields.Integer()
    problems = fields.Integer()
    rows = fields.List(fields.Nested(RowOut))


class ExportQuery(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["units", "users"]))
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))


READ_ONLY = "Supervisors read only"


@route(users_blp, "", query=UserQuery, out=UserOut(many=True),
       refusals={403: "Not an admin, supervisor or unit admin"})
def list_users(query):
    """Users, searched by name, username, phone or unit (a unit admin: its subtree only)."""
    return people.list_users(current_user(), **query)


@route(users_blp, "", "POST", body=UserIn, out=UserOut, status=201, commit=True,
       refusals={403: "Not an admin (or the unit admin of the user's unit)", 422: NAMED})
def create_user(body):
    """Create a user."""
    return people.create_user(current_user(), body)


@route(users_blp, "/<string:username>", "PATCH", body=UserPatch, out=UserOut, commit=True,
       refusals={403: READ_ONLY, 404: NO_USER})
def update_user(body, username):
    """Edit a user; `active: false` deactivates (every session ends), `true` reactivates."""
    return people.update_user(current_user(), username, body)


@route(users_blp, "/<string:username>/password", "POST", body=PasswordReset, status=204, commit=True,
       refusals={403: READ_ONLY, 404: NO_USER, 422: "The password breaks the policy"})
def reset_password(body, username):
    """Reset a user's password: their sessions end and they must change it at next sign-in."""
    people.reset_password(current_user(), username, body["password"])


@route(units_blp, "", "POST", body=UnitIn, out=UnitAdminOut, status=201, commit=True,
       refusals={403: "Not an admin (or the unit admin of the parent)", 422: NAMED})
def create_unit(body):
    """Add a unit below `parent`."""
    return organisation.create_unit(current_user(), body)


@route(units_blp, "/<string:code>", "PATCH", body=UnitPatch, out=UnitAdminOut, commit=True,
       refusals={403: READ_ONLY, 404: "No such unit, or outside the unit admin's subtree"})
def update_unit(body, code):
    """Rename, move, merge, deactivate or reactivate a unit, or change its contact."""
    return organisation.update_unit(current_user(), code, body)


IMPORTERS = {"users": people.import_users, "units": organisation.import_units}
EXPORTERS = {"users": (people.COLUMNS, people.export_rows),
             "units": (organisation.COLUMNS, organisation.export_rows)}


@route(import_blp, "/import", "POST", form=ImportForm, files=ImportFile, out=ImportOut, commit=True,
       refusals={403: "Not an admin or unit admin", 422: "Not a readable CSV or XLSX file"})
def import_file(form, files):
    """Check (dry run) or import a CSV/XLSX of units or users; nothing is written while any
    row has a problem, and every row's problems are listed."""
    upload = files["file"]
    rows = tabular.read_rows(upload.filename, upload.read())
    return IMPORTERS[form["kind"]](current_user(), rows, form["dry_run"])


@route(import_blp, "/export", query=ExportQuery, refusals={403: "Not an admin, supervisor or unit admin"},
       description="The file (CSV or XLSX), in the import's columns")
def export_file(query):
    """The units or users the caller administers, in the same columns the import reads."""
    columns, rows = EXPORTERS[query["kind"]]
    data, mimetype = tabular.write_rows(columns, rows(current_user()), query["format"])
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={query['kind']}.{query['format']}"})
