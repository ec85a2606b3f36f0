"""The lists: the ticket search, and the queue of each role (callbacks, dispatch, review,
a unit's inbox, the supervisor's boards)."""

from flask import render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from hotline import permissions, routing
from hotline.console import bp, dispatch_pages, forms, live, queries, search_rows
from hotline.console.guard import allowed
from hotline.console.helpers import dump, list_page, page_arg, per_page, tab_arg, user
from hotline.errors import HotlineError
from hotline.tickets import service
from hotline.tickets.models import Desk, TicketState
from hotline.tickets.schemas import TicketListArgs
from hotline.users import Role


def list_filters(args) -> dict:
    """The ticket list's filters, validated by the API's own list schema."""
    raw = {key: args.get(key) for key in ("desk", "unit") if args.get(key)}
    states = [s for s in args.getlist("state") if s]
    if states:
        raw["state"] = ",".join(states)
    if args.get("overdue"):
        raw["overdue"] = args.get("overdue")
    if args.get("sort"):
        raw["sort"] = args.get("sort")
    # Search (issue 21): the header's box and the list's date range.
    raw.update({key: args[key].strip() for key in ("q", "created_from", "created_to")
                if (args.get(key) or "").strip()})
    filters = forms.load(TicketListArgs(), raw)
    filters["page"], filters["per_page"] = page_arg(), per_page()
    return filters


@bp.get("/tickets")
@login_required
def tickets():
    errors = {}
    try:
        filters = list_filters(request.args)
        page = service.list_tickets(user(), filters)
    except (forms.FormInvalid, HotlineError) as error:
        errors = forms.field_errors(error)
        filters = {"page": 1, "per_page": per_page()}
        page = service.list_tickets(user(), filters)
    rows = dump(page.items)
    if filters.get("q"):
        search_rows.mark(rows, filters["q"])
    return render_template("console/tickets.html", rows=rows, page=page,
                           q=filters.get("q"), states=list(TicketState), desks=list(Desk),
                           units=queries.unit_tree(), form=forms.FormState(values=request.args,
                                                   errors=errors),
                           may_export=permissions.may_export(user()))


@bp.get("/callbacks")
@allowed(permissions.does_seat_work)
def callbacks():
    return list_page("console/queue.html", queries.in_states(user(), TicketState.CALLBACK_PENDING),
                     title=gettext("待回访"), quick=None)


@bp.get("/dispatch")
@allowed(permissions.can_dispatch)
def dispatch_queue():
    page = service.paged(queries.in_states(user(), TicketState.PENDING_DISPATCH), page_arg(),
                         per_page(), sort=live.sort_arg())
    rows = dump(page.items)
    for row, ticket in zip(rows, page.items, strict=True):
        suggestion = routing.suggest(ticket)
        row["suggestion"] = {"unit": suggestion.unit.code, "name": suggestion.unit.name,
                             "rule": suggestion.rule} if suggestion else None
    return render_template("console/queue.html", rows=rows, page=page,
                           title=gettext("待派单"), quick="dispatch", **dispatch_pages.queue_context())


REVIEW_TABS = {
    "returns": (_l("退单申请"), lambda u: queries.in_states(u, TicketState.RETURN_REQUESTED)),
    "extensions": (_l("延期申请"), queries.pending_extensions),
    "replies": (_l("待审核回复"), lambda u: queries.in_states(u, TicketState.REPLIED)),
}


@bp.get("/review")
@allowed(permissions.does_dispatch_work)
def review():
    tab = tab_arg(REVIEW_TABS, "returns")
    counts = queries.counts(user(), {name: query(user()) for name, (_, query) in REVIEW_TABS.items()})
    tabs = [(name, str(title), counts[name]) for name, (title, _) in REVIEW_TABS.items()]
    return list_page("console/queue.html", REVIEW_TABS[tab][1](user()), total=counts[tab],
                     tabs=tabs, tab=tab, title=gettext("审核"), quick=None)


INBOX_TABS = {"acknowledge": _l("待签收"), "in_progress": _l("办理中"), "due_soon": _l("临期"),
              "overdue": _l("超期")}


@bp.get("/inbox")
@allowed(permissions.is_handler)
def inbox():
    tab = tab_arg(INBOX_TABS, "acknowledge")
    inbox = {name: queries.unit_inbox(user(), name) for name in INBOX_TABS}
    counts = queries.counts(user(), inbox)
    tabs = [(name, str(title), counts[name]) for name, title in INBOX_TABS.items()]
    return list_page("console/queue.html", inbox[tab], total=counts[tab], tabs=tabs, tab=tab,
                     title=gettext("收件箱"), quick=None,
                     bulk="acknowledge" if tab == "acknowledge" else None)


@bp.get("/boards/crisis")
@allowed(permissions.sees_boards)
def crisis_board():
    return list_page("console/queue.html", queries.crisis_open(user()), title=gettext("危机工单"),
                     quick="supervise", bulk="supervise" if user().role != Role.DISPATCHER else None)


@bp.get("/boards/overdue")
@allowed(permissions.sees_boards)
def overdue_board():
    stmt = queries.with_open_clock(permissions.visible_tickets(user()), overdue=True)
    return list_page("console/queue.html", stmt, title=gettext("超期工单"), quick="supervise",
                     bulk="supervise" if user().role != Role.DISPATCHER else None)
