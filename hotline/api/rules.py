"""The rules a centre owns, over the API (admins change; supervisors read), and the change log.

`GET|PATCH /api/v1/rules/time-limits`, `POST /api/v1/rules/time-limits/preview`,
`GET|PUT /api/v1/rules/routing`, `GET|PUT /api/v1/rules/crisis-words`,
`GET /api/v1/admin/changes?subject=&key=`. Each change is an audited admin event; a bad value
is refused with 422 naming the field. The calendar is `hotline/api/calendar.py`.
"""

from collections.abc import Callable

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import permissions
from hotline.admin import catalogues, changes
from hotline.admin import time_limits as editing
from hotline.admin.changes import Subject
from hotline.api import route
from hotline.auth import current_user
from hotline.clocks import service as clocks
from hotline.crisis import CRISIS_WORDS
from hotline.parsing import StrictBoolean
from hotline.routing import ROUTES

blp = Blueprint("rules", __name__, url_prefix="/api/v1/rules",
                description="The centre's rules: time limits, routing catalogue, crisis lexicon (admin)")
changes_blp = Blueprint("admin_changes", __name__, url_prefix="/api/v1/admin",
                        description="The administration change log")
NOTE = fields.String(load_default="", validate=validate.Length(max=200), metadata={"description": "why"})


class SourceOut(ma.Schema):
    updated_by = fields.String(allow_none=True,
                               metadata={"description": "null: the shipped file is in force"})
    updated_at = fields.DateTime(allow_none=True)
    version = fields.Integer(allow_none=True)
    refused = fields.String(allow_none=True, metadata={
        "description": "Why the saved rules are not in force (they no longer build after an upgrade): "
                       "the shipped file is in force until the next save. null: in force"})


class TimeLimitsOut(SourceOut):
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.String(), metadata={
        "description": "Every editable duration by field: rule.N.dispatch|acknowledge|respond|handle, "
                       "ticket.review, ticket.callback, windows.*, referral.*, referral.crisis.*, "
                       "warning.before"})


class TimeLimitsChange(ma.Schema):
    changes = fields.Dict(keys=fields.String(validate=validate.Length(max=64)),
                          values=fields.String(validate=validate.Length(max=16)), required=True,
                          validate=validate.Length(min=1, max=100),
                          metadata={"description": "field -> new duration, e.g. rule.5.handle: 20wd"})


class TimeLimitsSave(TimeLimitsChange):
    recompute = StrictBoolean(load_default=False, metadata={
        "description": "true: recompute every open clock whose limit changed, from its start; "
                       "false (default): open clocks keep their deadlines"})
    note = NOTE


class MovedOut(ma.Schema):
    ticket = fields.Function(lambda m: m.ticket.number)
    ticket_id = fields.Function(lambda m: m.ticket.id)
    timer = fields.Function(lambda m: m.timer.kind.value)
    started_at = fields.Function(lambda m: m.timer.started_at.isoformat())
    due_before = fields.DateTime(attribute="before")
    due_after = fields.DateTime(attribute="after")


class PreviewOut(ma.Schema):
    changed = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                          metadata={"description": "field -> [before, after]"})
    moving = fields.Integer(metadata={"description": "open clocks whose limit would change"})
    examples = fields.List(fields.Nested(MovedOut))
    recomputed = fields.Integer(metadata={"description": "on save: clocks that moved (0 unless recompute)"})


class RouteSchema(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(max=200))
    unit = fields.String(required=True, validate=validate.Length(max=64),
                         metadata={"description": "a unit code, or @county (the location's county)"})
    desk = fields.List(fields.String(validate=validate.Length(max=32)), load_default=list)
    category = fields.List(fields.String(validate=validate.Length(max=32)), load_default=list)
    location = fields.String(load_default="", validate=validate.Length(max=64))


class RoutingCatalogueIn(ma.Schema):
    routes = fields.List(fields.Nested(RouteSchema), required=True,
                         metadata={"description": "in order: the first route that fits wins"})
    note = NOTE


class RoutingCatalogueOut(SourceOut):
    routes = fields.List(fields.Nested(RouteSchema))


WORDS = fields.List(fields.String(validate=validate.Length(min=1, max=40)), validate=validate.Length(max=500))


class NegationSchema(ma.Schema):
    kinds = fields.List(fields.String(validate=validate.Length(max=32)), load_default=list)
    cues = WORDS
    fillers = WORDS


class CrisisWordsIn(ma.Schema):
    kinds = fields.Dict(keys=fields.String(validate=validate.Length(max=32)), values=WORDS, required=True)
    ignore = WORDS
    negation = fields.Nested(NegationSchema, load_default=dict)
    note = NOTE


class CrisisWordsOut(SourceOut):
    kinds = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    ignore = fields.List(fields.String())
    negation = fields.Nested(NegationSchema)


def _source(rule_set) -> dict:
    row = rule_set.source()
    return {"updated_by": row.updated_by if row else None, "updated_at": row.updated_at if row else None,
            "version": row.version if row else None,
            "refused": str(error.problem()) if (error := rule_set.refused()) else None}


def _preview(shown, **more) -> dict:
    return {"changed": shown.changed, "moving": shown.moving, "examples": shown.examples, **more}


def _routing() -> dict:
    return {"routes": catalogues.routes_document(), **_source(ROUTES)}


def _crisis_words() -> dict:
    return {**catalogues.lexicon_document(), **_source(CRISIS_WORDS)}


def _reader():
    user = current_user()
    permissions.check_reads_rules(user)
    return user


def _editor():
    user = current_user()
    permissions.check_edits_rules(user)
    return user


READERS = {403: "Not an admin or supervisor"}


@route(blp, "/time-limits", out=TimeLimitsOut, refusals=READERS)
def get_time_limits():
    """The time limits in force, every editable duration by field."""
    _reader()
    return {"fields_": editing.fields_of(clocks.TIME_LIMITS.document()), **_source(clocks.TIME_LIMITS)}


@route(blp, "/time-limits/preview", "POST", body=TimeLimitsChange, out=PreviewOut,
       refusals={403: "Not an admin", 422: "A duration is not valid (the field named)"})
def preview_time_limits(body):
    """What the change would do (nothing saved): the fields, how many open clocks it would move
    if recomputed, and a few of them before and after."""
    _editor()
    return _preview(editing.preview_of(body["changes"]))


@route(blp, "/time-limits", "PATCH", body=TimeLimitsSave, out=PreviewOut, commit=True, refusals={
    403: "Not an admin", 422: "A duration is not valid (the field named), or nothing changed"})
def save_time_limits(body):
    """Change durations (an audited change, in force at once for new clocks); open clocks keep
    their deadlines unless `recompute` is true."""
    shown, moved = editing.save(_editor(), body["changes"], recompute_open=body["recompute"],
                                note=body["note"])
    return _preview(shown, recomputed=moved)


def _replaced_whole(path: str, name: str, body, out, shown: Callable[[], dict],
                    save: Callable[[dict], object], docs: tuple[str, str], invalid: str) -> None:
    """`GET` (admins, supervisors) and `PUT` (admins) of a rule set an edit replaces whole:
    both answer `shown()`; `docs` are theirs, `invalid` says when the edit is refused."""
    def read():
        _reader()
        return shown()

    def replace(body):
        save(body)
        return shown()

    read.__name__, replace.__name__ = f"get_{name}", f"put_{name}"
    read.__doc__, replace.__doc__ = docs
    route(blp, path, out=out, refusals=READERS, endpoint=read.__name__)(read)
    route(blp, path, "PUT", body=body, out=out, commit=True, endpoint=replace.__name__,
          refusals={403: "Not an admin", 422: invalid})(replace)


_replaced_whole("/routing", "routing", RoutingCatalogueIn, RoutingCatalogueOut, _routing,
                lambda body: catalogues.save_routes(current_user(), body["routes"], body["note"]),
                ("The routing catalogue in force, in order.",
                 "Replace the routing catalogue (an audited change, in force at once)."),
                "A route names an unknown unit, desk or category (route.N.field)")
_replaced_whole("/crisis-words", "crisis_words", CrisisWordsIn, CrisisWordsOut, _crisis_words,
                lambda body: catalogues.save_lexicon(current_user(), body, body.pop("note", "")),
                ("The crisis lexicon in force.",
                 "Replace the crisis lexicon (an audited change, in force at once)."),
                "A kind with no words, or negation of an unknown kind (the field named)")


class ChangeQuery(ma.Schema):
    subject = fields.String(validate=validate.OneOf([s.value for s in Subject]))
    key = fields.String(validate=validate.Length(max=80))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class ChangeOut(ma.Schema):
    at = fields.DateTime()
    actor = fields.String()
    subject = fields.String()
    key = fields.String()
    action = fields.String()
    detail = fields.Dict(metadata={
        "description": "{field: [before, after]} for an edit; the values for a creation"})


@route(changes_blp, "/changes", query=ChangeQuery, out=ChangeOut(many=True),
       refusals={403: "Not an admin, supervisor or unit admin"})
def list_changes(query):
    """Who changed which user, unit, partner, rule, calendar day or message, newest first (a
    unit admin: the users and units of its subtree only)."""
    return changes.visible(current_user(), query.get("subject"), query.get("key"), query["limit"])
