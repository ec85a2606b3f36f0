"""Issue 18: an audit log nobody can edit (append-only, hash-chained, `hotline audit verify`)."""

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from hotline import audit
from hotline.cli import main
from hotline.extensions import db
from hotline.tickets.models import Event
from referrals.models import ReadAudit
from tests.helpers import POLL

CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}


def child_ticket(api) -> dict:
    return api.create(as_user="seat2", desk="children", category="psych_support", caller=CHILD,
                      content="孩子最近不愿上学")


def verify(app, *args):
    return app.test_cli_runner().invoke(main, ["audit", "verify", *args])


def test_the_event_log_and_the_read_audit_refuse_update_and_delete(app, api):
    tid = child_ticket(api)["id"]
    api.ticket(tid)
    with app.app_context():
        for statement in (update(Event).values(action="forged"), text("DELETE FROM ticket_events"),
                          update(ReadAudit).values(user_id=1), text("DELETE FROM read_audit")):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(statement)
            db.session.rollback()
        assert db.session.scalar(select(Event.action).where(Event.ticket_id == tid)) == "create"
        if db.engine.dialect.name == "postgresql":
            # CASCADE: other tables (webhook deliveries) refer to the events, and without it
            # PostgreSQL refuses for that reason before the trigger is even asked.
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text("TRUNCATE ticket_events CASCADE"))
            db.session.rollback()


def test_verify_finds_a_row_edited_behind_the_services_back(app, api):
    tid = child_ticket(api)["id"]
    api.act(tid, "add_note", "seat2", {"note": "已联系学校"})
    api.act(tid, "submit", "seat2")
    api.ticket(tid)
    api.ticket(tid, as_user="seat2")
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "all chains intact" in result.output

    # Someone with the database owner's rights edits a note, past the triggers.
    with app.app_context(), db.engine.begin() as conn, audit.maintenance(conn, "attack"):
        conn.execute(update(Event).where(Event.ticket_id == tid, Event.action == "add_note")
                     .values(data={"note": "从未联系"}))
        edited = conn.execute(select(Event.id).where(
            Event.ticket_id == tid, Event.action == "add_note")).scalar()
    result = verify(app, "--ticket", str(tid))
    assert result.exit_code != 0
    assert f"ticket {tid} events (row id {edited}): content does not match its hash" in result.output


def test_verify_finds_removed_rows_and_edited_reads(app, api):
    tid = child_ticket(api)["id"]
    api.act(tid, "add_note", "seat2", {"note": "一"})
    api.act(tid, "add_note", "seat2", {"note": "二"})
    api.ticket(tid)
    api.ticket(tid, as_user="seat2")
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":      # the attacker disables the trigger instead
            conn.execute(text("ALTER TABLE ticket_events DISABLE TRIGGER USER"))
            conn.execute(text("DELETE FROM ticket_events WHERE ticket_id = :t AND seq = 2"), {"t": tid})
            conn.execute(text("ALTER TABLE ticket_events ENABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER ticket_events_no_delete"))
            conn.execute(text("DELETE FROM ticket_events WHERE ticket_id = :t AND seq = 2"), {"t": tid})
            conn.execute(text(
                "CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events "
                "WHEN NOT EXISTS (SELECT 1 FROM audit_bypass) "
                "BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only: DELETE refused'); END"))
    result = verify(app)
    assert result.exit_code == 1 and f"ticket {tid} events" in result.output
    assert "previous hash does not match" in result.output

    with app.app_context(), db.engine.begin() as conn, audit.maintenance(conn, "attack"):
        first = conn.execute(select(ReadAudit.id).where(ReadAudit.subject_id == tid)
                             .order_by(ReadAudit.id)).scalar()
        conn.execute(update(ReadAudit).where(ReadAudit.id == first).values(view="list"))
    result = verify(app)
    assert f"read audit of ticket {tid} (row id {first}): content does not match" in result.output


def test_cutting_the_last_events_shows_too(app, api):
    tid = child_ticket(api)["id"]
    api.act(tid, "add_note", "seat2", {"note": "最后一条"})
    with app.app_context(), db.engine.begin() as conn, audit.maintenance(conn, "attack"):
        conn.execute(text("DELETE FROM ticket_events WHERE ticket_id = :t AND action = 'add_note'"),
                     {"t": tid})
    result = verify(app, "--ticket", str(tid))
    assert result.exit_code == 1 and "the last rows were deleted" in result.output


def test_each_row_links_to_the_one_before_it(app, api):
    tid = child_ticket(api)["id"]
    api.act(tid, "submit", "seat2")
    with app.app_context():
        rows = db.session.scalars(select(Event).where(Event.ticket_id == tid).order_by(Event.seq)).all()
        assert rows[0].prev_hash == audit.GENESIS
        assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
        assert all(len(r.hash) == 64 for r in rows)


def test_retention_adds_to_the_chain_instead_of_rewriting_it(app, api):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    from hotline.retention import anonymise

    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        tid = child_ticket(api)["id"]
        api.act(tid, "answer", "seat2", {"answer": "已答复"})
    api.forget_tokens()
    with app.app_context():
        assert anonymise(365, apply=True)["tickets"] == 1
        db.session.commit()
    result = verify(app, "--ticket", str(tid))
    assert result.exit_code == 0, result.output
    last = api.events(tid)[-1]
    assert last["action"] == "anonymised"
    assert {"caller_phone", "caller_name", "content"} <= set(last["data"]["cleared"])


def test_concurrent_reads_of_one_childs_ticket_keep_one_unforked_chain(app, api):
    """Readers of one ticket at once (each its own connection, as under gunicorn) queue on the
    chain: every read is logged and the chain has no fork."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from werkzeug.serving import make_server

    tid = child_ticket(api)["id"]
    users = ["supervisor1", "dispatcher1", "admin", "seat1", "seat2", "supervisor1"]
    headers = [api.headers(user) for user in users]
    with app.app_context():
        before = db.session.query(ReadAudit).count()
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, args=(POLL,), daemon=True)
    thread.start()
    barrier = threading.Barrier(len(users))

    def read(header):
        barrier.wait(timeout=10)
        return requests.get(f"http://127.0.0.1:{http.server_port}/api/v1/tickets/{tid}",
                            headers=header, timeout=30).status_code

    try:
        with ThreadPoolExecutor(max_workers=len(users)) as pool:
            codes = list(pool.map(read, headers))
    finally:
        http.shutdown()
        thread.join(timeout=5)
    assert codes == [200] * len(users)
    with app.app_context():
        assert db.session.query(ReadAudit).count() == before + len(users)
    result = verify(app, "--ticket", str(tid))
    assert result.exit_code == 0, result.output


def test_the_migration_takes_contact_data_out_of_refer_events_already_written(tmp_path):
    """Before the log becomes append-only, `refer` events written by the old code lose the
    contact route, alias and guardian (they stay on the referral)."""
    from flask_migrate import downgrade, upgrade

    from hotline import create_app

    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}"})
    with other.app_context():
        upgrade(revision="be930e3a0a33")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO tickets (id, number, desk, channel, category, priority, state, subject, "
                "content, caller_is_minor, callback_attempts, rework_count, return_count, extended_days, "
                "supervise_count, created_at, updated_at, event_seq, version) VALUES (1, 'N1', "
                "'children', 'voice', 'help', 'normal', 'intake', '', 'x', 1, 0, 0, 0, 0, 0, "
                "'2026-11-23 02:00:00', '2026-11-23 02:00:00', 1, 1)"))
            conn.execute(text(
                "INSERT INTO ticket_events (ticket_id, seq, at, action, data) VALUES (1, 1, "
                "'2026-11-23 02:00:00', 'refer', :data)"),
                {"data": '{"partner": "xz-xinli", "contact_route": "母亲手机 13912345678", '
                         '"child_alias": "小雨", "consent": {"by": "母亲 王秀英", "how": "phone"}}'})
        upgrade()
        data = db.session.scalar(select(Event.data))
        assert data == {"partner": "xz-xinli", "consent": {"how": "phone", "by_given": True,
                                                          "override": False}}
        downgrade(revision="be930e3a0a33")
        db.session.remove()
        db.engine.dispose()
