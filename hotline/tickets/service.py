"""Ticket services: intake, actions, lookups and the audit log.

Services write and flush; the request or job that calls them commits once.

Depends on: the ticket package below it (access, models, events, crisis path, machine),
units and organisation, routing, search, the read audit, contact safety, calls and the
knowledge base (an answer read from an article). What other domains do when a ticket
changes they do as receivers of `hotline.signals`; nothing here imports them.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, Select, bindparam, exists, func, select
from sqlalchemy.orm import joinedload, selectinload

from hotline import audit, contact_safety, crisis, permissions, routing, saved_views, search
from hotline.admin import organisation
from hotline.channels.calls import link_call
from hotline.clocks.calendar import SHANGHAI
from hotline.clocks.models import Timer, open_states
from hotline.errors import Forbidden, Invalid, NotFound
from hotline.extensions import db
from hotline.knowledge import service as knowledge
from hotline.tickets import ordering, registry
from hotline.tickets.crisis_path import enter_crisis_path
from hotline.tickets.events import record_event as record_event  # re-exported: known by this name
from hotline.tickets.events import timeline_entries as timeline_entries  # re-exported too
from hotline.tickets.models import Event, Priority, Ticket, TicketState
from hotline.tickets.numbering import next_number
from hotline.tickets.schemas import merged_summary
from hotline.tickets.workflow import ACTIONS, TicketWorkflow
from hotline.types import to_json, utcnow
from hotline.units import Unit, get_by_code
from hotline.users import Role, User

CREATE = "create"


def create_ticket(actor: User, data: dict) -> Ticket:
    """受理: a seat opens a ticket in `intake`."""
    permissions.check_takes_intake(actor)
    desk = data["desk"]
    if actor.role == Role.SEAT and desk.value not in (actor.desks or []):
        raise Forbidden(error="ticket.not_your_desk", params={"desk": desk})
    ticket = _open(actor, data)
    _audit_children(actor, [ticket], "intake")     # the answer is the full ticket
    return ticket


def intake_from_channel(data: dict) -> Ticket:
    """A ticket a channel opens by itself (an SMS): the same rules, no seat behind it."""
    return _open(None, data)


def _open(actor: User | None, data: dict) -> Ticket:
    _check_length(data["content"], "content")
    desk = data["desk"]
    caller, location = data.get("caller") or {}, data.get("location") or {}
    location_unit = _unit_or_invalid(location.get("unit"), "location.unit", receives=False)
    now = utcnow()
    ticket = Ticket(
        number=next_number(now), desk=desk, channel=data["channel"], category=data["category"],
        priority=data["priority"], state=TicketState.INTAKE, subject=data.get("subject") or "",
        content=data["content"], caller_phone=caller.get("phone"), caller_name=caller.get("name"),
        caller_is_minor=bool(caller.get("is_minor")) or _is_minor_age(caller.get("age")),
        caller_age=caller.get("age"), location_unit=location_unit,
        address=location.get("address"), created_by=actor, created_at=now, updated_at=now,
        # New: no clocks, co-units or referrals yet. Saying so spares three lazy loads when
        # the ticket is returned; what is started below is appended to these lists as always.
        timers=[], co_unit_links=[], referrals=[], event_seq=0,
    )
    db.session.add(ticket)
    # Recorded before the first flush, so the ticket goes out with its event count in one INSERT.
    record_event(ticket, actor, CREATE, None, ticket.state,
                 {"desk": desk.value, "channel": ticket.channel.value,
                  "priority": ticket.priority.value}, at=now)
    db.session.flush()
    signal = crisis.detect(f"{ticket.subject}\n{ticket.content}")
    if signal or ticket.priority == Priority.CRISIS:
        enter_crisis_path(ticket, actor, signal, judged=ticket.priority == Priority.CRISIS)
    contact_safety.record_intake(ticket, actor, data.get("contact"))
    db.session.flush()
    link_call(ticket, data.get("call_sid"))
    return ticket


def perform(actor: User, ticket_id: int, action: str, data: dict) -> Ticket:
    """Run one action of docs/integration.md's table: 404 hidden, 403 not allowed, 409 wrong state."""
    if action not in ACTIONS:
        raise NotFound(error="ticket.unknown_action", params={"action": action})
    ticket = permissions.get_visible_ticket(actor, ticket_id, for_update=True)
    audit.prime_event_chain(ticket)
    registry.check_action_allowed(actor, ticket, action)
    for field in ("answer", "reason", "result", "opinion", "note"):
        if field in data and data[field] is not None:
            _check_length(data[field], field)
    related = _related(actor, ticket, action, data)
    if action == "answer":
        data = _with_article(actor, data)
    ticket = _run(ticket, actor, action, data, related)
    _audit_children(actor, [ticket], "action")     # the answer is the full ticket
    return ticket


def perform_as_system(ticket_id: int, action: str, data: dict) -> Ticket:
    """An action taken by the service itself (a job): no viewer, so no scoping or role check."""
    ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    if ticket is None:
        raise NotFound(error="ticket.not_found", params={"ticket": ticket_id})
    return _run(ticket, None, action, data, {})


def _run(ticket: Ticket, actor: User | None, action: str, data: dict, related: dict) -> Ticket:
    # Most actions move a clock and every answer shows them: loaded before the transition, so
    # loading them afterwards does not flush the state change in an UPDATE of its own.
    _ = ticket.timers
    workflow = TicketWorkflow(ticket, actor, data, related=related)
    from_state, units_before = ticket.state, permissions.unit_signature(ticket)
    workflow.run(action)
    if permissions.unit_signature(ticket) != units_before:
        permissions.rescope(ticket)
    record_event(ticket, actor, action, from_state, ticket.state,
                 {**_loggable(action, to_json(data)), **workflow.record}, at=workflow.now)
    if action == "merge":
        target = related["into"]
        record_event(target, actor, "merged_in", target.state, target.state,
                     merged_summary(ticket), at=workflow.now)
    db.session.flush()
    return ticket


def get_ticket(actor: User, ticket_id: int) -> Ticket:
    ticket = permissions.get_visible_ticket(actor, ticket_id)
    _audit_children(actor, [ticket], "ticket")
    return ticket


def _audit_children(actor: User, tickets: list[Ticket], view: str) -> None:
    """Every read of a children's-desk ticket is logged (who, when, which view)."""
    audit.audit_children(actor, tickets, view)


# What the event log keeps of a body: a referral's contact route, the child's alias, the
# guardian's name and the override's free text stay on the referral (masked per viewer,
# anonymised by retention); the append-only log keeps that they were given.
_PRIVATE = {"refer": ("contact_route", "child_alias")}
_PRIVATE_CONSENT = ("by", "override_reason")


def _loggable(action: str, data: dict) -> dict:
    if action not in _PRIVATE:
        return data
    kept = {key: value for key, value in data.items() if key not in _PRIVATE[action]}
    if isinstance(kept.get("consent"), dict):
        consent = kept["consent"]
        kept["consent"] = {**{k: v for k, v in consent.items() if k not in _PRIVATE_CONSENT},
                           "by_given": bool(consent.get("by")),
                           "override": bool(consent.get("override_reason"))}
    return kept


def routing_suggestion(actor: User, ticket_id: int) -> routing.Suggestion | None:
    """The catalogue's suggested lead unit for a ticket (dispatchers accept or override it)."""
    ticket = permissions.get_visible_ticket(actor, ticket_id)
    _audit_children(actor, [ticket], "routing")
    return routing.suggest(ticket)


def ticket_events(actor: User, ticket_id: int) -> list[Event]:
    ticket = permissions.get_visible_ticket(actor, ticket_id)
    _audit_children(actor, [ticket], "events")
    stmt = select(Event).where(Event.ticket_id == ticket.id).order_by(Event.seq)
    return list(db.session.scalars(stmt))


@dataclass
class Page:
    items: list[Ticket]
    total: int
    page: int
    per_page: int
    # The count stopped at `total` (a search that finds very many: "1000+").
    capped: bool = False
    # There are rows after this page even though the count stopped (a capped list).
    more: bool = False

    @property
    def pages(self) -> int:
        """How many pages to offer: those counted, and the next one while there is more."""
        counted = max(1, -(-self.total // self.per_page))
        return max(counted, self.page + 1) if self.more else counted


# The ticket list counts up to this many ("1000+"), or to the end of the page asked for.
LIST_COUNT_CAP = 1_000

# Up to this many open clocks past due, the overdue list is of their tickets by id (`OpenClocks`).
OVERDUE_BY_ID = 500


class OpenClocks:
    """The filter "has an open clock past due at `now`" (or, with `overdue=False`, past its
    warning and not yet due), optionally of some `kinds` of clock only.

    PostgreSQL estimates the open clocks past due as (share open) x (share past due): far too
    many when most past-due clocks were met, and it then walks every ticket newest first for
    a page of ones that hardly exist. And overdue tickets are old ones: even when there are
    many, such a walk may cross most tickets before the first. So the clocks are read first,
    newest ticket first, at most OVERDUE_BY_ID + 1 of them (the partial index of open
    clocks, backwards):
    - that is all of them (a quiet centre): the filter is those tickets by id, and
      PostgreSQL knows how few;
    - else the filter is an EXISTS, whose estimate is then about right for counting, and
      `newest` holds every such ticket down to the oldest read: the first page(s).
    """

    def __init__(self, now: datetime, *, overdue: bool = True, kinds=None):
        # As literals, not parameters: the states so that the partial index of open clocks
        # (ix_timers_open_ticket_due) is seen to cover the query; `now` so that the statements
        # are never prepared and planned once for any instant (a generic plan, which for a
        # county's count hashed every open clock: 2-3x slower).
        now = bindparam("now", now, type_=Timer.due_at.type, literal_execute=True)
        clocks = select(Timer.ticket_id).where(Timer.state.in_(open_states()))
        if kinds:
            clocks = clocks.where(Timer.kind.in_(
                bindparam("kinds", list(kinds), expanding=True, literal_execute=True)))
        if overdue:
            clocks = clocks.where(Timer.due_at <= now)
        else:
            clocks = clocks.where(Timer.warn_at <= now, Timer.due_at > now)
        self.clocks = clocks
        read = db.session.scalars(
            self.clocks.order_by(Timer.ticket_id.desc()).limit(OVERDUE_BY_ID + 1)).all()
        self.complete = len(read) <= OVERDUE_BY_ID
        self.newest = sorted(set(read), reverse=True)
        self.condition = (self.among_newest() if self.complete
                          else exists(self.clocks.where(Timer.ticket_id == Ticket.id)))

    def among_newest(self) -> ColumnElement[bool]:
        # Literals too: hundreds of bound parameters cost more than the query.
        return Ticket.id.in_(bindparam("newest", self.newest, expanding=True, literal_execute=True))

    def count(self) -> int:
        """How many tickets the filter lets through, from their clocks alone (each clock has
        its ticket)."""
        if self.complete:
            return len(self.newest)
        return db.session.scalar(select(func.count()).select_from(self.clocks.distinct().subquery()))


def count_tickets(stmt: Select, cap: int | None = None) -> int:
    """How many tickets a list statement holds (with `cap`: at most cap + 1 are counted)."""
    ids = stmt.with_only_columns(Ticket.id).order_by(None)
    if cap is not None:
        ids = ids.limit(cap + 1)
    return db.session.scalar(select(func.count()).select_from(ids.subquery()))


def paged(stmt: Select, page: int, per_page: int, total: int | None = None,
          sort: str = ordering.DEFAULT_SORT) -> Page:
    """One page of `stmt` in `sort` order (crisis first by default, see `ordering`), newest
    first among equals; `total` when the caller already counted it."""
    if total is None:
        total = count_tickets(stmt)
    items = ordering.page(stmt, sort, (page - 1) * per_page, per_page, newest_first, count_tickets)
    return Page(items, total, page, per_page)


def newest_first(stmt: Select) -> Select:
    """`stmt` as a list: newest first, with what a list row shows loaded in a few queries."""
    # Ids are handed out at intake, so id order is creation order and index-served.
    return stmt.order_by(Ticket.id.desc()).options(
        selectinload(Ticket.timers), selectinload(Ticket.co_unit_links),
        selectinload(Ticket.referrals), joinedload(Ticket.lead_unit), joinedload(Ticket.location_unit),
    )


def list_tickets(actor: User, filters: dict, view: str = "list", exact_total: bool = False) -> Page:
    """The tickets `actor` may see, filtered, in `filters["sort"]` order (crisis first)
    (`view`: the read audit's name for what shows them, e.g. "export"; `exact_total`: count
    them all, past LIST_COUNT_CAP, as an export does)."""
    if filters.get("view"):
        filters = {**saved_views.list_args(actor, filters["view"]),
                   **{key: filters[key] for key in ("page", "per_page") if key in filters}}
    stmt = permissions.visible_tickets(actor)
    if filters.get("state"):
        stmt = stmt.where(Ticket.state.in_(filters["state"]))
    if filters.get("desk"):
        stmt = stmt.where(Ticket.desk == filters["desk"])
    if filters.get("unit"):
        unit = get_by_code(filters["unit"])
        if unit is None:
            raise Invalid(errors={"unit": ["unknown"]}, error="unit.unknown",
                          params={"unit": filters["unit"]})
        stmt = permissions.within(stmt, unit, purpose="filter")
    stmt = _created_between(stmt, filters.get("created_from"), filters.get("created_to"))
    if (filters.get("q") or "").strip():
        return _searched(actor, stmt, filters, view)
    total, overdue = None, None
    if filters.get("overdue"):
        overdue = OpenClocks(utcnow())
        froms = stmt.get_final_froms()
        if stmt.whereclause is None and len(froms) == 1 and froms[0] is Ticket.__table__:
            total = overdue.count()        # nothing else narrows the list
        narrowed, stmt = stmt, stmt.where(overdue.condition)
    page, per_page = filters["page"], filters["per_page"]
    capped = False
    if total is None and exact_total:
        total = count_tickets(stmt)
    elif total is None:
        # Counted up to the cap or to the end of the page asked for, whichever is further:
        # an exact count of a year of a province's tickets costs more than the page.
        limit = max(current_app.config.get("LIST_COUNT_CAP", LIST_COUNT_CAP), page * per_page)
        total = count_tickets(stmt, cap=limit)
        capped, total = total > limit, min(total, limit)
    sort = filters.get("sort") or ordering.DEFAULT_SORT
    result = None
    # The shortcut below holds for newest first only: it pages the newest overdue tickets.
    if overdue is not None and not overdue.complete and sort == ordering.Sort.NEWEST:
        # Every overdue ticket down to the oldest of `newest` is in it: when those the actor
        # may see fill the page (or end the list), it is the page.
        result = paged(narrowed.where(overdue.among_newest()), page, per_page, total, sort)
        if len(result.items) < per_page and (page - 1) * per_page + len(result.items) < total:
            result = None
    if result is None:
        result = paged(stmt, page, per_page, total, sort)
    result.capped = result.more = capped
    _audit_children(actor, result.items, view)
    return result


def _with_article(actor: User, data: dict) -> dict:
    """An answer read from a knowledge article: the event keeps the article's id and version."""
    if not data.get("article"):
        return {key: value for key, value in data.items() if key != "article"}
    article = knowledge.article_for_answer(actor, data["article"])
    return {**data, "article_version": article.version}


def _created_between(stmt: Select, first: date | None, last: date | None) -> Select:
    """Tickets opened from the start of Beijing day `first` to the end of day `last`."""
    if first is not None:
        stmt = stmt.where(Ticket.created_at >= datetime.combine(first, time(), SHANGHAI))
    if last is not None:
        stmt = stmt.where(Ticket.created_at < datetime.combine(last + timedelta(days=1), time(), SHANGHAI))
    return stmt


SEARCH_COUNT_CAP = 1_000


def _searched(actor: User, stmt: Select, filters: dict, view: str) -> Page:
    """The list narrowed by `filters["q"]` (see `search.ticket_filter`): the best matches first
    unless the user picked a sort."""
    if filters.get("overdue"):
        stmt = stmt.where(OpenClocks(utcnow()).condition)
    page, per_page = filters["page"], filters["per_page"]
    # A common word finds a good share of a large centre's tickets: counting and ranking them all
    # costs more than the page, and nobody reads past "1000+". When more than the cap hold the
    # words, the list is not counted (the total says "cap+", of the whole centre's tickets) and
    # shows the newest first (or the sort picked).
    cap = current_app.config.get("SEARCH_COUNT_CAP", SEARCH_COUNT_CAP)
    if search.very_common(filters["q"], cap):
        stmt = search.common_words_filter(stmt, filters["q"])
        result = paged(stmt, page, per_page, cap, filters.get("sort") or ordering.Sort.NEWEST)
        result.capped = True
        _audit_children(actor, result.items, view)
        return result
    stmt, relevance = search.ticket_filter(stmt, actor, filters["q"])
    total = count_tickets(stmt, cap=cap)
    capped = total > cap
    total = min(total, cap)
    if filters.get("sort"):
        result = paged(stmt, page, per_page, total, filters["sort"])
    else:
        items = db.session.scalars(newest_first(stmt.order_by(*relevance))
                                   .limit(per_page).offset((page - 1) * per_page))
        result = Page(list(items), total, page, per_page)
    result.capped = capped
    _audit_children(actor, result.items, view)
    return result


def _related(actor: User, ticket: Ticket, action: str, data: dict) -> dict:
    """Resolve the codes and ids in a body to rows (422 naming the field when unknown)."""
    if action == "dispatch":
        codes = data.get("co_units") or []
        if len(set(codes)) != len(codes):
            raise Invalid(errors={"co_units": ["duplicates"]}, error="ticket.duplicate_co_units")
        return {
            "unit": _unit_or_invalid(data["unit"], "unit", required=True),
            "co_units": [_unit_or_invalid(code, "co_units", required=True) for code in codes],
            "suggestion": routing.suggest(ticket),
        }
    if action == "consult":
        return {"units": [_unit_or_invalid(code, "units", required=True)
                          for code in data.get("units") or []]}
    if action == "forward":
        return {"unit": _unit_or_invalid(data["unit"], "unit", required=True)}
    if action == "merge":
        into = data["into"]
        if isinstance(into, str):      # a ticket number: the one the actor may see
            into = db.session.scalar(permissions.visible_tickets(actor, select(Ticket.id))
                                     .where(Ticket.number == into)) or 0
        try:
            return {"into": permissions.get_visible_ticket(actor, into, for_update=True)}
        except NotFound:
            raise Invalid(errors={"into": ["unknown ticket"]}, error="ticket.merge_target_unknown",
                          params={"into": data["into"]}) from None
    return {}


def _unit_or_invalid(code: str | None, field: str, required: bool = False,
                     receives: bool = True) -> Unit | None:
    if not code:
        if required:
            raise Invalid(errors=_field_error(field, "required"), error="ticket.unit_required",
                          params={"field": field})
        return None
    unit = get_by_code(code)
    if unit is None:
        raise Invalid(errors=_field_error(field, f"unknown unit {code}"), error="unit.unknown",
                      params={"unit": code})
    if receives:
        organisation.check_may_receive(unit)  # a deactivated unit takes no new work
    return unit


def _field_error(field: str, message: str) -> dict:
    """`{"location": {"unit": [message]}}` for "location.unit", nested like the schema's errors."""
    *parents, name = field.split(".")
    errors: dict = {name: [message]}
    for parent in reversed(parents):
        errors = {parent: errors}
    return errors


def _check_length(text: str, field: str) -> None:
    limit = current_app.config["CONTENT_MAX_LENGTH"]
    if len(text) > limit:
        raise Invalid(errors={field: [f"longer than {limit} characters"]}, error="ticket.text_too_long",
                      params={"field": field, "limit": limit})


def _is_minor_age(age: int | None) -> bool:
    return age is not None and age < 18

