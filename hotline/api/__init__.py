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
    for blueprint in (auth.blp, tickets.blp, units.blp, notices.blp, calendar.blp, outbox.blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(reports.blp)
    api.register_blueprint(risk.blp)
    api.register_blueprint(alerts.blp)
    api.register_blueprint(sessions.blp)
    api.register_blueprint(contact.blp)
    calls.register()  # /api/v1/calls, and the Twilio webhooks under /twilio
    api.register_blueprint(referrals_api.blp)
    api.register_blueprint(audit.blp)
    api.register_blueprint(subscriptions.blp)
    for blueprint in (admin.users_blp, admin.units_blp, admin.import_blp, rules.blp, rules.changes_blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(knowledge_api.blp)
    api.register_blueprint(search.blp)
    api.register_blueprint(attachments.blp)
    api.register_blueprint(hotspots.blp)
    api.register_blueprint(saved_views.blp)


def committed(view):
    """Commit once at the request boundary, after the one service call succeeded."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        result = view(*args, **kwargs)
        db.session.commit()
        return result

    return wrapper


def action_routes(blp, path: str, bodies: dict, out_schema, perform: Callable, prefix: str) -> None:
    """One POST route per action of a workflow, `path`/actions/<action>, each with its own
    body schema; `perform(body, object_id, action)` is the one service call."""
    for action, body_schema in bodies.items():
        _action_route(blp, path, action, body_schema, out_schema, perform, prefix)


def _action_route(blp, path, action, body_schema, out_schema, perform, prefix) -> None:
    @blp.arguments(body_schema())
    @blp.response(200, out_schema)
    @blp.alt_response(403, description="Role or unit may not do this")
    @blp.alt_response(404, description="Not found, or not visible to the caller")
    @blp.alt_response(409, description="Not allowed in the current state, or lost a race")
    @blp.doc(security=[{"bearer": []}], summary=f"Action: {action}")
    @committed
    def view(body, **ids):
        (object_id,) = ids.values()
        return perform(body, object_id, action)

    view.__name__ = f"{prefix}{action}"
    blp.route(f"{path}/actions/{action}", methods=["POST"], endpoint=view.__name__)(view)
