"""Issue 24 item 4: history that stays fast. On PostgreSQL the event log and the read audit are
partitioned by month (hotline.history), the sweep creates the months ahead, an event of a month
without its partition still lands, and old months are archived by detaching them."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hotline import audit, history, tasks
from hotline.cli import main
from hotline.extensions import db
from tests.console.helpers import Browser
from tests.webhook_receivers import pump

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}


@pytest.fixture
def postgres(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("partitions are PostgreSQL's; on SQLite the tables stay plain")


def on(day: str, api=None):
    """Travel to `day`; the API client signs in again there (its tokens last 12 hours)."""
    if api is not None:
        api._tokens.clear()
    return time_machine.travel(datetime.fromisoformat(day).replace(tzinfo=SHANGHAI), tick=True)


def sweep(app) -> dict:
    with app.app_context():
        return tasks.sweep()["history"]


def partition_of_events(app, ticket_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(text(
            "SELECT tableoid::regclass::text FROM ticket_events WHERE ticket_id = :t ORDER BY seq"),
            {"t": ticket_id}))


def attached(app) -> set[str]:
    with app.app_context():
        return {p.name for p in history.partitions()}


def test_on_sqlite_the_tables_stay_plain_and_the_sweep_step_does_nothing(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's behaviour")
    assert sweep(app) == {}


def test_events_of_two_months_land_in_two_partitions(app, api, postgres):
    with on("2026-11-23 10:00", api):
        sweep(app)
        tid = api.create(desk="children", category="psych_support", caller=CHILD)["id"]
        api.ticket(tid)                                  # a read of a child's ticket: audited
    with on("2026-12-02 09:00", api):
        api.act(tid, "add_note", "seat1", {"note": "已回电"})
        api.ticket(tid)
    assert partition_of_events(app, tid) == ["ticket_events_2026_11", "ticket_events_2026_12"]
    with app.app_context():
        reads = list(db.session.scalars(text(
            "SELECT tableoid::regclass::text FROM read_audit WHERE subject_id = :t ORDER BY id"),
            {"t": tid}))
        assert sorted(set(reads)) == ["read_audit_2026_11", "read_audit_2026_12"]
        assert audit.verify(tid).ok
    api._tokens.clear()
    assert [e["action"] for e in api.events(tid)] == ["create", "add_note"]


def test_the_sweep_creates_the_months_ahead_once(app, postgres):
    with on("2031-03-15 12:00"):
        first = sweep(app)
        again = sweep(app)
    months = ["2031_03", "2031_04", "2031_05", "2031_06"]
    assert first["created"] == [f"{t}_{m}" for t in ("ticket_events", "read_audit") for m in months]
    assert again == {"created": []}
    assert {f"ticket_events_{m}" for m in months} <= attached(app)
    assert "ticket_events_2031_07" not in attached(app)


def test_a_sweep_that_cannot_lock_the_log_leaves_the_month_to_the_next_and_keeps_its_work(app, api,
                                                                                        postgres):
    with app.app_context(), db.engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM ticket_events"))   # a long read holds its lock
        with on("2045-02-10 10:00", api):
            tid = api.create()["id"]
            with app.app_context():
                result = tasks.sweep()
        assert "lock timeout" in result["history"]["postponed"]
        assert "kpi_rollups" in result
        reader.rollback()
    assert "ticket_events_2045_02" not in attached(app)
    with app.app_context():      # the sweep's other steps committed (the rollups' fold)
        assert db.session.scalar(text("SELECT folded_at FROM kpi_rollup_marks")).year == 2045
    with on("2045-02-10 10:01"):
        assert "ticket_events_2045_02" in sweep(app)["created"]
    assert partition_of_events(app, tid) == ["ticket_events_2045_02"]


def test_an_event_of_a_month_without_partition_lands_and_moves_when_the_month_is_made(app, api, postgres):
    with on("2040-06-10 10:00", api):
        tid = api.create()["id"]
        assert partition_of_events(app, tid) == ["ticket_events_default"]
        assert "ticket_events_2040_06" in sweep(app)["created"]
    assert partition_of_events(app, tid) == ["ticket_events_2040_06"]
    with app.app_context():
        assert audit.verify(tid).ok
    api._tokens.clear()
    assert api.ticket(tid)["state"] == "intake"


def test_a_partition_refuses_update_delete_and_truncate_as_the_table_does(app, api, postgres):
    with on("2026-11-23 10:00", api):
        sweep(app)
        tid = api.create(desk="children", category="psych_support", caller=CHILD)["id"]
        api.ticket(tid)
    with app.app_context():
        for statement in ("UPDATE ticket_events_2026_11 SET action = 'forged'",
                          "DELETE FROM ticket_events_2026_11", "TRUNCATE ticket_events_2026_11",
                          "DELETE FROM read_audit_2026_11", "TRUNCATE read_audit_2026_11",
                          "TRUNCATE ticket_events_default"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
    assert [e["action"] for e in api.events(tid)] == ["create"]


def test_a_webhook_delivery_names_its_event(app, api, scripted, postgres):
    with on("2026-11-23 10:00", api):
        sweep(app)
        sub = api.post("/api/v1/subscriptions", "admin", {"url": scripted.url, "unit": "gulou",
                                                          "events": ["*"], "secret": scripted.secret},
                       expect=201).json
        tid = api.dispatched(unit="gulou")["id"]
        pump(app)
    (delivery,) = api.get(f"/api/v1/subscriptions/{sub['id']}/deliveries", "admin").json
    assert delivery["status"] == "delivered"
    assert scripted.seen[0].message["data"]["event"]["seq"] == 3
    with app.app_context():
        event_id = db.session.scalar(text(
            "SELECT d.event_id FROM webhook_deliveries d JOIN ticket_events e ON e.id = d.event_id "
            "WHERE e.ticket_id = :t"), {"t": tid})
    assert event_id is not None


def test_archiving_detaches_the_old_months_and_recent_tickets_still_show(app, api, postgres):
    with on("2023-01-10 10:00", api):
        sweep(app)
        old = api.create()["id"]
    with on("2026-11-23 10:00", api):
        sweep(app)
        made = api.create()
        recent = made["id"]
        api.act(recent, "submit", "seat1")
        runner = app.test_cli_runner()
        refused = runner.invoke(main, ["history", "archive", "--before", "2026-01"])
        assert refused.exit_code != 0 and "HISTORY_ONLINE_MONTHS" in refused.output
        planned = runner.invoke(main, ["history", "archive", "--before", "2023-03", "--dry-run"])
        assert planned.exit_code == 0, planned.output
        assert "ticket_events_2023_01" in planned.output and "read_audit_2023_02" in planned.output
        assert "ticket_events_2023_01" in attached(app)
        done = runner.invoke(main, ["history", "archive", "--before", "2023-03"])
        assert done.exit_code == 0, done.output
        assert "pg_dump" in done.output and "DROP TABLE ticket_events_2023_01" in done.output
    try:
        assert not {"ticket_events_2023_01", "ticket_events_2023_02"} & attached(app)
        assert "ticket_events_2023_03" in attached(app)
        with app.app_context():
            kept = db.session.scalar(text("SELECT count(*) FROM ticket_events_2023_01 WHERE ticket_id = :t"),
                                     {"t": old})
        assert kept == 1                      # detached, not lost: there for the dump
        assert [e["action"] for e in api.events(recent)] == ["create", "submit"]
        browser = Browser(app)
        browser.login("supervisor1")
        assert made["number"] in browser.html(f"/console/tickets/{recent}")
    finally:
        with app.app_context():
            for table in ("ticket_events", "read_audit"):
                for month in ("01", "02"):
                    db.session.execute(text(f"DROP TABLE IF EXISTS {table}_2023_{month}"))
            db.session.commit()
