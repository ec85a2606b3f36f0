"""The hotspot board (热点诉求, issue 21): the day's or the week's hotspots by district and
category, each with its tickets and a form to dispatch it to one unit as one matter."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from hotline import hotspots, permissions
from hotline.console import bp, queries
from hotline.console.guard import allowed
from hotline.console.helpers import user
from hotline.errors import HotlineError
from hotline.extensions import db
from hotline.units import UnitKind


@bp.get("/hotspots")
@allowed(permissions.sees_boards)
def hotspot_board():
    period = request.args.get("period", "day")
    if period not in hotspots.PERIODS:
        period = "day"
    found = hotspots.board(user(), hotspots.board_since(period))
    rows = [{"hotspot": h, "district": hotspots.district_of(h),
             "tickets": sorted(h.tickets, key=lambda t: t.id)} for h in found]
    return render_template("console/hotspots.html", rows=rows, period=period,
                           summary=hotspots.summary(found),
                           targets=queries.unit_tree(kinds=(UnitKind.COUNTY, UnitKind.DEPARTMENT),
                                                     active_only=True))


@bp.post("/hotspots/<int:hotspot_id>/dispatch")
@allowed(permissions.sees_boards)
def hotspot_dispatch(hotspot_id: int):
    try:
        done = hotspots.dispatch(user(), hotspot_id, request.form.get("unit", ""), request.form.get("note"))
        db.session.commit()
    except HotlineError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("console.hotspot_board", period=request.form.get("period", "day")))
    flash(gettext("已将热点作为一件事派给 %(unit)s：主工单 %(number)s，并入 %(n)s 件。",
                  unit=done.primary.lead_unit.name if done.primary.lead_unit else "",
                  number=done.primary.number, n=len(done.merged)), "success")
    return redirect(url_for("console.ticket_page", ticket_id=done.primary.id))
