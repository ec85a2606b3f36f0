"""Start-up and response safeguards: production refuses settings and accounts that would put
callers' data at risk (the shipped secret, unsigned-URL webhooks, demo passwords); security headers."""

import logging

from flask import Flask
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from config.settings import DEFAULT_SECRET_KEY
from hotline import passwords
from hotline.extensions import db
from hotline.seed import DEMO_PASSWORD, demo_usernames
from hotline.users import User

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


class InsecureConfiguration(RuntimeError):
    """Production settings that would put callers' data at risk."""


def check_configuration(app: Flask) -> None:
    """Refuse to start in production with the shipped SECRET_KEY (sessions could be forged), or
    with Twilio on but no PUBLIC_BASE_URL (the signed URL would come from the request's Host
    and X-Forwarded-Proto headers, which the client controls)."""
    if app.config.get("ENV_NAME") != "production":
        return
    if app.config["SECRET_KEY"] in (DEFAULT_SECRET_KEY, "", None):
        raise InsecureConfiguration(
            "HOTLINE_ENV=production needs its own SECRET_KEY (set the SECRET_KEY environment variable)")
    if app.config.get("TWILIO_AUTH_TOKEN") and not app.config.get("PUBLIC_BASE_URL"):
        raise InsecureConfiguration(
            "HOTLINE_ENV=production with TWILIO_AUTH_TOKEN needs PUBLIC_BASE_URL (the https address "
            "Twilio calls), so webhook signatures are checked against it and not against request headers")


def trust_proxies(app: Flask) -> None:
    """Take the client's address from X-Forwarded-For, as far as TRUSTED_PROXY_COUNT proxies
    vouch for it (werkzeug's ProxyFix): the sign-in limit per address must count clients, not
    the proxy, or 30 typos across a whole centre would lock everyone out."""
    count = int(app.config.get("TRUSTED_PROXY_COUNT") or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count)


def check_demo_passwords(app: Flask) -> None:
    """Refuse to serve in production while an active demo user still has the password `demo`
    (called where serving starts: wsgi.py, `hotline web`, `hotline run`).

    Only the demo organisation's user names (and its handler-, partner- and admin-<county>
    accounts) are checked, one password check per distinct hash
    (the seed gives them one), so start-up stays fast whatever the number of users. A database
    not migrated yet (`hotline db upgrade` itself) or unreachable is left to the sign-in check,
    which refuses `demo` in production anyway.
    """
    if app.config.get("ENV_NAME") != "production":
        return
    with app.app_context():
        names = demo_usernames()
        try:
            rows = db.session.execute(
                select(User.password_hash, User.username).where(User.active.is_(True), or_(
                    User.username.in_(names), User.username.like("handler-%"),
                    User.username.like("partner-%"), User.username.like("admin-%")))).all()
        except SQLAlchemyError as error:
            log.warning("demo password check skipped (database not ready): %s", error)
            return
        finally:
            db.session.remove()
    by_hash: dict[str, list[str]] = {}
    for password_hash, username in rows:
        by_hash.setdefault(password_hash, []).append(username)
    still_demo = sorted(name for password_hash, users in by_hash.items()
                        if passwords.verify(password_hash, DEMO_PASSWORD) for name in users)
    if still_demo:
        raise InsecureConfiguration(
            f"HOTLINE_ENV=production: {len(still_demo)} demo user(s) still have the password "
            f"'demo' ({', '.join(still_demo[:5])}...): change their passwords "
            "(`hotline users passwd NAME`) or deactivate them (`hotline users deactivate NAME`)")


def init_app(app: Flask) -> None:
    check_configuration(app)
    trust_proxies(app)

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        return response
