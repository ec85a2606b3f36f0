"""The web console (docs/design.md §7): server-rendered pages for seats, dispatchers, units and supervisors.

`init_app` wires everything the console needs into the app: Flask-Login (session
cookie), Flask-Babel (Chinese by default, English by a cookie), CSRF protection for
the console's forms only (the JSON API under /api and the Twilio webhooks keep their
own authentication), and the blueprint under /console with `/` sending visitors there.
Views are thin: form in, one service call, page out; the one commit is at the end.
"""

from datetime import timedelta

from flask import Blueprint, Flask, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from hotline.auth import CONSOLE_SESSION_KEY, SessionKind, user_for_token

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")

babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()

LANGUAGES = ("zh", "en")
LANG_COOKIE = "lang"


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over https (or config says so)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        try:
            return request.is_secure
        except RuntimeError:  # outside a request
            return False

    def should_set_cookie(self, app: Flask, session) -> bool:
        # A panel refreshing itself (console.js sends X-Console-Refresh) does not keep an idle
        # console logged in: such a request saves the session only when it changed it.
        if request.headers.get("X-Console-Refresh"):
            return session.modified
        return super().should_set_cookie(app, session)


def select_locale() -> str:
    """The console's language cookie; outside the console (the API's error messages), also the
    client's Accept-Language; Chinese otherwise."""
    if not request:
        return "zh"
    lang = request.cookies.get(LANG_COOKIE)
    if lang not in LANGUAGES and request.blueprint != "console":
        # The first language the client names that we have ("zh-CN" is zh), by its weights.
        named = (value.split("-")[0].lower() for value, _quality in request.accept_languages)
        lang = next((value for value in named if value in LANGUAGES), None)
    return lang if lang in LANGUAGES else "zh"


def init_app(app: Flask) -> None:
    # Flask's defaults exist as keys, so these are set unless configured otherwise.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    if app.config.get("PREFERRED_URL_SCHEME") == "https":
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        hours=app.config.get("CONSOLE_SESSION_HOURS", 12))
    # CSRF is checked by the console blueprint itself (see plumbing._protect), so the
    # JSON API and the webhooks are never asked for a token.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    # The app's catalogue, then the console's own (its referral pages), merged in that order.
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations;console/translations")
    app.session_interface = SessionInterface()

    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "console.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    # The modules that put their routes, hooks and template globals on `bp`; imported here,
    # once the package (bp, csrf, babel) exists, because they import it.
    from hotline.console import (  # noqa: F401
        admin_pages,
        attachment_pages,
        audit_pages,
        auth_pages,
        call_pages,
        child_safety,
        contact_pages,
        dispatch_pages,
        dispatch_sheet,
        failed_job_pages,
        filters,
        hotspot_pages,
        intake_pages,
        knowledge_pages,
        live,
        navigation,
        notice_pages,
        plumbing,
        queue_pages,
        referral_pages,
        repeat_pages,
        report_pages,
        reports,
        rules_pages,
        saved_view_pages,
        session_pages,
        subscription_pages,
        ticket_pages,
        timeline,
        watch_pages,
    )

    filters.register(app)
    app.register_blueprint(bp)
    app.add_url_rule("/", "console_root", lambda: redirect(url_for("console.home")))


@login_manager.user_loader
def _load_user(user_id: str):
    """The user of a live server-side console session (hotline.auth); None once it ended
    (logout, password change, deactivation, an admin) or for a cookie without one."""
    secret = session.get(CONSOLE_SESSION_KEY)
    if not isinstance(secret, str) or not secret:
        return None
    user = user_for_token(secret, SessionKind.CONSOLE)
    return user if user is not None and str(user.id) == user_id else None


