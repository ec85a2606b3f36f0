"""The two commonest writes, an intake and an action, in few round trips to the database.

Each statement is a round trip a seat waits for and a web worker spends CPU on
(bench/README.md, "Endpoints"): these tests count them, as an operator reading the
database's log would.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event

from hotline.extensions import db


@pytest.fixture
def checkouts(app):
    """Each time a request takes a connection from the pool (each its own transaction)."""
    seen: list[int] = []

    def taken(_dbapi, _record, _proxy):
        seen.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "checkout", taken)
    yield seen
    event.remove(engine, "checkout", taken)


def lines(statements: list[str]) -> str:
    return "\n".join(" ".join(s.split())[:110] for s in statements)


# What every process keeps between requests (hotline.shared_cache): read again only after an
# admin changes it (tests/test_shared_cache.py).
CACHED_READS = ("FROM users", "FROM units", "FROM centre_rules", "FROM webhook_subscriptions")


def cached_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith("SELECT") and any(t in s for t in CACHED_READS)]


def test_an_intake_is_one_transaction_of_a_few_statements(app, api, statements, checkouts):
    api.create()                        # the token is issued, caches are warm
    statements.clear()
    checkouts.clear()
    api.create()
    assert len(checkouts) == 1, "the answer is written from the intake's own transaction"
    # the day's counter, the ticket, its event, its search document, and the answer's contact
    # safety (the seat's word, the risk events and the opt-out in one read); the token's
    # user, the place, the rules' stamps and the webhook subscriptions come from the cache
    assert len(statements) <= 5, lines(statements)
    assert cached_reads(statements) == []
    assert not any(s.startswith("SELECT ticket_events.hash") for s in statements), \
        "a first event follows no other"
    assert not any(s.startswith("DELETE FROM ticket_search") for s in statements), \
        "a new ticket has no search document to replace"


def test_an_action_is_one_transaction_of_a_few_statements(app, api, statements, checkouts):
    tid = api.dispatched()["id"]
    api.get("/api/v1/tickets", "handler-gulou")     # signed in before
    statements.clear()
    checkouts.clear()
    api.act(tid, "acknowledge", "handler-gulou")
    assert len(checkouts) == 1, "the answer is written from the action's own transaction"
    # the ticket locked with its clocks, co-units and last event's hash, its UPDATE, the clock
    # met, the event, the contact safety; the token's user and the subscriptions are cached
    assert len(statements) <= 5, lines(statements)
    assert cached_reads(statements) == []
    assert not any(s.startswith("SELECT ticket_events.hash") for s in statements), \
        "the last event's hash comes with the locked read"


@pytest.fixture
def pings(app, monkeypatch):
    """Each ping of a pooled connection before use (the real ping still goes out)."""
    with app.app_context():
        dialect = db.engine.dialect
    if dialect.name != "postgresql":
        pytest.skip("SQLite's connections are files: nothing to ping")
    seen: list[int] = []
    real = dialect.do_ping

    def ping(dbapi_connection):
        seen.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", ping)
    with app.app_context():
        db.engine.dispose()   # only this test's connections in the pool, whatever ran before
    return seen


def test_a_connection_back_from_a_request_a_moment_ago_is_used_without_a_ping(api, pings):
    tid = api.create()["id"]
    pings.clear()
    api.act(tid, "submit", "seat1")
    api.ticket(tid)
    assert pings == []


def test_a_connection_idle_for_a_while_is_pinged_before_use(api, pings):
    tid = api.create()["id"]
    pings.clear()
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1)):
        api.ticket(tid)
    assert pings == [1]


def test_after_a_busy_moment_the_next_request_takes_the_connection_just_used(app, api, pings):
    """A pool holds connections a burst opened a while ago; a quick run of requests keeps
    using the one that just came back (last in, first out), which needs no ping."""
    with app.app_context(), time_machine.travel(datetime.now(UTC) - timedelta(minutes=1)):
        burst = [db.engine.connect() for _ in range(3)]
        for connection in burst:
            connection.close()
    tid = api.create()["id"]
    pings.clear()
    api.act(tid, "submit", "seat1")
    assert pings == []
