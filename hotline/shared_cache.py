"""Per-process caches of rarely-changing reads, kept in step across processes through Redis.

Every intake and action used to read the same few rows again: the bearer token's user, the
unit named by its code, the rules' stamps, the active webhook subscriptions. They change when
an admin changes them, a few times a day. Each process (a gunicorn worker, an RQ worker, a
console process on another web node) now keeps what it read, under a *stamp* per cache name
that Redis holds in one hash (`hotline:cache-stamps`):

- a request or job reads the hash once (one Redis round trip, kept in `g`) and uses a cached
  value only while its name's stamp is the one it was read under;
- a transaction that changed a table a cache is read from (through the ORM: a flushed object,
  or an ORM-enabled UPDATE/DELETE/INSERT statement) gives those names new random stamps just
  after its COMMIT, before the request answers, so the next request anywhere reads afresh.

Stamps are random, never counters, so a flushed or restarted Redis cannot bring back a stamp
some process cached under; a name missing from the hash gets a fresh stamp on first read.
Without Redis (down, or paused after a failure: `hotline.redis.available`) nothing is cached:
every read goes to the database, as before. Stamps a commit could not write are retried at
the next commit of this process, and a cached value is read again after MAX_AGE seconds
whatever its stamp: a backstop for a change no process announced (SQL typed by hand).

Cached values are detached copies (`snapshot`); `attach` puts one into the request's session
without a statement (`Session.merge(load=False)`), so callers get an ordinary ORM object.

Depends on: the session, Redis and Flask's `g` only.
"""

import logging
import secrets
import time
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from flask import current_app, g
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

from hotline import redis
from hotline.extensions import db

log = logging.getLogger(__name__)

KEY = "hotline:cache-stamps"
# The cache names a change to each table makes stale. A user's cached token holds the user and
# their unit; the subscriptions' cache holds only which are active.
NAMES_OF_TABLE: dict[str, tuple[str, ...]] = {
    "units": ("units", "sessions"),
    "users": ("sessions",),
    "api_tokens": ("sessions",),
    "centre_rules": ("rules",),
    "webhook_subscriptions": ("subscriptions",),
}
NAMES = frozenset(name for names in NAMES_OF_TABLE.values() for name in names)
# Seconds after which a cached value is read again even with its stamp unchanged.
MAX_AGE = 60.0
# Seconds a request or job goes on using the stamps it read.
STAMPS_FOR = 1.0
# Entries per cache name before the oldest half goes (tokens: one per signed-in session).
MAX_ENTRIES = 5000

_CHANGED = "hotline.cache_changed"
_OWED = "hotline.cache_stamps_owed"
_STORE = "hotline.shared_cache"

T = TypeVar("T")


def stamps() -> dict[str, str] | None:
    """The stamps of every cache name, read once per request or job (again after a second,
    for a loop that keeps one app context); None without Redis."""
    memo = g.get("cache_stamps")
    if memo is not None and time.monotonic() - memo[0] < STAMPS_FOR:
        return memo[1]
    found: dict[str, str] | None = None
    if redis.available():
        try:
            found = _read_stamps()
        except Exception as exc:      # Redis down or stalled: read the database instead
            redis.failed()
            log.warning("cache stamps unreadable (%s): reading the database", exc)
    if found is None:
        current_app.extensions.pop(_STORE, None)   # nothing cached can be vouched for later
    g.cache_stamps = (time.monotonic(), found)
    return found


def _read_stamps() -> dict[str, str]:
    client = redis.connection()
    owed = current_app.extensions.get(_OWED)
    if owed:
        _write_stamps(client, owed)
        current_app.extensions.pop(_OWED, None)
    found = {_text(k): _text(v) for k, v in client.hgetall(KEY).items()}
    missing = NAMES - found.keys()
    if missing:
        pipe = client.pipeline(transaction=False)
        for name in sorted(missing):
            pipe.hsetnx(KEY, name, secrets.token_hex(8))
        pipe.hgetall(KEY)
        found = {_text(k): _text(v) for k, v in pipe.execute()[-1].items()}
    return found


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def cached(name: str, key: Hashable, load: Callable[[], T]) -> T:
    """`load()`'s value, from this process's cache while `name`'s stamp holds."""
    current = stamps()
    if current is None:
        return load()
    store = current_app.extensions.setdefault(_STORE, {})
    stamp, entries = store.get(name, (None, {}))
    if stamp != current[name]:
        stamp, entries = current[name], {}
        store[name] = (stamp, entries)
    now = time.monotonic()
    hit = entries.get(key)
    if hit is not None and now - hit[0] < MAX_AGE:
        return hit[1]
    value = load()
    if len(entries) >= MAX_ENTRIES:
        for old in list(entries)[: MAX_ENTRIES // 2]:
            del entries[old]
    entries[key] = (now, value)
    return value


def changed(*names: str) -> None:
    """Say that this transaction changed what `names` cache (new stamps after its commit)."""
    db.session.info.setdefault(_CHANGED, set()).update(names)


# --- detached copies ------------------------------------------------------------------------

def snapshot(obj: T) -> T:
    """A detached copy of a loaded ORM object: its columns and its loaded to-one relationships
    (copied the same way); lists and unloaded relationships load lazily once attached."""
    state = inspect(obj)
    mapper = state.mapper
    values = {attr.key: state.dict[attr.key] for attr in mapper.column_attrs if attr.key in state.dict}
    copy = mapper.class_manager.new_instance()
    copy_state = inspect(copy)
    for key, value in values.items():
        copy_state.dict[key] = value
    for rel in mapper.relationships:
        if rel.uselist or rel.key not in state.dict:
            continue
        related = state.dict[rel.key]
        copy_state.dict[rel.key] = snapshot(related) if related is not None else None
    make_transient_to_detached(copy)
    return copy


def attach(obj: T) -> T:
    """The request session's own instance of a cached snapshot, without a statement."""
    return db.session.merge(obj, load=False)


# --- telling the other processes ------------------------------------------------------------

def _names(tables: Iterable[str]) -> set[str]:
    return {name for table in tables for name in NAMES_OF_TABLE.get(table, ())}


def _after_flush(session: Session, _context) -> None:
    tables = {obj.__table__.name for obj in (*session.new, *session.deleted)
              if getattr(obj, "__tablename__", None) in NAMES_OF_TABLE}
    tables.update(obj.__table__.name for obj in session.dirty
                  if getattr(obj, "__tablename__", None) in NAMES_OF_TABLE
                  and session.is_modified(obj, include_collections=False))
    if tables:
        session.info.setdefault(_CHANGED, set()).update(_names(tables))


def _orm_statement(state) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    names = _names([table.name]) if table is not None and hasattr(table, "name") else set()
    if names:
        state.session.info.setdefault(_CHANGED, set()).update(names)


def _after_commit(session: Session) -> None:
    names = session.info.pop(_CHANGED, None)
    if not names:
        return
    g.pop("cache_stamps", None)          # this request reads its own change too
    owed = current_app.extensions.setdefault(_OWED, set())
    owed.update(names)
    if not redis.available():
        return                           # written by the first commit or read once Redis is back
    try:
        _write_stamps(redis.connection(), owed)
        current_app.extensions.pop(_OWED, None)
    except Exception as exc:
        redis.failed()
        current_app.extensions.pop(_STORE, None)
        log.warning("cache stamps of %s not written (%s): retried at the next request",
                    ", ".join(sorted(owed)), exc)


def _write_stamps(client, names: Iterable[str]) -> None:
    client.hset(KEY, mapping={name: secrets.token_hex(8) for name in names})


def init_app(_app) -> None:
    """Listen to the session (registered once, like the webhook outbox)."""
    for name, listener in (("after_flush", _after_flush), ("do_orm_execute", _orm_statement),
                           ("after_commit", _after_commit)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)

