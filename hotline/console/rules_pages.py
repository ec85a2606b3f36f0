"""The rules a centre owns, in the console (/console/admin/...): the working-day calendar
(declare a year from the State Council's notice, single-day overrides) and the time limits
(the rules in effect with an example deadline each; edit with a preview, optionally
recomputing open clocks). Admins change them; supervisors read.

Services: hotline.clocks.overrides (calendar), hotline.admin.time_limits (time limits). Who may:
hotline.permissions (RULE_EDITORS, RULE_READERS).
"""

import calendar as month_grid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from hotline import permissions
from hotline.admin import catalogues
from hotline.admin import time_limits as editing
from hotline.clocks import overrides
from hotline.clocks import service as clock_service
from hotline.clocks.calendar import statutory_holidays, statutory_years
from hotline.console import bp, forms, labels, queries
from hotline.console.guard import allowed
from hotline.console.helpers import save_form, user
from hotline.crisis import CRISIS_WORDS
from hotline.errors import HotlineError
from hotline.extensions import db
from hotline.permissions import RULE_EDITORS
from hotline.routing import COUNTY_OF_LOCATION, ROUTES
from hotline.types import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- the working-day calendar --------------------------------------------------------------

def _year_arg(text: str | None) -> int:
    today = utcnow().astimezone(SHANGHAI).date()
    try:
        year = int(text) if text else today.year + (1 if today.month >= 11 else 0)
    except ValueError:
        abort(404)
    if not 2000 <= year <= 2100:
        abort(404)
    return year


def _months(year: int, holidays: set[date], overridden: set[date]) -> list[dict]:
    """Twelve month grids (weeks of days, Monday first) with each day's kind on the calendar
    in force: rest, holiday (a rest day of the law or the notice), make-up working day."""
    is_workday = clock_service.work_calendar().is_workday
    months = []
    for month in range(1, 13):
        weeks = []
        for week in month_grid.Calendar().monthdatescalendar(year, month):
            weeks.append([{"day": d, "in_month": d.month == month, "rest": not is_workday(d),
                           "holiday": not is_workday(d) and (d.weekday() < 5 or d in holidays),
                           "makeup": is_workday(d) and d.weekday() >= 5, "override": d in overridden}
                          for d in week])
        months.append({"month": month, "weeks": weeks})
    return months


def _ranges(days: list[date]) -> str:
    """Days as the notice writes them: runs of consecutive days as "from~to", one a line."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return "\n".join(run[0].isoformat() + (f"~{run[-1].isoformat()}" if len(run) > 1 else "") for run in runs)


@bp.get("/admin/calendar")
@allowed(permissions.can_read_rules)
def admin_calendar(state: forms.FormState | None = None, status: int = 200):
    """A year's working days: where they come from (statutory, declared, provisional), the law's
    holidays, the overrides, and the declaration form (the notice's rest and make-up days)."""
    year = _year_arg(request.args.get("year") or (state.value("year") if state else None))
    info = overrides.year_status(year)
    rows = overrides.overrides_in(year)
    law = {} if year in statutory_years() else statutory_holidays(year)
    prefill = {"rest_days": _ranges([r.day for r in rows if not r.is_workday]),
               "work_days": _ranges([r.day for r in rows if r.is_workday]), "note": info["note"]}
    holidays = set(statutory_holidays(year)) | {r.day for r in rows if not r.is_workday}
    return render_template("console/admin_calendar.html", year=year, info=info, rows=rows, law=law,
                           months=_months(year, holidays, {r.day for r in rows}),
                           form=state or forms.FormState(), prefill=prefill,
                           may_write=user().role in RULE_EDITORS), status


def _back_to(year: int):
    return redirect(url_for("console.admin_calendar", year=year))


@bp.post("/admin/calendar/<int:year>/declare")
@allowed(permissions.can_edit_rules)
def admin_declare_year(year: int):
    """Declare `year` with the notice's days; the provisional clocks reaching it are recomputed."""
    form, moved = request.form, []
    failed = save_form(lambda: moved.append(overrides.declare_year(
        year, form.get("note", "").strip()[:200], user(),
        rest_days=overrides.parse_days(form.get("rest_days", ""), "rest_days"),
        work_days=overrides.parse_days(form.get("work_days", ""), "work_days"))),
        lambda state, status: _rerender_year(year, state, status))
    if failed:
        return failed
    flash(gettext("已宣布 %(year)s 年放假安排；%(moved)s 个暂定计时已重算。", year=year, moved=moved[0]))
    return _back_to(year)


def _rerender_year(year: int, state: forms.FormState, status: int):
    request.args = request.args.copy()
    request.args["year"] = str(year)
    return admin_calendar(state, status)


@bp.post("/admin/calendar/days")
@allowed(permissions.can_edit_rules)
def admin_set_day():
    """One local override (a typhoon day off, a local make-up day)."""
    form = request.form
    day = _date_or_none(form.get("day", ""))
    year = day.year if day else _year_arg(form.get("year"))
    failed = save_form(lambda: overrides.set_day(_required_day(day), form.get("kind") == "work",
                                                 form.get("note", "").strip()[:200], user()),
                       lambda state, status: _rerender_year(year, state, status))
    if failed:
        return failed
    flash(gettext("已保存。"))
    return _back_to(year)


@bp.post("/admin/calendar/days/<isodate:day>/clear")
@allowed(permissions.can_edit_rules)
def admin_clear_day(day: date):
    overrides.clear_day(day, user())
    db.session.commit()
    flash(gettext("已取消该日的调整。"))
    return _back_to(day.year)


def _date_or_none(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _required_day(day: date | None) -> date:
    if day is None:
        raise forms.FormInvalid({"day": [gettext("请填写日期，如 2027-02-06")]})
    return day


# --- the time limits -----------------------------------------------------------------------

UNIT_WORDS = {"s": _l("秒"), "m": _l("分钟"), "h": _l("小时"), "d": _l("天"), "wd": _l("个工作日"),
              "wm": _l("个工作分钟"), "wh": _l("个工作小时")}
CLOCK_NAMES = {"dispatch": _l("派单"), "acknowledge": _l("签收"), "respond": _l("联系来电人"),
               "handle": _l("办结"), "accept": _l("接收"), "first_contact": _l("首次联系"),
               "outcome": _l("反馈结果"), "review": _l("派单员审核回复"), "callback": _l("回访")}
WINDOW_NAMES = {"return": _l("可退回期限"), "reopen": _l("可重启期限"), "extension_total": _l("延期合计上限")}
MATCH_TABLES = {"desk": (_l("专席"), labels.DESKS), "category": (_l("类别"), labels.CATEGORIES),
                "priority": (_l("紧急程度"), labels.PRIORITIES)}


def _example_start(text: str) -> datetime:
    """The instant the examples start from: the form's local time, else now."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI) if text else utcnow()
    except ValueError:
        return utcnow()


def _example(duration, around_the_clock: bool, start: datetime, field: str) -> dict:
    computed = clock_service.compute(start, duration, around_the_clock)
    return {"text": f"{duration.amount} {UNIT_WORDS.get(duration.unit, duration.unit)}", "field": field,
            "due": computed.due_at, "warn": computed.warn_at, "provisional": computed.provisional}


def _match_text(match: dict) -> str:
    """A rule's match in words ("紧急程度：危机"); an empty match fits every ticket."""
    parts = []
    for key, values in match.items():
        name, table = MATCH_TABLES[key]
        parts.append(f"{name}：{'、'.join(labels.label(table, value) for value in sorted(values))}")
    return "；".join(parts) or str(_l("其他所有工单"))


def field_label(field: str) -> str:
    """"rule.1.handle" -> "urgent：办结": a time-limit field as the page names it."""
    parts = field.split(".")
    limits = clock_service.time_limits()
    if parts[0] == "rule":
        return f"{limits.rules[int(parts[1])].name}：{labels.label(CLOCK_NAMES, parts[2])}"
    if parts[0] == "windows":
        return str(labels.label(WINDOW_NAMES, parts[1]))
    if parts[0] == "referral":
        crisis = gettext("（危机）") if parts[1] == "crisis" else ""
        return f"{gettext('转介')}{crisis}：{labels.label(CLOCK_NAMES, parts[-1])}"
    if parts[0] == "warning":
        return gettext("到期前预警")
    return str(labels.label(CLOCK_NAMES, parts[-1]))


def _limits_context(start: datetime) -> dict:
    limits = clock_service.time_limits()
    rules = [{"rule": rule, "match": _match_text(rule.match),
              "clocks": {name: _example(duration, rule.around_the_clock, start, f"rule.{index}.{name}")
                         for name, duration in rule.limits.items()}}
             for index, rule in enumerate(limits.rules)]
    named = [("ticket.review", limits.review, False), ("ticket.callback", limits.callback, False)]
    named += [(f"windows.{name}", duration, False) for name, duration in limits.windows.items()]
    named += [(f"referral.{'crisis.' if urgency == 'crisis' else ''}{name}", duration, urgency == "crisis")
              for urgency, clocks in limits.referral.items() for name, duration in clocks.items()]
    others = [(field_label(field), _example(duration, around_the_clock, start, field))
              for field, duration, around_the_clock in named]
    return {"rules": rules, "others": others, "start": start, "clocks": CLOCK_NAMES,
            "texts": editing.fields_of(clock_service.TIME_LIMITS.document()),
            "source": clock_service.TIME_LIMITS.source(), "refused": clock_service.TIME_LIMITS.refused(),
            "may_write": user().role in RULE_EDITORS,
            "field_label": field_label}


@bp.get("/admin/time-limits")
@allowed(permissions.can_read_rules)
def admin_time_limits():
    """Each rule in effect, with where each clock would warn and end if it started at the given
    instant (now by default) on this centre's calendar; admins edit the durations in place."""
    start = _example_start(request.args.get("start", "")[:32])
    return render_template("console/admin_time_limits.html", form=forms.FormState(), preview=None,
                           **_limits_context(start))


def _limit_values(form) -> dict[str, str]:
    """The durations the admin changed (the form posts every field; unchanged ones are left out)."""
    texts = editing.fields_of(clock_service.TIME_LIMITS.document())
    return {name: form[name] for name in texts if name in form and form[name].strip() != texts[name]}


@bp.post("/admin/time-limits")
@allowed(permissions.can_edit_rules)
def admin_edit_time_limits():
    """`预览` shows what would change (fields, open clocks that would move, examples) and saves
    nothing; `保存` saves (an audited change), recomputing open clocks only when ticked."""
    form, start = request.form, utcnow()
    if form.get("mode") != "save":
        try:
            shown = editing.preview_of(_limit_values(form))
            state, status = forms.FormState(values=form), 200
        except HotlineError as error:
            shown, state, status = None, forms.error_state(form, error), error.code
        db.session.rollback()
        return render_template("console/admin_time_limits.html", form=state, preview=shown,
                               **_limits_context(start)), status
    result = []
    failed = save_form(lambda: result.append(editing.save(
        user(), _limit_values(form), recompute_open=form.get("recompute") == "yes",
        note=form.get("note", "").strip()[:200])),
        lambda state, status: (render_template("console/admin_time_limits.html", form=state, preview=None,
                                               **_limits_context(start)), status))
    if failed:
        return failed
    shown, moved = result[0]
    if form.get("recompute") == "yes":
        flash(gettext("时限已保存；%(moved)s 个进行中的计时已按新时限重算。", moved=moved))
    else:
        flash(gettext("时限已保存，新计时按新时限计算；进行中的 %(count)s 个计时保持原期限。",
                      count=shown.moving))
    return redirect(url_for("console.admin_time_limits"))



# --- the routing catalogue -----------------------------------------------------------------

def _route_rows(form) -> list[dict]:
    """The posted routes in the order given (`route.N.order`), without those ticked for
    deletion and the blank new row."""
    rows = []
    for index in range(catalogues.MAX_ROUTES + 1):
        prefix = f"route.{index}."
        if prefix + "unit" not in form:
            continue
        row = {key: form.get(prefix + key, "").strip() for key in ("name", "location", "unit")}
        row |= {"desk": form.getlist(prefix + "desk"), "category": form.getlist(prefix + "category"),
                "order": form.get(prefix + "order", type=float, default=index + 1), "index": index}
        if form.get(prefix + "delete") == "yes" or (form.get(prefix + "new") and not row["name"]):
            continue
        rows.append(row)
    return sorted(rows, key=lambda row: (row["order"], row["index"]))


def _routing_page(state: forms.FormState | None = None, status: int = 200, rows: list[dict] | None = None):
    return render_template("console/admin_routing.html", rows=rows if rows is not None else
                           catalogues.routes_document(), form=state or forms.FormState(),
                           source=ROUTES.source(), refused=ROUTES.refused(),
                           may_write=user().role in RULE_EDITORS,
                           units=queries.all_units(), desks=labels.DESKS, categories=labels.CATEGORIES,
                           county=COUNTY_OF_LOCATION), status


@bp.get("/admin/routing")
@allowed(permissions.can_read_rules)
def admin_routing():
    """The routing catalogue in force: top to bottom, the first route that fits suggests the unit."""
    return _routing_page()


@bp.post("/admin/routing")
@allowed(permissions.can_edit_rules)
def admin_save_routing():
    rows, note = _route_rows(request.form), request.form.get("note", "").strip()[:200]
    # Errors name `route.N` by the saved order: the page shows the rows as posted, in that order.
    failed = save_form(lambda: catalogues.save_routes(user(), rows, note),
                       lambda state, status: _routing_page(state, status, rows))
    if failed:
        return failed
    flash(gettext("派单目录已保存，立即生效。"))
    return redirect(url_for("console.admin_routing"))


# --- the crisis lexicon --------------------------------------------------------------------

def _lexicon_body(form) -> dict:
    kinds = {name[len("kinds."):]: form.get(name, "") for name in form if name.startswith("kinds.")}
    new_kind = form.get("new_kind", "").strip()
    if new_kind:
        kinds[new_kind] = form.get("new_kind_words", "")
    return {"kinds": {kind: words for kind, words in kinds.items() if kind != new_kind or words.strip()},
            "ignore": form.get("ignore", ""),
            "negation": {"kinds": form.getlist("negation.kinds"), "cues": form.get("negation.cues", ""),
                         "fillers": form.get("negation.fillers", "")}}


def _crisis_page(state: forms.FormState | None = None, status: int = 200, sample: dict | None = None):
    return render_template("console/admin_crisis_words.html", doc=catalogues.lexicon_document(),
                           form=state or forms.FormState(), source=CRISIS_WORDS.source(),
                           refused=CRISIS_WORDS.refused(), sample=sample,
                           may_write=user().role in RULE_EDITORS, kind_names=KIND_NAMES), status


KIND_NAMES = {"self_harm": _l("自伤自杀"), "abuse": _l("虐待侵害"), "violence": _l("暴力威胁")}


@bp.get("/admin/crisis-words")
@allowed(permissions.can_read_rules)
def admin_crisis_words():
    """The crisis lexicon in force, with a box to try a sentence against it."""
    text = request.args.get("sample", "")[:500]
    sample = {"text": text, "now": CRISIS_WORDS.current().detect(text)} if text else None
    return _crisis_page(sample=sample)


@bp.post("/admin/crisis-words")
@allowed(permissions.can_edit_rules)
def admin_save_crisis_words():
    """`试一试` checks a sentence against the edited words (nothing saved); `保存` saves them."""
    form, body = request.form, _lexicon_body(request.form)
    if form.get("mode") != "save":
        text = form.get("sample", "")[:500]
        try:
            _document, edited_words = catalogues.check_lexicon(body)
        except HotlineError as error:
            return _crisis_page(forms.error_state(form, error), error.code)
        sample = {"text": text, "now": CRISIS_WORDS.current().detect(text),
                  "edited": edited_words.detect(text)}
        return _crisis_page(forms.FormState(values=form), 200, sample)
    failed = save_form(lambda: catalogues.save_lexicon(user(), body, form.get("note", "").strip()[:200]),
                       lambda state, status: _crisis_page(state, status))
    if failed:
        return failed
    flash(gettext("危机词库已保存，立即生效。"))
    return redirect(url_for("console.admin_crisis_words"))
