"""Issue 23: tickets pushed to county systems as they happen, signed, in order, never lost.

The receivers are real: docs/examples/webhook_receiver.py as a process on loopback (it
verifies with `standardwebhooks` and acknowledges through the API of a live server), or a
scripted server that verifies too. Jobs run in this process as `hotline worker --burst`
runs them; time moves with time-machine.
"""

import socket
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from standardwebhooks.webhooks import Webhook

from hotline import subscriptions
from hotline.subscriptions import RETRY_SCHEDULE
from tests.webhook_receivers import Receiver, pump

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SUBS = "/api/v1/subscriptions"
CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}


def at(delta: timedelta):
    return time_machine.travel(T0 + delta, tick=False)


def subscribe(api, url: str, unit: str | None = "gulou", **extra) -> dict:
    return api.post(SUBS, "admin", {"url": url, "unit": unit, "events": ["*"], **extra}, expect=201).json


def log_of(api, sub_id: int, **query) -> list[dict]:
    """The delivery log, oldest first."""
    return list(reversed(api.get(f"{SUBS}/{sub_id}/deliveries", "admin", query_string=query).json))


def types(received: list[dict]) -> list[str]:
    return [message["type"] for message in received]


# --- the round trip with the example receiver ----------------------------------------------

def test_dispatch_acknowledge_return_redispatch_reply_arrive_signed_and_in_order(app, api, live_server,
                                                                                 tmp_path):
    with at(timedelta(0)):
        receiver = Receiver(tmp_path, secret="", hotline_url=live_server,
                            token=api.headers("handler-gulou")["Authorization"].split()[1])
        sub = subscribe(api, receiver.url)
        assert sub["secret"].startswith("whsec_")
        receiver.env["WEBHOOK_SECRET"] = sub["secret"]
        receiver.start()
    try:
        with at(timedelta(minutes=1)):
            tid = api.dispatched(unit="gulou")["id"]
            pump(app)
            # The county's system acknowledged through the API on receipt.
            assert api.ticket(tid)["state"] == "in_progress"
            assert api.events(tid)[-1]["actor"] == "handler-gulou"
        with at(timedelta(minutes=2)):
            api.act(tid, "return", "handler-gulou", {"reason": "不属于本区职责"})
            pump(app)
            api.act(tid, "approve_return", "dispatcher1", {"note": "同意退回"})
            pump(app)
            api.act(tid, "dispatch", "dispatcher1", {"unit": "gulou", "co_units": []})
            pump(app)
            api.act(tid, "reply", "handler-gulou", {"result": "已修复路灯", "resolved": True})
            pump(app)
        received = receiver.received()
    finally:
        receiver.stop()
    assert types(received) == ["ticket.dispatched", "ticket.acknowledged", "ticket.return_requested",
                               "ticket.returned", "ticket.dispatched", "ticket.acknowledged",
                               "ticket.replied"]
    seqs = [message["data"]["event"]["seq"] for message in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len({message["webhook_id"] for message in received}) == len(received)
    assert [m["data"]["ticket"]["state"] for m in received] == [
        "dispatched", "in_progress", "return_requested", "pending_dispatch", "dispatched", "in_progress",
        "replied"]
    assert all(m["data"]["ticket"]["id"] == tid for m in received)
    assert {d["status"] for d in log_of(api, sub["id"])} == {"delivered"}
    assert {d["response_code"] for d in log_of(api, sub["id"])} == {204}


def test_a_receiver_with_another_secret_refuses_and_the_log_shows_it(app, api, tmp_path):
    from hotline.subscriptions import new_secret

    receiver = Receiver(tmp_path, secret=new_secret()).start()
    try:
        sub = subscribe(api, receiver.url)        # its own, different, secret
        api.dispatched(unit="gulou")
        pump(app)
        assert receiver.received() == []
    finally:
        receiver.stop()
    (delivery,) = log_of(api, sub["id"])
    assert delivery["status"] == "retrying" and delivery["response_code"] == 400
    assert "signature" in delivery["response_body"]


def test_receiver_down_for_a_while_then_back_gets_every_event_once_in_order(app, api, tmp_path):
    with at(timedelta(0)):
        receiver = Receiver(tmp_path, secret="")
        sub = subscribe(api, receiver.url)
        receiver.env["WEBHOOK_SECRET"] = sub["secret"]
        tid = api.dispatched(unit="gulou")["id"]
        api.act(tid, "acknowledge", "handler-gulou")
        api.act(tid, "supervise", "supervisor1", {"note": "请加快办理"})
        pump(app)                                   # nobody listens
        first, *later = log_of(api, sub["id"])
        assert first["status"] == "retrying" and "connection" in first["error"]
        assert [d["attempts"] for d in later] == [0, 0]    # they wait for the first
    with at(timedelta(minutes=10)):
        pump(app)                                   # still down: retried, still failing
        pump(app)                                   # the next retry is not due yet
        assert log_of(api, sub["id"])[0]["attempts"] == 2
    with at(timedelta(minutes=20)):
        pump(app)
        assert log_of(api, sub["id"])[0]["attempts"] == 3
    with at(timedelta(hours=2)):
        receiver.start()
        try:
            pump(app)
            with at(timedelta(hours=2, minutes=5)):
                pump(app)                             # nothing is sent twice
            received = receiver.received()
        finally:
            receiver.stop()
    assert types(received) == ["ticket.dispatched", "ticket.acknowledged", "ticket.supervised"]
    assert len({m["webhook_id"] for m in received}) == 3
    assert [d["status"] for d in log_of(api, sub["id"])] == ["delivered"] * 3
    # The body is the event's own moment, not the ticket at delivery time.
    assert [m["data"]["ticket"]["state"] for m in received] == ["dispatched", "in_progress", "in_progress"]


def test_after_more_than_a_day_of_failures_the_delivery_fails_and_an_admin_retries_it(app, api, tmp_path):
    with at(timedelta(0)):
        receiver = Receiver(tmp_path, secret="")
        sub = subscribe(api, receiver.url)
        receiver.env["WEBHOOK_SECRET"] = sub["secret"]
        api.dispatched(unit="gulou")
        pump(app)
    elapsed = timedelta(0)
    for wait in RETRY_SCHEDULE:
        elapsed += timedelta(seconds=wait)
        with at(elapsed):
            pump(app)
    assert elapsed > timedelta(hours=24)
    with at(elapsed + timedelta(hours=1)):
        api.forget_tokens()                         # signed in again, a day later
        (delivery,) = log_of(api, sub["id"])
        assert delivery["status"] == "failed" and delivery["attempts"] == len(RETRY_SCHEDULE) + 1
        assert log_of(api, sub["id"], status="failed") == [delivery]
        pump(app)
        assert log_of(api, sub["id"])[0]["attempts"] == len(RETRY_SCHEDULE) + 1   # no more tries
        receiver.start()
        try:
            again = api.post(f"{SUBS}/{sub['id']}/deliveries/{delivery['id']}/retry", "admin").json
            assert again["status"] == "pending"
            pump(app)
            assert types(receiver.received()) == ["ticket.dispatched"]
        finally:
            receiver.stop()
        assert log_of(api, sub["id"])[0]["status"] == "delivered"


# --- timeouts, 410, scoping and masking -----------------------------------------------------

def test_a_receiver_that_hangs_is_timed_out_and_retried(app, api, scripted, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT", 0.5)
    with at(timedelta(0)):
        sub = subscribe(api, scripted.url, secret=scripted.secret)
        scripted.script.append("hang")
        api.dispatched(unit="gulou")
        started = time.monotonic()
        pump(app)
        assert time.monotonic() - started < 2       # the worker did not wait for it
        (delivery,) = log_of(api, sub["id"])
        assert delivery["status"] == "retrying" and "timeout" in delivery["error"]
    with at(timedelta(seconds=RETRY_SCHEDULE[0] + 1)):
        pump(app)
    (delivery,) = log_of(api, sub["id"])
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2
    first, second = scripted.seen
    assert first.message is not None and second.message == first.message
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


class TricklingReceiver:
    """A receiver that reads the request, then sends its answer one byte every 0.2 s, so that
    no single read ever waits long enough to time out; it gives up by itself after `lasts` s."""

    def __init__(self, lasts: float = 6.0):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"
        self.lasts = lasts
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            conn.recv(65536)
            ends = time.monotonic() + self.lasts
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Padding: " + b"x" * 1000
            for byte in answer:
                if time.monotonic() > ends:
                    break
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    break
                time.sleep(0.2)   # the receiver's own pace, not the test's waiting

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=10)


def test_a_receiver_that_trickles_its_answer_cannot_hold_the_worker_past_the_timeout(app):
    receiver = TricklingReceiver()
    try:
        with app.app_context():
            started = time.monotonic()
            outcome = subscriptions.post(receiver.url, "whsec_" + "A" * 32, "msg_trickle", "{}", 1.0)
            took = time.monotonic() - started
        assert took < 2.5, f"the worker was held {took:.1f} s by a 1 s timeout"
        assert not outcome.ok and "1 s" in outcome.error
    finally:
        receiver.close()


def test_a_410_ends_the_subscription(app, api, scripted):
    sub = subscribe(api, scripted.url, secret=scripted.secret)
    scripted.script.append(410)
    tid = api.dispatched(unit="gulou")["id"]
    api.act(tid, "acknowledge", "handler-gulou")
    pump(app)
    shown = api.get(f"{SUBS}/{sub['id']}", "admin").json
    assert shown["active"] is False and "410" in shown["ended_reason"]
    assert [d["status"] for d in log_of(api, sub["id"])] == ["failed", "cancelled"]
    api.act(tid, "supervise", "supervisor1", {"note": "请加快"})
    pump(app)
    assert len(scripted.seen) == 1 and len(log_of(api, sub["id"])) == 2


def test_a_county_subscription_never_receives_another_countys_ticket(app, api, scripted):
    gulou = subscribe(api, scripted.url, "gulou", secret=scripted.secret)
    yunlong = subscribe(api, scripted.url, "yunlong", secret=scripted.secret)
    centre = subscribe(api, scripted.url, None, secret=scripted.secret, events=["ticket.dispatched"])
    ours = api.dispatched(unit="gulou")["id"]
    theirs = api.dispatched(unit="yunlong")["id"]
    below = api.dispatched(unit="yunlong-edu")["id"]      # a department below 云龙区
    pump(app)
    assert {d["ticket"] for d in log_of(api, gulou["id"])} == {ours}
    assert {d["ticket"] for d in log_of(api, yunlong["id"])} == {theirs, below}
    assert {d["ticket"] for d in log_of(api, centre["id"])} == {ours, theirs, below}
    assert {d["type"] for d in log_of(api, centre["id"])} == {"ticket.dispatched"}
    assert all(seen.message is not None for seen in scripted.seen) and len(scripted.seen) == 6


def test_a_childs_ticket_is_masked_in_the_body_exactly_as_for_that_countys_handler(app, api, scripted):
    lead = subscribe(api, scripted.url, "gulou", secret=scripted.secret)
    co = subscribe(api, scripted.url, "yunlong", secret=scripted.secret)
    tid = api.dispatched(unit="gulou", co_units=["yunlong"], desk="children", category="psych_support",
                         caller=CHILD)["id"]
    pump(app)
    for sub, handler in ((lead, "handler-gulou"), (co, "handler-yunlong")):
        (delivery,) = log_of(api, sub["id"])
        pushed = next(s.message for s in scripted.seen if s.headers["webhook-id"] == delivery["msg_id"])
        seen_by_handler = api.ticket(tid, as_user=handler)
        assert pushed["data"]["ticket"] == {key: seen_by_handler[key] for key in pushed["data"]["ticket"]}
    co_body = log_of(api, co["id"])[0]["body"]
    assert "李小雨" not in co_body and "13900000013" not in co_body
    assert "李小雨" in log_of(api, lead["id"])[0]["body"]


def test_clock_warnings_and_overdue_are_pushed(app, api):
    from hotline.clocks import firing
    from hotline.extensions import db

    sub = subscribe(api, "http://127.0.0.1:9/down", events=["timer.warning", "timer.overdue"])
    with at(timedelta(0)):
        api.dispatched(unit="gulou", desk="children", category="psych_support")
    for later in (timedelta(minutes=97), timedelta(hours=2, minutes=1)):   # children: ack within 2 h
        with at(later), app.app_context():
            firing.sweep()
            db.session.commit()
    assert [(d["type"], d["status"]) for d in log_of(api, sub["id"])] == [
        ("timer.warning", "pending"), ("timer.overdue", "pending")]


def test_a_refused_action_pushes_nothing(app, api):
    sub = subscribe(api, "http://127.0.0.1:9/down")
    tid = api.dispatched(unit="gulou")["id"]
    api.act(tid, "acknowledge", "handler-gulou")
    api.try_act(tid, "acknowledge", "handler-gulou")          # 409: rolled back
    api.try_act(tid, "reply", "handler-yunlong", {"result": "x", "resolved": True})   # 404
    assert [d["type"] for d in log_of(api, sub["id"])] == ["ticket.dispatched", "ticket.acknowledged"]


# --- managing subscriptions -------------------------------------------------------------------

def test_admins_manage_subscriptions_and_the_secret_is_shown_once(api, scripted):
    created = subscribe(api, scripted.url, description="鼓楼区网格化平台")
    assert Webhook(created["secret"])        # a valid whsec_ secret
    shown = api.get(f"{SUBS}/{created['id']}", "admin").json
    assert "secret" not in shown and shown["unit"] == "gulou" and shown["events"] == ["*"]
    assert [s["id"] for s in api.get(SUBS, "admin").json] == [created["id"]]
    patched = api.client.patch(f"{SUBS}/{created['id']}", json={"events": ["ticket.dispatched"]},
                               headers=api.headers("admin"))
    assert patched.status_code == 200 and patched.json["events"] == ["ticket.dispatched"]
    given = subscribe(api, scripted.url, secret=scripted.secret)
    test = api.post(f"{SUBS}/{given['id']}/test", "admin", expect=202).json
    assert test["type"] == "webhook.test"
    assert api.client.delete(f"{SUBS}/{created['id']}", headers=api.headers("admin")).status_code == 204
    api.get(f"{SUBS}/{created['id']}", "admin", expect=404)


def test_test_send_arrives_signed(app, api, scripted):
    sub = subscribe(api, scripted.url, secret=scripted.secret)
    api.post(f"{SUBS}/{sub['id']}/test", "admin", expect=202)
    pump(app)
    (seen,) = scripted.seen
    assert seen.message["type"] == "webhook.test"
    assert log_of(api, sub["id"])[0]["status"] == "delivered"


def test_who_may_not_and_what_is_refused(api):
    for user in ("handler-gulou", "dispatcher1", "supervisor1", "seat1"):
        response = api.post(SUBS, user, {"url": "https://example.org/h", "unit": "gulou"}, expect=403)
        assert response.json["error"] == "subscription.forbidden"
        api.get(SUBS, user, expect=403)
    api.assert_error(api.post(SUBS, "admin", {"url": "https://x.example/h", "events": ["ticket.eaten"]},
                              expect=None), 422, "events")
    api.assert_error(api.post(SUBS, "admin", {"url": "https://x.example/h", "secret": "hunter2"},
                              expect=None), 422, "secret")
    api.assert_error(api.post(SUBS, "admin", {"url": "https://x.example/h", "unit": "nowhere"},
                              expect=None), 422, "unit")
    api.assert_error(api.post(SUBS, "admin", {"url": "ftp://x.example/h"}, expect=None), 422, "url")
    sub = subscribe(api, "https://x.example/h")
    api.post(f"{SUBS}/{sub['id']}/deliveries/999/retry", "admin", expect=404)


def test_a_lost_job_is_found_again_by_the_minute_sweep(app, api, scripted):
    from hotline import tasks
    from hotline.redis import connection

    sub = subscribe(api, scripted.url, secret=scripted.secret)
    api.dispatched(unit="gulou")
    with app.app_context():
        connection().flushdb()                    # Redis restarted: the queued job is gone
    assert pump(app) == 1                         # the sweep part of pump found it
    assert [d["status"] for d in log_of(api, sub["id"])] == ["delivered"]
    api.dispatched(unit="gulou")
    with app.app_context():
        connection().flushdb()
        assert tasks.sweep()["webhooks"] == 1
    pump(app)
    assert [d["status"] for d in log_of(api, sub["id"])] == ["delivered", "delivered"]
    assert len(scripted.seen) == 2


def test_the_log_forgets_finished_deliveries_after_30_days(app, api, scripted):
    sub = subscribe(api, scripted.url, secret=scripted.secret)
    with at(timedelta(0)):
        api.dispatched(unit="gulou", desk="children", category="psych_support", caller=CHILD)
        pump(app)
    with at(timedelta(days=29)):
        pump(app)
        api.forget_tokens()
        assert [d["status"] for d in log_of(api, sub["id"])] == ["delivered"]
    with at(timedelta(days=31)):
        pump(app)
        api.forget_tokens()
        assert log_of(api, sub["id"]) == []
