"""The admin's page of a user's sign-ins: list them and end one or all (the console side of
`/api/v1/users/{username}/sessions`; the same service, hotline.accounts)."""

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from hotline import accounts, permissions
from hotline.console import bp
from hotline.console.guard import allowed
from hotline.console.helpers import save_form, user
from hotline.extensions import db

KIND_NAMES = {"api": _l("API 令牌"), "console": _l("控制台登录")}


@bp.get("/admin/sessions")
@allowed(permissions.can_manage_sessions)
def admin_sessions():
    username = request.args.get("username", "").strip()
    rows = accounts.list_sessions(user(), username) if username else None   # 404: unknown, or not theirs
    db.session.rollback()
    return render_template("console/sessions.html", username=username, rows=rows, kinds=KIND_NAMES)


@bp.post("/admin/sessions/<username>/end")
@allowed(permissions.can_manage_sessions)
def end_sessions(username: str):
    """End one session (`session` in the form) or, without it, all of the user's."""
    session_id = request.form.get("session", type=int)
    back = redirect(url_for("console.admin_sessions", username=username))
    failed = save_form(lambda: accounts.end_sessions(user(), username, session_id),
                       lambda state, status: back)
    return failed or back
