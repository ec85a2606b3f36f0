"""Benchmark: GET /api/v1/tickets paging over 100,000 tickets on PostgreSQL.

Run by hand: `.venv/bin/python bench/list_paging.py [--tickets 100000] [--rounds 30]`.
Uses its own database (BENCH_DATABASE_URL, default hotline_bench) and measures
the request inside the app (Flask test client: routing, auth, scoping query,
count, serialisation), per viewer and filter. Target: well under 100 ms a page.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_app, fill_tickets  # noqa: E402

CASES = [
    ("supervisor1", "/api/v1/tickets?per_page=20"),
    ("supervisor1", "/api/v1/tickets?per_page=20&page=200"),
    ("supervisor1", "/api/v1/tickets?state=in_progress&per_page=20"),
    ("supervisor1", "/api/v1/tickets?overdue=true&per_page=20"),
    ("dispatcher1", "/api/v1/tickets?unit=gulou&per_page=20"),
    ("handler-gulou", "/api/v1/tickets?per_page=20"),
    ("handler-gulou", "/api/v1/tickets?per_page=20&page=20"),
    ("handler-edu", "/api/v1/tickets?state=dispatched&per_page=20"),
    ("seat1", "/api/v1/tickets?desk=children&per_page=20"),
    ("seat1", "/api/v1/tickets?per_page=100"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    app = bench_app()
    total = fill_tickets(app, args.tickets)
    client = app.test_client()
    tokens = {}
    for user, _ in CASES:
        if user not in tokens:
            response = client.post("/api/v1/auth/token", json={"username": user, "password": "demo"})
            tokens[user] = {"Authorization": f"Bearer {response.json['token']}"}

    timings = {case: [] for case in CASES}
    for _ in range(args.rounds):          # interleaved rounds
        for case in CASES:
            user, path = case
            start = time.perf_counter()
            response = client.get(path, headers=tokens[user])
            timings[case].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.json

    print(f"tickets: {total}, rounds: {args.rounds}")
    print(f"{'viewer':14} {'request':52} {'median ms':>9} {'p95 ms':>7} {'max ms':>7} {'rows':>6}")
    for case in CASES:
        values = sorted(timings[case])
        p95 = values[int(len(values) * 0.95) - 1]
        rows = client.get(case[1], headers=tokens[case[0]]).headers["X-Total-Count"]
        print(f"{case[0]:14} {case[1]:52} {statistics.median(values):9.1f} {p95:7.1f} "
              f"{values[-1]:7.1f} {rows:>6}")


if __name__ == "__main__":
    main()
