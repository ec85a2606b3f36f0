"""A user's notices (督办, overdue, alerts) and marking one read."""

from flask import abort, redirect, render_template, url_for
from flask_login import login_required

from hotline import notices
from hotline.console import bp
from hotline.console.helpers import user
from hotline.errors import NotFound
from hotline.extensions import db


@bp.get("/notices")
@login_required
def notices_page():
    rows = notices.notices_for(user(), limit=200)
    return render_template("console/notices.html", rows=rows)


@bp.post("/notices/<int:notice_id>/read")
@login_required
def notice_read(notice_id: int):
    try:
        notices.mark_read(user(), notice_id)
        db.session.commit()
    except NotFound:
        db.session.rollback()
        abort(404)
    return redirect(url_for("console.notices_page"))
