"""The REST API (API.md): blueprints registered on the flask-smorest Api."""

from functools import wraps

from flask import current_app

from hotline.extensions import api, db


def register_api() -> None:
    from hotline.api import auth, calendar, calls, notices, outbox, reports, tickets, units
    from hotline.api.converters import IsoDateConverter
    from referrals import api as referrals_api

    current_app.url_map.converters["isodate"] = IsoDateConverter
    api.register_converter(IsoDateConverter, lambda _converter: {"type": "string", "format": "date"})

    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/token"}
    )
    for blueprint in (auth.blp, tickets.blp, units.blp, notices.blp, calendar.blp, outbox.blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(reports.blp)
    calls.register()  # /api/v1/calls, and the Twilio webhooks under /twilio
    api.register_blueprint(referrals_api.blp)


def committed(view):
    """Commit once at the request boundary, after the one service call succeeded."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        result = view(*args, **kwargs)
        db.session.commit()
        return result

    return wrapper
