"""The 12345 hotline service: `create_app` builds the Flask app; nothing is bound at import."""

import logging
import os
import select
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import event, exc

from config.settings import ENV_OVERRIDES, settings_for

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def create_app(overrides: dict | None = None) -> Flask:
    instance = os.environ.get("HOTLINE_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = Flask(__name__, instance_path=instance)
    app.config.from_object(settings_for())
    for env_name, key in ENV_OVERRIDES.items():
        if os.environ.get(env_name):
            app.config[key] = os.environ[env_name]
    app.config.update(overrides or {})
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _configure_database(app)

    from hotline import security

    security.init_app(app)

    from hotline import history, receivers, redis, shared_cache, subscriptions, tasks
    from hotline.api import register_api
    from hotline.clocks.limits import load_time_limits
    from hotline.crisis import load_crisis_words
    from hotline.errors import register_error_handlers
    from hotline.extensions import api, db, migrate
    from hotline.health import bp as health_bp
    from hotline.open311 import bp as open311_bp
    from hotline.routing import load_routes

    app.extensions["hotline.time_limits"] = load_time_limits(app.config["HOTLINE_TIME_LIMITS"])
    app.extensions["hotline.routes"] = load_routes(app.config["HOTLINE_ROUTING"])
    app.extensions["hotline.crisis_words"] = load_crisis_words(app.config["HOTLINE_CRISIS_KEYWORDS"])
    db.init_app(app)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs before it (Flask runs them last
    # registered first) and leaves that one nothing to do.
    app.teardown_appcontext(_end_session)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        elif not db.engine.pool._pre_ping:
            _ping_when_in_doubt(db.engine, app.config["DATABASE_PING_AFTER_IDLE_SECONDS"])
    # The search engines' own objects (FTS5 tables, tsvector columns) and the history's
    # partitions are not the models'.
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True,
                     include_object=history.include_object)
    redis.init_app(app)
    tasks.init_app(app)
    shared_cache.init_app(app)
    subscriptions.init_app(app)
    api.init_app(app)
    with app.app_context():
        register_api()
    app.register_blueprint(health_bp)
    app.register_blueprint(open311_bp)
    from hotline.console import init_app as init_console
    init_console(app)
    register_error_handlers(app)
    from hotline.attachments import uploads

    uploads.init_app(app)
    _import_models()
    receivers.connect()      # every signal receiver, timer handler and job, in one place
    return app


def _configure_database(app: Flask) -> None:
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        uri = f"sqlite:///{Path(app.instance_path) / 'hotline.db'}"
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://"):]
    if uri.startswith("postgresql://"):
        # The plain URL must work; this project ships psycopg 3, not psycopg2.
        uri = "postgresql+psycopg://" + uri[len("postgresql://"):]
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": 15})
    else:
        # Not SQLAlchemy's pre-ping (a SELECT 1 at every checkout): `_ping_when_in_doubt`.
        options.setdefault("pool_pre_ping", False)
        # Last in, first out: a request takes the connection the previous one just gave back
        # (no ping needed), and the extra ones a burst opened go idle and get checked.
        options.setdefault("pool_use_lifo", True)
        options.setdefault("pool_size", 10)
        options.setdefault("connect_args", {"connect_timeout": 3})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _end_session(_error) -> None:
    """End the request's session, even when the database went away under it.

    Flask-SQLAlchemy's teardown rolls back the transaction a request left open (every read
    does); when the server was restarted or died since the request's last query, that
    rollback raises, the exception escapes Flask after the response was made, and gunicorn
    sends its own HTML 500 instead: for a read that succeeded, or after a commit. The failed
    rollback has invalidated the connection (the server discarded the transaction anyway),
    so removing the session again succeeds, and the pool connects afresh next time.
    """
    from sqlalchemy.exc import DBAPIError

    from hotline.extensions import db

    try:
        db.session.remove()
    except DBAPIError as error:
        logging.getLogger(__name__).warning("database connection lost at the end of a request: %s",
                                            error.orig)
        db.session.remove()


_RETURNED = "hotline.returned_at"


def _ping_when_in_doubt(engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it may have gone bad: it sat idle for
    `idle_seconds` or more (a firewall may have dropped it), or its socket has something to
    read, which an idle connection only has when the server hung up (a restart, a terminated
    backend: PostgreSQL says so, or the socket is closed). A connection back from a request a
    moment ago is used as it is: a SELECT 1 per request was a round trip in every write. A
    failed ping discards the connection and the pool connects afresh."""

    def returned(_dbapi_connection, record, *_args) -> None:
        record.info[_RETURNED] = time.time()

    def check(dbapi_connection, record, _proxy) -> None:
        since = record.info.get(_RETURNED)
        if since is not None and 0 <= time.time() - since < idle_seconds and _quiet(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"the pooled connection failed its ping: {error}") from error

    event.listen(engine, "connect", returned)
    event.listen(engine, "checkin", returned)
    event.listen(engine, "checkout", check)


def _quiet(dbapi_connection) -> bool:
    """Nothing waits to be read on the connection's socket (psycopg 3), and it looks open."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None or dbapi_connection.closed or dbapi_connection.broken:
        return False
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    return not poller.poll(0)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL and a busy timeout so concurrent requests wait instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _import_models() -> None:
    """Make every model known to the metadata (Alembic autogenerate, create_all)."""
    from hotline import (  # noqa: F401  # noqa: F401
        audit,
        auth,
        hotspots,
        kpi_rollups,
        notices,
        outbox,
        risk,
        saved_views,
        search,
        subscriptions,
        units,
        users,
    )
    from hotline.admin import changes  # noqa: F401
    from hotline.attachments import models as attachment_models  # noqa: F401
    from hotline.clocks import models as clock_models  # noqa: F401
    from hotline.knowledge import models as knowledge_models  # noqa: F401
    from hotline.tickets import models as ticket_models  # noqa: F401
    from referrals import models as referral_models  # noqa: F401
