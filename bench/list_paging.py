"""Benchmark: GET /api/v1/tickets paging over 100,000 tickets on PostgreSQL.

Run by hand: `.venv/bin/python bench/list_paging.py [--tickets 100000] [--rounds 30]
[--overdue few,old,many]`.
Uses its own database (BENCH_DATABASE_URL, default hotline_bench) and measures
the request inside the app (Flask test client: routing, auth, scoping query,
count, serialisation), per viewer and filter. Target: well under 100 ms a page.

`overdue=true` is measured in up to three states of the bench tickets' handle clocks,
set before their rounds (the last one measured stays):
- few: a quiet centre. The clocks that fell due are met (stopped an hour before their due)
  but those of tickets whose id is a multiple of 9973; the rest are open and due later.
  A handful of tickets are overdue.
- old: as few, but the clocks of the 600 oldest tickets with one stay open: a few hundred
  overdue tickets, all at the far end of the list (a backlog nobody closes).
- many: every clock open and due at its original due: tens of thousands overdue.
All the other requests are measured in the first state given.
Each state is followed by what autovacuum would have done by then (it is off on the bench
server): VACUUM FULL of the clocks (no bloat from switching), VACUUM ANALYZE of the tables
the list reads.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_PASSWORD, bench_app, fill_tickets  # noqa: E402

CASES = [
    ("supervisor1", "/api/v1/tickets?per_page=20"),
    ("supervisor1", "/api/v1/tickets?per_page=20&page=200"),
    ("supervisor1", "/api/v1/tickets?state=in_progress&per_page=20"),
    ("dispatcher1", "/api/v1/tickets?unit=gulou&per_page=20"),
    ("handler-gulou", "/api/v1/tickets?per_page=20"),
    ("handler-gulou", "/api/v1/tickets?per_page=20&page=20"),
    ("handler-edu", "/api/v1/tickets?state=dispatched&per_page=20"),
    ("seat1", "/api/v1/tickets?desk=children&per_page=20"),
    ("seat1", "/api/v1/tickets?per_page=100"),
]
# Every kind of viewer: everything, a county through ticket_scopes, a seat's desks.
OVERDUE_CASES = [
    ("supervisor1", "/api/v1/tickets?overdue=true&per_page=20"),
    ("supervisor1", "/api/v1/tickets?overdue=true&per_page=20&page=50"),
    ("dispatcher1", "/api/v1/tickets?overdue=true&unit=gulou&per_page=20"),
    ("handler-gulou", "/api/v1/tickets?overdue=true&per_page=20"),
    ("seat1", "/api/v1/tickets?overdue=true&per_page=20"),
]
STILL_OVERDUE_EVERY = 9973      # few, old: tickets whose id is a multiple of this stay overdue
OLD_BACKLOG = 600               # old: the oldest tickets with a clock that stay overdue
STATES = ("few", "old", "many")


def set_overdue(app, state: str) -> None:
    """Put the bench tickets' handle clocks in one of STATES."""
    from sqlalchemy import text

    from hotline.extensions import db

    met = {
        "few": f"original_due_at <= now() AND ticket_id % {STILL_OVERDUE_EVERY} <> 0",
        "old": (f"original_due_at <= now() AND ticket_id % {STILL_OVERDUE_EVERY} <> 0"
                f" AND ticket_id > (SELECT max(ticket_id) FROM (SELECT ticket_id FROM timers"
                f" WHERE kind = 'handle' ORDER BY ticket_id LIMIT {OLD_BACKLOG}) AS oldest)"),
        "many": "FALSE",
    }[state]
    with app.app_context():
        db.session.execute(text(f"""
            UPDATE timers SET
                state = CASE WHEN {met} THEN 'met' ELSE 'running' END,
                stopped_at = CASE WHEN {met} THEN original_due_at - interval '1 hour' END,
                due_at = original_due_at, warn_at = original_due_at - interval '1 day'
            WHERE kind = 'handle' AND ticket_id IN (
                SELECT id FROM tickets WHERE number LIKE 'B-%'
                AND state NOT IN ('intake', 'pending_dispatch', 'closed'))"""))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM FULL timers"))
            conn.execute(text("VACUUM ANALYZE tickets, ticket_scopes, timers"))


def measure(client, tokens, cases, rounds):
    timings = {case: [] for case in cases}
    for _ in range(rounds):          # interleaved rounds
        for case in cases:
            user, path = case
            start = time.perf_counter()
            response = client.get(path, headers=tokens[user])
            timings[case].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.json
    results = []
    for case in cases:
        values = sorted(timings[case])
        p95 = values[int(len(values) * 0.95) - 1]
        rows = client.get(case[1], headers=tokens[case[0]]).headers["X-Total-Count"]
        results.append((case, statistics.median(values), p95, values[-1], rows))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--overdue", default=",".join(STATES),
                        help=f"the clock states to measure overdue=true in, of {','.join(STATES)}")
    args = parser.parse_args()
    states = args.overdue.split(",")
    if not states or not set(states) <= set(STATES):
        parser.error(f"--overdue: a comma-separated list of {', '.join(STATES)}")

    app = bench_app()
    total = fill_tickets(app, args.tickets)
    client = app.test_client()
    tokens = {}
    for user, _ in CASES + OVERDUE_CASES:
        if user not in tokens:
            response = client.post("/api/v1/auth/token", json={"username": user, "password": BENCH_PASSWORD})
            tokens[user] = {"Authorization": f"Bearer {response.json['token']}"}

    results = []
    for n, state in enumerate(states):
        set_overdue(app, state)
        cases = OVERDUE_CASES if n else CASES + OVERDUE_CASES
        results += [(r, state) for r in measure(client, tokens, cases, args.rounds)]

    print(f"tickets: {total}, rounds: {args.rounds}")
    print(f"{'viewer':14} {'request':52} {'overdue':>7} {'median ms':>9} {'p95 ms':>7} "
          f"{'max ms':>7} {'rows':>6}")
    for ((user, path), median, p95, top, rows), state in results:
        print(f"{user:14} {path:52} {state if 'overdue' in path else '':>7} {median:9.1f} "
              f"{p95:7.1f} {top:7.1f} {rows:>6}")


if __name__ == "__main__":
    main()
