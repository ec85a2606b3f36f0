"""The console kept current without reloading: the queue order a user picks, the pulse (a small
JSON answer console.js polls: counts for the navigation and the crisis alerts not yet
acknowledged) and the acknowledgement of an alert.

Short polling rather than server-sent events: one small GET every CONSOLE_PULSE_SECONDS (15 s)
per open console, answered by the same sync gunicorn workers as every page. An SSE stream
would hold a sync worker per open console for as long as it is open, and go through proxies
less reliably; 15 s is well within what a dispatcher needs to see a crisis.
"""

from flask import jsonify, request
from flask_login import current_user, login_required

from hotline import alerts, notices
from hotline.console import bp
from hotline.console import queries as q
from hotline.console.navigation import NAV
from hotline.extensions import db
from hotline.tickets.models import TicketState
from hotline.tickets.ordering import DEFAULT_SORT, Sort


def sort_arg() -> Sort:
    """The order a user picked for a list (`?sort=`); the default for anything else."""
    try:
        return Sort(request.args.get("sort") or DEFAULT_SORT)
    except ValueError:
        return DEFAULT_SORT


# What waits in each navigation entry, as the statement of its queue (counted per pulse).
NAV_QUEUES = {
    "console.dispatch_queue": lambda u: [q.in_states(u, TicketState.PENDING_DISPATCH)],
    "console.review": lambda u: [q.in_states(u, TicketState.RETURN_REQUESTED, TicketState.REPLIED),
                                 q.pending_extensions(u)],
    "console.crisis_board": lambda u: [q.crisis_open(u)],
    "console.inbox": lambda u: [q.unit_inbox(u, "acknowledge")],
    "console.callbacks": lambda u: [q.in_states(u, TicketState.CALLBACK_PENDING)],
}


def nav_counts(user, endpoints) -> dict[str, int]:
    """How many tickets wait in each of `endpoints` (those with a queue), and unread notices."""
    counts = {endpoint: sum(q.counts(user, dict(enumerate(NAV_QUEUES[endpoint](user)))).values())
              for endpoint in endpoints if endpoint in NAV_QUEUES}
    if "console.notices_page" in endpoints:
        counts["console.notices_page"] = len(notices.notices_for(user, unread_only=True, limit=100))
    return counts


@bp.get("/pulse")
@login_required
def pulse():
    """The navigation's counts and the crisis alerts this user has not acknowledged."""
    viewer = current_user._get_current_object()
    endpoints = [endpoint for endpoint, _title in NAV.get(viewer.role, [])]
    return jsonify({
        "counts": nav_counts(viewer, endpoints),
        "alerts": [{"id": alert.id, "kind": alert.kind, "ticket": alert.ticket_id, "number": alert.number,
                    "message": alert.message, "created_at": alert.created_at.isoformat()}
                   for alert in alerts.pending(viewer)],
    })


@bp.post("/alerts/<int:notice_id>/ack")
@login_required
def acknowledge_alert(notice_id: int):
    """A click on the banner: recorded for this user (CSRF token in the X-CSRFToken header)."""
    ack = alerts.acknowledge(current_user._get_current_object(), notice_id)
    db.session.commit()
    return jsonify({"alert": ack.notice_id, "ticket": ack.ticket_id,
                    "acknowledged_at": ack.acknowledged_at.isoformat()})
