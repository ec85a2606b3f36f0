"""Benchmark: the console's pages, as each role opens them, on PostgreSQL.

Run by hand: `.venv/bin/python bench/console_pages.py [--tickets 150000] [--rounds 20]`.

Uses the benchmark database (BENCH_DATABASE_URL, default hotline_bench, filled with
`--tickets` bulk tickets by `common.fill_tickets`; 0 measures the bare demo organisation)
and adds a few tickets made through the API the way a centre makes them, so that the ticket
page has a timeline, a referral and a partner inbox has something in it. Each role logs in
through the console's login form (CSRF token and all) in a client of its own; every page is
then requested `--rounds` times in interleaved rounds, in-process (Flask test client:
routing, session, queries, Jinja rendering), and must answer 200 with its Chinese title.
Target (issue 7): pages load under 200 ms.
"""

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_PASSWORD, bench_app, fill_tickets  # noqa: E402

CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}
CONSENT = {"by": "母亲 王某", "how": "phone", "covers_contact": True}

# (user, page, a word the page must show); {ticket} and {referral} are filled in.
PAGES = [
    ("seat1", "/console/tickets/new", "受理"),
    ("seat1", "/console/callers?phone=%2B8613900000013", "历史工单"),
    ("seat1", "/console/callbacks", "待回访"),
    ("seat1", "/console/tickets?desk=general", "工单"),
    ("dispatcher1", "/console/dispatch", "待派单"),
    ("dispatcher1", "/console/review?tab=replies", "审核"),
    ("dispatcher1", "/console/tickets?unit=gulou", "工单"),
    ("handler-gulou", "/console/inbox?tab=acknowledge", "收件箱"),
    ("handler-gulou", "/console/inbox?tab=overdue", "收件箱"),
    ("handler-gulou", "/console/tickets/{ticket}", "处理记录"),
    ("partner-xz-xinli", "/console/referrals", "转介"),
    ("partner-xz-xinli", "/console/referrals/{referral}", "转介"),
    ("supervisor1", "/console/tickets/{ticket}", "处理记录"),
    ("supervisor1", "/console/tickets", "工单"),
    ("supervisor1", "/console/tickets?overdue=true", "工单"),
    ("supervisor1", "/console/boards/crisis", "危机"),
    ("supervisor1", "/console/boards/overdue", "超期"),
    ("supervisor1", "/console/boards/referrals", "转介"),
    ("supervisor1", "/console/kpis", "统计指标"),
    ("supervisor1", "/console/notices", "通知"),
]
TARGET_MS = 200


def login(app, username: str):
    """A client of its own, logged in through the form as a person would."""
    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/console/login", data={"username": username, "password": BENCH_PASSWORD,
                                                   "csrf_token": token})
    assert response.status_code == 302, f"{username}: login answered {response.status_code}"
    return client


def lived_tickets(app) -> tuple[int, int]:
    """A children's ticket dispatched to gulou, acknowledged, worked and referred (a timeline
    of a dozen events and a referral), and a few more like it; returns its id and referral's."""
    client = app.test_client()
    tokens = {}

    def act(user, path, body=None, expect=200):
        if user not in tokens:
            answer = client.post("/api/v1/auth/token", json={"username": user, "password": BENCH_PASSWORD})
            tokens[user] = {"Authorization": f"Bearer {answer.json['token']}"}
        response = client.post(path, json=body or {}, headers=tokens[user])
        assert response.status_code == expect, (path, response.status_code, response.json)
        return response.json

    for _ in range(5):
        ticket = act("seat2", "/api/v1/tickets", {
            "desk": "children", "channel": "voice", "category": "psych_support",
            "subject": "孩子情绪低落", "content": "孩子最近不愿上学，晚上睡不着", "caller": CHILD,
            "location": {"unit": "gulou", "address": "黄楼街道"}}, expect=201)
        tid = ticket["id"]
        base = f"/api/v1/tickets/{tid}/actions"
        act("seat2", f"{base}/submit")
        act("dispatcher1", f"{base}/dispatch", {"unit": "gulou", "note": "请核实"})
        act("handler-gulou", f"{base}/acknowledge")
        act("handler-gulou", f"{base}/contact_caller", {"note": "已电话联系家长"})
        referred = act("seat2", f"{base}/refer", {
            "partner": "xz-xinli", "service": "counselling", "urgency": "normal",
            "consent": CONSENT, "need": "情绪疏导", "contact_route": "请先联系母亲"})
    return tid, referred["referrals"][0]["id"]


def measure(clients, pages, rounds):
    timings = {page: [] for page in pages}
    for _ in range(rounds):          # interleaved rounds
        for page in pages:
            user, path, word = page
            start = time.perf_counter()
            response = clients[user].get(path)
            timings[page].append((time.perf_counter() - start) * 1000)
            body = response.get_data(as_text=True)
            assert response.status_code == 200 and word in body, (user, path, response.status_code)
    results = []
    for page in pages:
        values = sorted(timings[page])
        results.append((page, statistics.median(values), values[int(len(values) * 0.95) - 1],
                        values[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=150_000,
                        help="bulk tickets in the database first (0: the demo org alone)")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    app = bench_app()
    total = fill_tickets(app, args.tickets) if args.tickets else None
    ticket, referral = lived_tickets(app)
    pages = [(user, path.format(ticket=ticket, referral=referral), word)
             for user, path, word in PAGES]
    clients = {user: login(app, user) for user in dict.fromkeys(user for user, _, _ in pages)}
    measure(clients, pages, 2)       # warm caches, templates and the pool
    results = measure(clients, pages, args.rounds)

    from hotline.extensions import db

    with app.app_context():
        count = db.session.scalar(db.text("SELECT count(*) FROM tickets"))
    print(f"tickets in the database: {count} (bulk: {total}); rounds: {args.rounds}; "
          f"target < {TARGET_MS} ms")
    print(f"{'user':18} {'page':44} {'median ms':>9} {'p95 ms':>7} {'max ms':>7}")
    slow = []
    for (user, path, _word), median, p95, top in results:
        print(f"{user:18} {path:44} {median:9.1f} {p95:7.1f} {top:7.1f}")
        if p95 >= TARGET_MS:
            slow.append(path)
    print("PASS: every page's p95 under the target" if not slow else f"SLOW (p95): {', '.join(slow)}")


if __name__ == "__main__":
    main()
