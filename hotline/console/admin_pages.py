"""The administration pages (/console/admin/...): users, the unit tree, bulk import and export,
and everyone's own password page. The console side of hotline.admin; the same services and
permissions as the API (a unit admin sees and changes its subtree only; supervisors read)."""


from flask import Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user

from hotline import accounts, auth, permissions
from hotline.admin import changes, organisation, partners, people, tabular
from hotline.admin.changes import Subject
from hotline.console import bp, forms, labels, queries
from hotline.console.guard import allowed
from hotline.console.helpers import save_form, user
from hotline.errors import HotlineError, Invalid
from hotline.extensions import db
from hotline.tickets.models import Desk
from hotline.units import UnitKind
from hotline.users import Role
from referrals.schemas import PartnerIn

READERS = (Role.ADMIN, Role.SUPERVISOR, Role.UNIT_ADMIN)

ROLE_NAMES = {role: labels.ROLES[role.value] for role in Role}
KIND_NAMES = {kind: labels.UNIT_KINDS[kind.value] for kind in UnitKind}
DESK_NAMES = {Desk.GENERAL: _l("综合专席"), Desk.CHILDREN: _l("儿童专席"), Desk.HARD_CASE: _l("办不成事专席")}
# Endpoints a user who must change their password may still open.
WHILE_CHANGING = {"console.own_password", "console.logout", "console.login", "console.set_language",
                  "console.static", "static"}


@bp.before_request
def _password_first():
    """After an admin's reset (or an import) the console shows only the password page."""
    if (request.blueprint == "console" and current_user.is_authenticated
            and current_user.must_change_password and request.endpoint not in WHILE_CHANGING):
        return redirect(url_for("console.own_password"))
    return None


def _context() -> dict:
    viewer = user()
    return {"role_names": ROLE_NAMES, "kind_names": KIND_NAMES, "desk_names": DESK_NAMES,
            "may_write": permissions.can_write_admin(viewer),
            "grantable": [r for r in Role if r not in people.NOT_HERE and permissions.may_grant(viewer, r)],
            "unit_choices": organisation.list_units(viewer)}


def _or_404(lookup, *args):
    """What `lookup` finds, or the 404 page (missing, or outside what the viewer administers)."""
    try:
        return lookup(*args)
    except HotlineError:
        abort(404)


def _user_form(form) -> dict:
    """The user form's fields as the service takes them (only those present)."""
    data = {name: form.get(name, "").strip() for name in
            ("username", "display_name", "role", "unit", "phone", "password") if name in form}
    if "desks_sent" in form:
        data["desks"] = form.getlist("desks")
    if "active" in form:
        data["active"] = form.get("active") == "yes"
    return {key: value for key, value in data.items() if key != "password" or value}


# --- users ---------------------------------------------------------------------------------

@bp.get("/admin/users")
@allowed(permissions.can_read_admin)
def admin_users(state: forms.FormState | None = None, status: int = 200):
    args = request.args
    rows = people.list_users(user(), q=args.get("q", "")[:100], role=args.get("role") or None,
                             unit=args.get("unit") or None)
    return render_template("console/admin_users.html", rows=rows, form=state or forms.FormState(),
                           **_context()), status


@bp.post("/admin/users")
@allowed(permissions.can_write_admin)
def admin_create_user():
    created = []
    failed = save_form(lambda: created.append(people.create_user(user(), _user_form(request.form))),
                       lambda state, status: admin_users(state, status))
    if failed:
        return failed
    flash(gettext("已创建用户 %(name)s；首次登录须修改密码。", name=created[0].username))
    return redirect(url_for("console.admin_user", username=created[0].username))


@bp.get("/admin/users/<username>")
@allowed(permissions.can_read_admin)
def admin_user(username: str, state: forms.FormState | None = None, status: int = 200):
    row = _or_404(people.get_user, user(), username)
    return render_template("console/admin_user.html", row=row, form=state or forms.FormState(),
                           **_context()), status


@bp.post("/admin/users/<username>")
@allowed(permissions.can_write_admin)
def admin_update_user(username: str):
    return _saved(lambda: people.update_user(user(), username, _user_form(request.form)),
                  lambda state, status: admin_user(username, state, status), "console.admin_user",
                  username=username)


@bp.post("/admin/users/<username>/password")
@allowed(permissions.can_write_admin)
def admin_reset_password(username: str):
    return _saved(lambda: people.reset_password(user(), username, request.form.get("password", "")),
                  lambda state, status: admin_user(username, state, status), "console.admin_user",
                  said=gettext("密码已重置，该用户的会话已结束；下次登录须修改密码。"), username=username)


# --- units ---------------------------------------------------------------------------------

def _unit_form(form) -> dict:
    data = {name: form.get(name, "").strip() for name in
            ("code", "name", "kind", "parent", "contact_name", "contact_phone", "merge_into")
            if name in form}
    data = {key: value for key, value in data.items() if key not in ("merge_into", "parent") or value}
    if "active" in form:
        data["active"] = form.get("active") == "yes"
    return data


@bp.get("/admin/units")
@allowed(permissions.can_read_admin)
def admin_units(state: forms.FormState | None = None, status: int = 200):
    units = organisation.list_units(user())
    top = min((u.path.count("/") for u in units), default=2)
    tree = [(u, u.path.count("/") - top) for u in units]
    return render_template("console/admin_units.html", tree=tree, form=state or forms.FormState(),
                           **_context()), status


@bp.post("/admin/units")
@allowed(permissions.can_write_admin)
def admin_create_unit():
    return _saved(lambda: organisation.create_unit(user(), _unit_form(request.form)), admin_units,
                  "console.admin_units", said=gettext("已添加单位。"))


@bp.get("/admin/units/<code>")
@allowed(permissions.can_read_admin)
def admin_unit(code: str, state: forms.FormState | None = None, status: int = 200):
    unit = _or_404(organisation.get_unit, user(), code)
    members = people.list_users(user(), unit=code)
    return render_template("console/admin_unit.html", unit=unit, members=members,
                           form=state or forms.FormState(), **_context()), status


@bp.post("/admin/units/<code>")
@allowed(permissions.can_write_admin)
def admin_update_unit(code: str):
    return _saved(lambda: organisation.update_unit(user(), code, _unit_form(request.form)),
                  lambda state, status: admin_unit(code, state, status), "console.admin_unit", code=code)


# --- import and export ---------------------------------------------------------------------

IMPORTERS = {"users": people.import_users, "units": organisation.import_units}


@bp.route("/admin/import", methods=["GET", "POST"])
@allowed(permissions.can_write_admin)
def admin_import():
    """Upload a CSV/XLSX of units or users: `试运行` checks every row and writes nothing,
    `导入` writes only when no row has a problem."""
    result, kind, status = None, request.form.get("kind", request.args.get("kind", "users")), 200
    message = None
    if request.method == "POST":
        upload = request.files.get("file")
        dry_run = request.form.get("mode") != "import"
        try:
            if kind not in IMPORTERS or upload is None or not upload.filename:
                raise Invalid(error="import.no_file")
            rows = tabular.read_rows(upload.filename, upload.read())
            result = IMPORTERS[kind](user(), rows, dry_run)
            if result["written"]:
                db.session.commit()
            else:
                db.session.rollback()
        except HotlineError as error:
            db.session.rollback()
            message, status = error.message, error.code
        if result is not None:
            for row in result["rows"]:
                row["errors"] = forms.flatten_errors(row["errors"])
            if not result["ok"]:
                status = 422
    return render_template("console/admin_import.html", result=result, kind=kind,
                           message=message), status


@bp.get("/admin/export")
@allowed(permissions.can_read_admin)
def admin_export():
    kind = request.args.get("kind", "users")
    fmt = request.args.get("format", "xlsx")
    if kind not in ("users", "units") or fmt not in ("csv", "xlsx"):
        abort(404)
    columns, rows = ((people.COLUMNS, people.export_rows) if kind == "users"
                     else (organisation.COLUMNS, organisation.export_rows))
    data, mimetype = tabular.write_rows(columns, rows(user()), fmt)
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={kind}.{fmt}"})


# --- one's own password --------------------------------------------------------------------

@bp.route("/password", methods=["GET", "POST"])
@login_required
def own_password():
    """Change one's own password; required first after an admin's reset. Every other session
    of the user ends; this browser stays signed in with a fresh session."""
    if request.method == "GET":
        return render_template("console/password.html", form=forms.FormState())
    me = user()
    if request.form.get("new", "") != request.form.get("confirm", ""):
        state = forms.FormState(errors={"confirm": [gettext("两次输入的新密码不一致")]})
        return render_template("console/password.html", form=state), 422
    failed = save_form(lambda: accounts.change_password(me, request.form.get("old", ""),
                                                        request.form.get("new", "")),
                       lambda state, status: (render_template("console/password.html", form=state), status))
    if failed:
        return failed
    session.clear()
    session[auth.CONSOLE_SESSION_KEY] = auth.start_session(me, auth.SessionKind.CONSOLE)
    db.session.commit()
    login_user(me)
    session.permanent = True
    flash(gettext("密码已修改。"))
    return redirect(url_for("console.home"))


# --- the partners directory ----------------------------------------------------------------

PARTNER_KINDS = {"psychology": _l("心理援助"), "legal_aid": _l("法律援助"), "social_work": _l("社会工作")}


def _partner_context(state: forms.FormState | None) -> dict:
    return {"form": state or forms.FormState(), "kind_names": PARTNER_KINDS, "service_names": labels.SERVICES,
            "may_write": permissions.is_admin(user()), "units": queries.units_by_code()}


def _partner_body(form, partial: bool) -> dict:
    """The form as a validated PartnerIn body (FormInvalid names the fields otherwise)."""
    raw = {"name": form.get("name", "").strip(), "kind": form.get("kind", ""),
           "services": form.getlist("services"), "hours": form.get("hours", "").strip(),
           "area": people.split_list(form.get("area", "")),
           "capacity_per_week": form.get("capacity_per_week", "10") or "10",
           "contact": form.get("contact", "").strip(), "active": form.get("active") == "yes"}
    if not partial:
        raw["code"] = form.get("code", "").strip()
    return forms.load(PartnerIn(partial=partial), raw)


@bp.get("/admin/partners")
@allowed(permissions.is_supervisor)
def admin_partners(state: forms.FormState | None = None, status: int = 200):
    return render_template("console/admin_partners.html", rows=partners.directory(),
                           **_partner_context(state)), status


@bp.post("/admin/partners")
@allowed(permissions.is_admin)
def admin_create_partner():
    return _saved(lambda: partners.create(user(), _partner_body(request.form, partial=False)), admin_partners,
                  "console.admin_partners", said=gettext("已添加合作机构。"))


@bp.get("/admin/partners/<code>")
@allowed(permissions.is_admin)
def admin_partner(code: str, state: forms.FormState | None = None, status: int = 200):
    partner = _or_404(partners.get_partner, code)
    return render_template("console/admin_partner.html", p=partner, **_partner_context(state)), status


@bp.post("/admin/partners/<code>")
@allowed(permissions.is_admin)
def admin_update_partner(code: str):
    return _saved(lambda: partners.update(user(), code, _partner_body(request.form, partial=True)),
                  lambda state, status: admin_partner(code, state, status), "console.admin_partner",
                  code=code)


def _saved(save, rerender, endpoint: str, said: str | None = None, **args):
    """A form posted: saved, said (`said`, or that it is saved), and on to `endpoint`; or the
    form again."""
    failed = save_form(save, rerender)
    if failed:
        return failed
    flash(said or gettext("已保存。"))
    return redirect(url_for(endpoint, **args))


# --- the change log ------------------------------------------------------------------------

ACTION_NAMES = {"create": _l("新建"), "update": _l("修改"), "deactivate": _l("停用"),
                "reactivate": _l("重新启用"), "reset_password": _l("重置密码"), "move": _l("移动"),
                "merge": _l("合并"), "import_create": _l("导入新建"), "import_update": _l("导入更新"),
                "declare": _l("宣布年度放假安排"), "clear": _l("取消调整"), "recompute": _l("重算计时"),
                "resend": _l("重新发送"), "cancel": _l("取消发送"), "end_sessions": _l("结束会话")}
SUBJECT_NAMES = {"user": _l("用户"), "unit": _l("单位"), "partner": _l("合作机构"), "rules": _l("规则"),
                 "calendar": _l("工作日历"), "outbox": _l("短信发件箱"), "session": _l("登录会话")}


@bp.get("/admin/changes")
@allowed(permissions.is_supervisor)
def admin_changes():
    """Who created, changed, reset, moved, merged or imported which user, unit or partner."""
    subject = request.args.get("subject") or None
    rows = changes.recent(Subject(subject) if subject in SUBJECT_NAMES else None,
                          request.args.get("key", "").strip()[:80] or None)
    return render_template("console/admin_changes.html", rows=rows, actions=ACTION_NAMES,
                           subjects=SUBJECT_NAMES)
