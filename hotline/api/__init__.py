"""The REST API (docs/integration.md): blueprints registered on the flask-smorest Api.

Depends on: the extensions here; `register_api` (called by `create_app`) loads every resource
module of the API, the knowledge base's and the referrals'.
"""

from collections.abc import Callable
from functools import wraps

from flask import current_app

from hotline.extensions import api, db


def register_api() -> None:
    # Blueprint registration (issue 19 leaves it to the app factory): the resource modules
    # import `committed` and `action_routes` from this package, so they load after it.
    from hotline.api import (
        admin,
        alerts,
        attachments,
        audit,
        auth,
        calendar,
        calls,
        contact,
        hotspots,
        notices,
        outbox,
        reports,
        risk,
        rules,
        saved_views,
        search,
        sessions,
        subscriptions,
        tickets,
        units,
    )
    from hotline.api.converters import IsoDateConverter
    from hotline.knowledge import api as knowledge_api
    from referrals import api as referrals_api

    current_app.url_map.converters["isodate"] = IsoDateConverter
    api.register_converter(IsoDateConverter, lambda _converter: {"type": "string", "format": "date"})

    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/token"}
    )
    for module in (auth, tickets, units, notices, calendar, outbox, reports, risk, alerts, sessions, contact):
        api.register_blueprint(module.blp)
    calls.register()  # /api/v1/calls, and the Twilio webhooks under /twilio
    for blueprint in (referrals_api.blp, audit.blp, subscriptions.blp, admin.users_blp, admin.units_blp,
                      admin.import_blp, rules.blp, rules.changes_blp, knowledge_api.blp, search.blp,
                      attachments.blp, hotspots.blp, saved_views.blp):
        api.register_blueprint(blueprint)


SECURITY = [{"bearer": []}]


def committed(view):
    """Commit once at the request boundary, after the one service call succeeded.

    `route` puts it above `@blp.response`: the answer is dumped before the commit, from the
    same transaction; dumped after it, the reads the answer needs would take a connection from
    the pool again and open a second transaction (an intake's or an action's contact safety).
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        result = view(*args, **kwargs)
        db.session.commit()
        return result

    return wrapper


def route(blp, path: str, method: str = "GET", *, query=None, body=None, form=None, files=None,
          out=None, status: int | None = 200, description: str | None = None,
          refusals: dict[int, str] | None = None, commit: bool = False, public: bool = False,
          endpoint: str | None = None, **doc) -> Callable:
    """The decorators of one API route in one call: the schemas in (`query`, `body`, `form`,
    `files`: the view's arguments in that order), `out` answered with `status` (None: the view
    answers with its own response, documented in `doc`), the refusals it may answer (code →
    when), bearer security unless `public`, and `commit` once at the request boundary."""

    def decorate(view):
        if not public or doc:
            view = blp.doc(**({} if public else {"security": SECURITY}), **doc)(view)
        for code, text in reversed((refusals or {}).items()):
            view = blp.alt_response(code, description=text)(view)
        if status is not None:
            view = blp.response(status, out, description=description)(view)
        if commit:
            view = committed(view)
        for schema, location in ((files, "files"), (form, "form"), (body, "json"), (query, "query")):
            if schema is not None:
                view = blp.arguments(schema, location=location)(view)
        return blp.route(path, methods=[method], endpoint=endpoint)(view)

    return decorate


def action_routes(blp, path: str, bodies: dict, out_schema, perform: Callable, prefix: str) -> None:
    """One POST route per action of a workflow, `path`/actions/<action>, each with its own
    body schema; `perform(body, object_id, action)` is the one service call."""
    for action, body_schema in bodies.items():
        _action_route(blp, path, action, body_schema, out_schema, perform, prefix)


ACTION_REFUSALS = {403: "Role or unit may not do this", 404: "Not found, or not visible to the caller",
                   409: "Not allowed in the current state, or lost a race"}


def _action_route(blp, path, action, body_schema, out_schema, perform, prefix) -> None:
    def view(body, **ids):
        (object_id,) = ids.values()
        return perform(body, object_id, action)

    view.__name__ = f"{prefix}{action}"
    route(blp, f"{path}/actions/{action}", "POST", body=body_schema(), out=out_schema,
          refusals=ACTION_REFUSALS, commit=True, endpoint=view.__name__, summary=f"Action: {action}")(view)
