"""Calls on the seat's screen (docs/design.md §6, §7): the ringing, queued and in-progress calls above
the intake form, refreshed every few seconds; one click opens the intake form for a call (its number, its
desk, channel voice and the call's Sid in a hidden field), and the ticket filed from it is
linked to the call; a call's own page, linked from the ticket page.

The calls are `hotline.channels.calls.list_calls`, dumped with the API's `CallOut`: the panel
shows what `GET /api/v1/calls` (live calls) answers the same viewer (numbers masked
for whoever the API masks them for), plus how long each caller has waited.
"""

from flask import abort, current_app, render_template, request
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from hotline import permissions
from hotline.api.calls import CallOut
from hotline.channels import calls
from hotline.channels.models import CallState
from hotline.channels.settings import is_anonymous
from hotline.console import bp
from hotline.console.guard import allowed
from hotline.console.helpers import user
from hotline.errors import NotFound
from hotline.tickets.models import Channel, Ticket
from hotline.types import utcnow
from hotline.users import Role, User

# In-progress calls stay: the seat who picked one up files its ticket while talking.
ON_PANEL = [CallState.RINGING, CallState.QUEUED, CallState.IN_PROGRESS]
PANEL_ORDER = {CallState.QUEUED.value: 0, CallState.RINGING.value: 1, CallState.IN_PROGRESS.value: 2}
INTAKE_ROLES = (Role.SEAT, Role.ADMIN)      # who may open a ticket (the intake form's roles)


def refresh_seconds() -> int:
    return int(current_app.config.get("CONSOLE_CALLS_REFRESH_SECONDS", 5))


def call_rows(views: list[calls.CallView]) -> list[dict]:
    """Calls as the API dumps them for this viewer, with `waited` (seconds) and `withheld`."""
    rows = CallOut(many=True).dump(views)
    now = utcnow()
    for row, view in zip(rows, views, strict=True):
        call = view.call
        # Waiting for a seat since the key was pressed; in the menu since the call came in.
        since = call.queued_at or call.created_at
        row["waited"] = max(0, int((now - since).total_seconds())) if since else 0
        row["withheld"] = is_anonymous(call.from_number)
        row["live"] = call.state != CallState.COMPLETED
    return rows


def waiting_calls(viewer: User) -> list[dict]:
    """Live calls the viewer may see: queued, then in the menu, then with a seat; the longest
    wait first within each."""
    rows = call_rows(calls.list_calls(viewer, ON_PANEL))
    rows.sort(key=lambda row: (PANEL_ORDER[row["state"]], -row["waited"]))
    return rows


def intake_prefill(viewer: User, args: MultiDict) -> tuple[MultiDict, dict | None, str | None]:
    """The intake form's first values: what the URL says and, for `?call_sid=`, the call's
    number (when the viewer sees it whole and it was not withheld), desk and channel.

    Returns (values, the call as the panel shows it, a message when the call is not there)."""
    values = MultiDict(args)
    call_sid = values.get("call_sid")
    if not call_sid:
        return values, None, None
    try:
        view = calls.get_call(viewer, call_sid)
    except NotFound:
        values.poplist("call_sid")
        return values, None, gettext("该来电不存在，或不属于您的专席。")
    call = view.call
    if view.full_number and not is_anonymous(call.from_number):
        values.setdefault("caller_phone", call.from_number)
    if call.desk is not None:
        values.setdefault("desk", call.desk.value)
    values.setdefault("channel", Channel.VOICE.value)
    return values, call_rows([view])[0], None


def form_call(viewer: User, form: MultiDict) -> dict | None:
    """The call an intake form is being filled for (re-shown when the form comes back)."""
    call_sid = form.get("call_sid")
    if not call_sid:
        return None
    try:
        return call_rows([calls.get_call(viewer, call_sid)])[0]
    except NotFound:
        return None


def ticket_calls(viewer: User, ticket: Ticket) -> list:
    """The calls the ticket was opened from, for the viewers who may open them."""
    return calls.calls_of_ticket(viewer, ticket.id)


@bp.get("/calls/waiting")
@allowed(permissions.can_take_intake)
def calls_panel():
    """The waiting calls, as a fragment (the intake page swaps it in every few seconds)."""
    return render_template("console/_calls.html", calls=waiting_calls(user()),
                           current_call=request.args.get("call_sid"), updated_at=utcnow())


@bp.get("/calls/<string:call_sid>")
@allowed(permissions.can_view_calls)
def call_page(call_sid: str):
    try:
        view = calls.get_call(user(), call_sid)
    except NotFound:
        abort(404)
    return render_template("console/call.html", c=call_rows([view])[0],
                           can_intake=user().role in INTAKE_ROLES)
