"""Saved views in the console (issue 21): the ticket list saves its current filters under a
name, and lists the user's views as links to the same list (hotline.saved_views)."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from hotline import saved_views
from hotline.console import bp
from hotline.console.helpers import user
from hotline.errors import HotlineError
from hotline.extensions import db


@bp.app_context_processor
def _my_views():
    def my_views() -> list[saved_views.SavedView]:
        return saved_views.list_views(user()) if current_user.is_authenticated else []

    return {"my_views": my_views}


@bp.post("/views")
@login_required
def save_view():
    """The list's current arguments (sent as the form's hidden fields) under a name."""
    filters = {key: request.form.getlist(key) if key == "state" else request.form.get(key)
               for key in saved_views.KEPT}
    try:
        view = saved_views.save_view(user(), request.form.get("name", ""), filters)
        db.session.commit()
    except HotlineError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("console.tickets"))
    flash(gettext("已保存视图“%(name)s”。", name=view.name), "success")
    return redirect(url_for("console.tickets") + "?" + view.query)


@bp.post("/views/<int:view_id>/delete")
@login_required
def delete_view(view_id: int):
    saved_views.delete_view(user(), view_id)
    db.session.commit()
    return redirect(url_for("console.tickets"))
