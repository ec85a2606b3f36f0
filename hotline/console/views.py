"""Console pages: login, intake, ticket page and actions, the queues of each role."""

from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from hotline import auth, notices, permissions, signin
from hotline.attachments import service as attachments
from hotline.attachments import uploads
from hotline.clocks.overrides import missing_year, missing_year_warning
from hotline.console import bp, csrf, forms, labels, live, queries, search_rows
from hotline.console.actions import offered_actions
from hotline.console.guard import allowed
from hotline.errors import Conflict, Forbidden, HotlineError, NotFound
from hotline.extensions import db
from hotline.tickets import service
from hotline.tickets.models import Category, Channel, Desk, Priority, TicketState
from hotline.tickets.schemas import TicketDetailOut, TicketOut
from hotline.types import utcnow
from hotline.units import UnitKind
from hotline.users import Role

# --- plumbing ---------------------------------------------------------------------------

@bp.before_request
def _protect():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@bp.after_request
def _no_store(response):
    # Pages show callers' data: never kept by a shared browser's cache.
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@bp.after_request
def _keep_audited_reads(response):
    """A page that read a child's ticket or a referral logged it (referrals.service.audit_read
    notes it in `g.audited_reads`): keep that log. A read changes nothing else, so this commit
    holds only the audit rows."""
    if request.method in ("GET", "HEAD") and response.status_code < 400 and g.get("audited_reads"):
        db.session.commit()
    return response


@bp.errorhandler(CSRFError)
def _csrf_failed(error):
    db.session.rollback()
    return render_template("console/error.html", code=400,
                           message=gettext("页面已过期或缺少安全令牌，请刷新页面后重试。")), 400


@bp.errorhandler(HotlineError)
def _domain_error(error: HotlineError):
    db.session.rollback()
    return render_template("console/error.html", code=error.code,
                           message=labels.localize(error.message, forms.locale())), error.code


@bp.errorhandler(forms.FormInvalid)
def _bad_arguments(error: forms.FormInvalid):
    db.session.rollback()
    details = "；".join(f"{labels.label(labels.FIELDS, name)}：{'，'.join(messages)}"
                       for name, messages in error.errors.items())
    return render_template("console/error.html", code=422, message=details), 422


@bp.errorhandler(403)
def _forbidden(error):
    return render_template("console/error.html", code=403,
                           message=gettext("您的角色不能使用此页面。")), 403


@bp.errorhandler(404)
def _not_found(error):
    return render_template("console/error.html", code=404, message=gettext("页面或工单不存在。")), 404


def user():
    return current_user._get_current_object()


def save_form(save, rerender, stale: str | None = None, refuse: tuple = ()):
    """One form post: `save()` validates the form and makes the one service call, then the
    commit. None when it went through; otherwise everything is rolled back and the answer is
    the 404 page (what the user may not see), or `rerender(state, status)`: the form again with
    what was typed and why the service refused it, or, given `stale`, that message with 409
    when someone else changed the record meanwhile."""
    try:
        save()
        db.session.commit()
    except NotFound:
        db.session.rollback()
        abort(404)
    except (forms.FormInvalid, HotlineError) as error:
        db.session.rollback()
        if isinstance(error, refuse):   # the caller answers these itself (rolled back)
            raise
        state = forms.error_state(request.form, error)
        if not state.message:
            state.message = gettext("请检查标出的字段。")
        return rerender(state, getattr(error, "code", 422))
    except StaleDataError:
        if stale is None:
            raise
        db.session.rollback()
        return rerender(forms.FormState(values=request.form, message=stale), 409)
    return None


def per_page() -> int:
    return current_app.config.get("CONSOLE_PER_PAGE", 20)


def page_arg() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        return 1


def dump(tickets) -> list[dict]:
    return TicketOut(many=True, viewer=user()).dump(tickets)


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site (no scheme, no host, no //) is followed after login or a form."""
    if not target:
        return default
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target):
        return default
    return target


NAV = {
    Role.SEAT: [("console.new_ticket", _l("新建工单")), ("console.callbacks", _l("回访")),
                ("console.tickets", _l("工单查询")), ("console.notices_page", _l("通知"))],
    Role.DISPATCHER: [("console.dispatch_queue", _l("待派单")), ("console.review", _l("审核")),
                      ("console.tickets", _l("工单查询")), ("console.kpi_dashboard", _l("统计指标")),
                      ("console.reports_overview", _l("报表")),
                      ("console.notices_page", _l("通知"))],
    Role.SUPERVISOR: [("console.crisis_board", _l("危机工单")), ("console.overdue_board", _l("超期工单")),
                      ("console.dispatch_queue", _l("待派单")),
                      ("console.referral_board", _l("转介超时")),
                      ("console.mandatory_reports_board", _l("强制报告")),
                      ("console.tickets", _l("工单查询")), ("console.kpi_dashboard", _l("统计指标")),
                      ("console.reports_overview", _l("报表")),
                      ("console.notices_page", _l("通知"))],
    Role.HANDLER: [("console.inbox", _l("收件箱")), ("console.notices_page", _l("通知")),
                   ("console.tickets", _l("工单查询")), ("console.kpi_dashboard", _l("统计指标")),
                   ("console.reports_overview", _l("报表"))],
    Role.ADMIN: [("console.new_ticket", _l("新建工单")), ("console.dispatch_queue", _l("待派单")),
                 ("console.review", _l("审核")), ("console.crisis_board", _l("危机工单")),
                 ("console.overdue_board", _l("超期工单")), ("console.referral_board", _l("转介超时")),
                 ("console.mandatory_reports_board", _l("强制报告")), ("console.tickets", _l("工单查询")),
                 ("console.kpi_dashboard", _l("统计指标")),
                 ("console.reports_overview", _l("报表")), ("console.admin_sessions", _l("登录会话"))],
    Role.PARTNER: [("console.referral_inbox", _l("转介收件箱"))],
}


@bp.app_context_processor
def _navigation():
    if request.blueprint != "console" or not current_user.is_authenticated:
        return {}
    context = {"nav": [(endpoint, str(title)) for endpoint, title in NAV.get(current_user.role, [])],
               "pulse_seconds": live.pulse_seconds()}
    if current_user.role in permissions.CALENDAR_WATCHERS:
        context["calendar_warning"] = missing_year_warning()
        context["calendar_missing_year"] = missing_year()
    return context


# --- login ------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login():
    """The console door of the one sign-in policy (hotline.signin), with a server-side session."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("console.home"))
        return render_template("console/login.html", form=forms.FormState(values=request.args))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    state = forms.FormState(values=MultiDict({"username": username}))
    try:
        account = signin.authenticate(username, password)
    except signin.TooManyAttempts as error:
        db.session.rollback()
        state.message = gettext("登录失败次数过多，请 %(minutes)s 分钟后再试。",
                                minutes=max(1, -(-error.retry_after // 60)))
        return render_template("console/login.html", form=state), 429, {
            "Retry-After": str(error.retry_after)}
    except HotlineError:
        db.session.commit()  # a legacy hash upgraded on the way is harmless; nothing else changed
        state.message = gettext("用户名或密码错误。")
        if not username:
            state.errors["username"] = [gettext("此项为必填项")]
        return render_template("console/login.html", form=state), 401
    session.clear()  # a fresh session: nothing from before the login survives
    session[auth.CONSOLE_SESSION_KEY] = auth.start_session(account, auth.SessionKind.CONSOLE)
    db.session.commit()
    login_user(account)
    session.permanent = True
    return redirect(safe_next(request.args.get("next"), url_for("console.home")))


@bp.post("/logout")
def logout():
    """End this console session on the server too: a saved cookie is worthless afterwards."""
    secret = session.get(auth.CONSOLE_SESSION_KEY)
    if secret:
        auth.end_session(secret)
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("console.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    from hotline.console import LANG_COOKIE, LANGUAGES

    response = redirect(safe_next(request.args.get("next"), url_for("console.home")))
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True, secure=request.is_secure)
    return response


@bp.get("/")
@login_required
def home():
    landing = {
        Role.SEAT: "console.new_ticket", Role.DISPATCHER: "console.dispatch_queue",
        Role.SUPERVISOR: "console.crisis_board", Role.HANDLER: "console.inbox",
        Role.ADMIN: "console.tickets", Role.PARTNER: "console.referral_inbox",
        Role.UNIT_ADMIN: "console.admin_users",
    }[current_user.role]
    return redirect(url_for(landing))


# --- intake -----------------------------------------------------------------------------

def _intake_choices() -> dict:
    desks = [Desk(code) for code in (current_user.desks or [])] if current_user.role == Role.SEAT \
        else list(Desk)
    return {
        "desks": desks, "channels": list(Channel), "categories": list(Category),
        "priorities": list(Priority),
        "locations": queries.unit_tree(),
    }


@bp.route("/tickets/new", methods=["GET", "POST"])
@allowed(permissions.does_seat_work)
def new_ticket():
    if request.method == "GET":
        values, call, message = call_pages.intake_prefill(user(), request.args)
        return _intake_page(forms.FormState(values=values, message=message), call)
    try:
        body = forms.intake_body(request.form)
        ticket = service.create_ticket(user(), body)
        knowledge_pages.answer_from_intake(ticket, request.form)   # a direct answer given at intake
        attachments.attach_at_intake(user(), ticket, uploads.from_form(request.files),
                                     uploads.keep_location(request.form))   # the caller's material
        db.session.commit()
    except (forms.FormInvalid, HotlineError) as error:
        db.session.rollback()
        state = forms.error_state(request.form, error)
        if not state.message:
            state.message = gettext("请检查标出的字段。")
        return _intake_page(state, call_pages.form_call(user(), request.form),
                            getattr(error, "code", 422))
    flash(gettext("工单 %(number)s 已受理。", number=ticket.number), "success")
    return redirect(url_for("console.ticket_page", ticket_id=ticket.id))


def _intake_page(state: forms.FormState, call: dict | None, status: int = 200):
    """The intake form (`call`: the call it is filled for), the caller's history beside it
    and the waiting calls above it."""
    return render_template(
        "console/intake.html", form=state, call=call,
        history=_history(state.value("caller_phone")), calls=call_pages.waiting_calls(user()),
        current_call=call["sid"] if call else None, updated_at=utcnow(),
        refresh_seconds=call_pages.refresh_seconds(), **_intake_choices(),
    ), status


@bp.get("/callers")
@allowed(permissions.is_centre)
def caller_history():
    """The caller's earlier tickets, as a fragment for the intake form (or a page)."""
    return render_template("console/_history.html", history=_history(request.args.get("phone", "")))


def _history(phone: str) -> list[dict] | None:
    """The caller's earlier tickets; None when `phone` is not a number (nothing to say)."""
    if not queries.phone_variants(phone):
        return None
    return dump(queries.caller_history(user(), phone))


# --- the ticket page ----------------------------------------------------------------------

def _field_spec(name: str, schema_field) -> dict:
    from marshmallow import validate

    spec = {"name": name, "required": schema_field.required, "widget": "textarea"}
    choices = next((v.choices for v in schema_field.validators if isinstance(v, validate.OneOf)),
                   None)
    type_name = type(schema_field).__name__
    if schema_field.metadata.get("widget"):     # the body says how it is asked (a rating)
        spec["widget"] = schema_field.metadata["widget"]
    elif name in ("co_units", "units"):
        spec["widget"] = "units_multi"
    elif name == "unit":
        spec["widget"] = "unit"
    elif choices:
        spec.update(widget="select", choices=list(choices))
    elif type_name in ("Boolean", "StrictBoolean"):   # yes/no radios, not a text box
        spec["widget"] = "yesno"
    elif type_name in ("Integer", "TicketRef"):   # TicketRef: an id, or a ticket number (issue 21)
        spec["widget"] = "number"
    elif type_name != "String" or getattr(schema_field, "metadata", {}).get("description") \
            or any(isinstance(v, validate.Length) and v.max and v.max <= 200
                   for v in schema_field.validators):
        spec["widget"] = "text"  # a short value: codes, names, times
    return spec


def _form_specs(allowed: list[str]) -> dict[str, list[dict]]:
    """The fields of each offered action's form, from the API's body schema.

    A nested part of a body (`consent`) becomes flat fields (`consent_by`, ...)."""
    import marshmallow as ma

    specs = {}
    for action in allowed:
        fields = []
        for name, schema_field in forms.action_fields(action).items():
            if schema_field.metadata.get("derived_from"):   # follows from another answer
                continue
            if isinstance(schema_field, ma.fields.Nested):
                fields += [_field_spec(f"{name}_{key}", sub)
                           for key, sub in schema_field.schema.fields.items()]
            else:
                fields.append(_field_spec(name, schema_field))
        specs[action] = fields
    return specs


def _unit_pickers(ticket) -> dict:
    lead_kinds = (UnitKind.COUNTY, UnitKind.DEPARTMENT)
    pickers = {
        "dispatch": queries.unit_tree(kinds=lead_kinds, active_only=True),
        "all": queries.unit_tree(active_only=True),
        "forward": [],
    }
    if ticket.lead_unit is not None:
        below = queries.unit_tree(root=ticket.lead_unit, active_only=True)
        pickers["forward"] = [(name, [(u, d) for u, d in rows if u.id != ticket.lead_unit.id])
                              for name, rows in below]
    return pickers


def render_ticket(ticket_id: int, failed: str | None = None, state: forms.FormState | None = None,
                  status: int = 200):
    viewer = user()
    ticket = service.get_ticket(viewer, ticket_id)
    detail = TicketDetailOut(viewer=viewer).dump(ticket)
    events = service.ticket_events(viewer, ticket_id)
    offer = offered_actions(viewer, ticket)
    if failed and failed not in offer.allowed and failed in forms.ACTION_BODIES:
        offer.allowed.append(failed)  # keep the form the user typed into on screen
    suggestion = detail.get("routing_suggestion")
    history = []
    if "merge" in offer.allowed and detail["caller"]["phone"] and not detail["caller"]["masked"]:
        history = [t for t in dump(queries.caller_history(viewer, detail["caller"]["phone"]))
                   if t["id"] != ticket.id and t["state"] not in
                   ("closed", "transferred", "rejected", "merged")]
    forms_state = {failed: state} if failed and state else {}
    refer = None
    if "refer" in offer.allowed:
        refer = referral_pages.refer_form(viewer, ticket, state.values if failed == "refer" and state
                                          else None)
    return render_template(
        "console/ticket.html", t=detail, events=timeline.entries(events), offer=offer,
        specs=_form_specs(offer.allowed), forms_state=forms_state,
        pickers=_unit_pickers(ticket), suggestion=suggestion, merge_candidates=history,
        units=queries.units_by_code(), failed=failed,
        referrals=referral_pages.ticket_referrals(viewer, ticket, detail), refer=refer,
        linked_calls=call_pages.ticket_calls(viewer, ticket),
    ), status


@bp.get("/tickets/<int:ticket_id>")
@login_required
def ticket_page(ticket_id: int):
    return render_ticket(ticket_id)


@bp.post("/tickets/<int:ticket_id>/actions/<action>")
@login_required
def ticket_action(ticket_id: int, action: str):
    if action not in forms.ACTION_BODIES:
        abort(404)
    back = safe_next(request.form.get("next"), url_for("console.ticket_page", ticket_id=ticket_id))
    try:
        refused = save_form(
            lambda: attachments.perform_with_files(  # the action, and the files sent with it
                user(), ticket_id, action, forms.action_body(action, request.form),
                uploads.from_form(request.files), uploads.keep_location(request.form)),
            lambda state, status: render_ticket(ticket_id, action, state, status),
            stale=gettext("工单已被他人同时修改，请核对后重试。"), refuse=(Conflict, Forbidden))
    except (Conflict, Forbidden) as error:     # not the input: the form closes and says why
        return dispatch_pages.refused(ticket_id, action, error)
    if refused is not None:
        return refused
    flash(gettext("已完成：%(action)s", action=labels.label(labels.ACTIONS, action)), "success")
    return redirect(back)


# --- lists ----------------------------------------------------------------------------------

def _list_page(template: str, stmt, total: int | None = None, **context):
    page = service.paged(stmt, page_arg(), per_page(), total, live.sort_arg())
    pages = max(1, -(-page.total // page.per_page))
    return render_template(template, rows=dump(page.items), page=page, pages=pages, **context)


def list_filters(args) -> dict:
    """The ticket list's filters, validated by the API's own list schema."""
    from marshmallow import ValidationError

    from hotline.tickets.schemas import TicketListArgs

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
    try:
        filters = TicketListArgs().load(raw)
    except ValidationError as error:
        raise forms.FormInvalid(forms.flatten_errors(error.messages)) from None
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
        errors = error.errors if isinstance(error, forms.FormInvalid) else \
            forms.flatten_errors(error.errors or {})
        filters = {"page": 1, "per_page": per_page()}
        page = service.list_tickets(user(), filters)
    pages = max(1, -(-page.total // page.per_page))
    rows = dump(page.items)
    if filters.get("q"):
        search_rows.mark(rows, filters["q"])
    return render_template("console/tickets.html", rows=rows, page=page, pages=pages, q=filters.get("q"),
                           states=list(TicketState), desks=list(Desk), units=queries.unit_tree(),
                           form=forms.FormState(values=request.args, errors=errors),
                           may_export=permissions.may_export(user()))


@bp.get("/callbacks")
@allowed(permissions.does_seat_work)
def callbacks():
    return _list_page("console/queue.html", queries.in_states(user(), TicketState.CALLBACK_PENDING),
                      title=gettext("待回访"), quick=None)


@bp.get("/dispatch")
@allowed(permissions.can_dispatch)
def dispatch_queue():
    from hotline import routing

    page = service.paged(queries.in_states(user(), TicketState.PENDING_DISPATCH), page_arg(),
                         per_page(), sort=live.sort_arg())
    rows = dump(page.items)
    for row, ticket in zip(rows, page.items, strict=True):
        suggestion = routing.suggest(ticket)
        row["suggestion"] = {"unit": suggestion.unit.code, "name": suggestion.unit.name,
                             "rule": suggestion.rule} if suggestion else None
    pages = max(1, -(-page.total // page.per_page))
    return render_template("console/queue.html", rows=rows, page=page, pages=pages,
                           title=gettext("待派单"), quick="dispatch", **dispatch_pages.queue_context())


REVIEW_TABS = {
    "returns": (_l("退单申请"), lambda u: queries.in_states(u, TicketState.RETURN_REQUESTED)),
    "extensions": (_l("延期申请"), queries.pending_extensions),
    "replies": (_l("待审核回复"), lambda u: queries.in_states(u, TicketState.REPLIED)),
}


@bp.get("/review")
@allowed(permissions.does_dispatch_work)
def review():
    tab = request.args.get("tab", "returns")
    if tab not in REVIEW_TABS:
        abort(404)
    counts = queries.counts(user(), {name: query(user()) for name, (_, query) in REVIEW_TABS.items()})
    tabs = [(name, str(title), counts[name]) for name, (title, _) in REVIEW_TABS.items()]
    return _list_page("console/queue.html", REVIEW_TABS[tab][1](user()), total=counts[tab],
                      tabs=tabs, tab=tab, title=gettext("审核"), quick=None)


INBOX_TABS = {"acknowledge": _l("待签收"), "in_progress": _l("办理中"), "due_soon": _l("临期"),
              "overdue": _l("超期")}


@bp.get("/inbox")
@allowed(permissions.is_handler)
def inbox():
    tab = request.args.get("tab", "acknowledge")
    if tab not in INBOX_TABS:
        abort(404)
    inbox = {name: queries.unit_inbox(user(), name) for name in INBOX_TABS}
    counts = queries.counts(user(), inbox)
    tabs = [(name, str(title), counts[name]) for name, title in INBOX_TABS.items()]
    return _list_page("console/queue.html", inbox[tab], total=counts[tab], tabs=tabs, tab=tab,
                      title=gettext("收件箱"), quick=None,
                      bulk="acknowledge" if tab == "acknowledge" else None)


@bp.get("/boards/crisis")
@allowed(permissions.sees_boards)
def crisis_board():
    return _list_page("console/queue.html", queries.crisis_open(user()), title=gettext("危机工单"),
                      quick="supervise", bulk="supervise" if user().role != Role.DISPATCHER else None)


@bp.get("/boards/overdue")
@allowed(permissions.sees_boards)
def overdue_board():
    stmt = queries.with_open_clock(permissions.visible_tickets(user()), overdue=True)
    return _list_page("console/queue.html", stmt, title=gettext("超期工单"), quick="supervise",
                      bulk="supervise" if user().role != Role.DISPATCHER else None)


# --- notices ---------------------------------------------------------------------------------

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


from hotline.console import (  # noqa: E402,F401  (more pages on bp)
    admin_pages,
    attachment_pages,
    audit_pages,
    call_pages,
    child_safety,
    contact_pages,
    dispatch_pages,
    dispatch_sheet,
    failed_job_pages,
    hotspot_pages,
    knowledge_pages,
    referral_pages,
    repeat_pages,
    report_pages,
    reports,
    rules_pages,
    saved_view_pages,
    session_pages,
    subscription_pages,
    timeline,
    watch_pages,
)
