"""Benchmark: search over many tickets and articles on PostgreSQL (issue 21).

Run by hand: `.venv/bin/python bench/search.py [--tickets 100000] [--articles 10000] [--rounds 20]`.
Uses its own database (BENCH_SEARCH_DATABASE_URL, default hotline_bench_search) and Redis db 9.
Fills tickets with the shared bulk filler, gives them realistic Chinese requests (a district,
an estate, a matter, a caller's words) and their search documents, and copies the knowledge
set of tests/data up to `--articles` published articles (each copy for another district).
Then measures, inside the app (Flask test client: routing, auth, scoping, the engine's query,
count, serialisation), `GET /api/v1/tickets?q=` per viewer and kind of query, and
`GET /api/v1/knowledge/search` over the callers' phrasings of the quality set: p50 and p95.
"""

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402

from bench.common import BENCH_PASSWORD, BENCH_REDIS, bench_app  # noqa: E402
from tests.data.knowledge_set import ARTICLES, PHRASINGS  # noqa: E402

DATABASE = os.environ.get("BENCH_SEARCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hotline_bench_search")
DISTRICTS = ["鼓楼区", "云龙区", "泉山区", "铜山区", "贾汪区", "新沂市", "邳州市", "丰县", "沛县", "睢宁县"]
ESTATES = ["幸福小区", "阳光花园", "和平新村", "锦绣家园", "翠湖名城", "金色港湾", "春晖苑", "东方明珠",
           "滨湖新城", "彭城一号", "汉风苑", "紫金花园"]
MATTERS = [
    "从早上开始停水了，家里老人孩子没水用", "楼下工地夜间施工噪音扰民，晚上十二点还在打桩",
    "小区物业乱收停车费", "电梯坏了一个星期没人修", "路灯不亮晚上走路很危险", "垃圾三天没人清运臭气熏天",
    "社保卡丢了想补办", "公积金提取被退回不知道原因", "孩子入学报名材料不清楚", "老板拖欠工资三个月",
    "邻居在楼顶搭建违建", "暖气不热室温只有十二度", "广场舞音响太吵", "出租车拒载", "外卖吃了拉肚子",
    "流浪狗咬伤小孩", "燃气表不走字", "公交车不按站停靠", "医保异地就医备案怎么办", "身份证过期了怎么换",
]


def fill_tickets_set_based(app, count: int, seed: float = 0.42) -> int:
    """Tickets up to `count`, made by the database itself (INSERT ... SELECT over generate_series,
    100,000 a statement): each a district, an estate, a building and a matter in a caller's words,
    a phone, a desk, a state, a lead unit with its scope rows, co-units and clocks, and its search
    document. The documents of the 72,000 possible requests are cut by rjieba here once, and the
    GIN index is built after the rows are in, which is what makes a million take minutes."""
    from hotline.extensions import db
    from hotline.search import document
    from hotline.units import Unit, UnitKind

    with app.app_context():
        have = db.session.scalar(text("SELECT count(*) FROM tickets"))
        if have >= count:
            return have
        units = db.session.execute(select(Unit.id, Unit.kind, Unit.path, Unit.code)).all()
        by_code = {u.code: u.id for u in units}
        leads = [u.id for u in units if u.kind in (UnitKind.COUNTY, UnitKind.DEPARTMENT, UnitKind.TOWN)]
        db.session.execute(text("CREATE TEMP TABLE bench_requests (k int PRIMARY KEY, subject text, "
                                "content text, address text, body text)"))
        db.session.execute(text("CREATE TEMP TABLE bench_ancestors (unit_id int, ancestor_id int)"))
        requests = []
        for district, estate, matter in itertools.product(DISTRICTS, ESTATES, MATTERS):
            for building in range(1, 31):
                content = f"{district}{estate}{building}号楼居民反映：{matter}"
                place = f"{district}{estate}"
                requests.append({"k": len(requests), "s": matter[:10], "c": content, "a": place,
                                 "b": document(matter[:10], content, place)})
        db.session.execute(text("INSERT INTO bench_requests VALUES (:k, :s, :c, :a, :b)"), requests)
        db.session.execute(text("INSERT INTO bench_ancestors VALUES (:u, :a)"),
                           [{"u": u.id, "a": by_code[c]} for u in units for c in u.path.split("/") if c])
        db.session.execute(text("SELECT setseed(:seed)"), {"seed": seed})
        db.session.execute(text("DROP INDEX IF EXISTS ix_ticket_search_tsv"))
        start = (db.session.scalar(text("SELECT coalesce(max(id), 0) FROM tickets")) or 0) + 1
        last = start + (count - have) - 1
        params = {"leads": leads, "n_requests": len(requests), "last": last}
        for low in range(start, last + 1, 100_000):
            params |= {"low": low, "high": min(low + 99_999, last)}
            for statement in _FILL_STATEMENTS:
                db.session.execute(text(statement), params)
            db.session.commit()
            print(f"  tickets {params['high']:,} of {last:,}", flush=True)
        db.session.execute(text("CREATE INDEX IF NOT EXISTS ix_ticket_search_tsv "
                                "ON ticket_search USING gin (tsv)"))
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), "
                                "(SELECT max(id) FROM tickets))"))
        db.session.commit()
        for name in ("tickets", "ticket_search", "ticket_scopes", "ticket_co_units", "timers"):
            db.session.execute(text(f"ANALYZE {name}"))
        db.session.commit()
        return count


# One chunk of tickets (:low..:high): ids follow creation time, five minutes apart, the last
# one now; then their search documents, co-units, scope rows and the open ones' handle clocks.
_FILL_STATEMENTS = [
    """
    INSERT INTO tickets (id, number, desk, channel, category, priority, state, subject, content, address,
                         caller_phone, lead_unit_id, created_at, updated_at, event_seq, version,
                         caller_is_minor, callback_attempts, rework_count, return_count, extended_days,
                         supervise_count)
    SELECT g.id, 'B-' || lpad(g.id::text, 9, '0'), g.desk, 'voice', g.category, 'normal', g.state,
           r.subject, r.content, r.address, g.phone,
           CASE WHEN g.state IN ('intake', 'pending_dispatch') THEN NULL ELSE g.lead END,
           g.created, g.created, 0, 1, false, 0, 0, 0, 0, 0
    FROM (SELECT id,
                 (ARRAY['general','general','general','general','general','general','children',
                        'hard_case'])[1 + floor(random() * 8)::int] AS desk,
                 (ARRAY['help','complaint','consultation','report'])[1 + floor(random() * 4)::int]
                   AS category,
                 (ARRAY['intake','pending_dispatch','dispatched','in_progress','replied','callback_pending',
                        'closed','closed','closed'])[1 + floor(random() * 9)::int] AS state,
                 (CAST(:leads AS int[]))[1 + floor(random() * cardinality(CAST(:leads AS int[])))::int]
                   AS lead,
                 floor(random() * :n_requests)::int AS k,
                 '+86139' || lpad(floor(random() * 100000000)::bigint::text, 8, '0') AS phone,
                 now() - make_interval(mins => (:last - id) * 5) AS created
          FROM generate_series(CAST(:low AS int), CAST(:high AS int)) AS id) g
    JOIN bench_requests r ON r.k = g.k
    """,
    r"""
    INSERT INTO ticket_search (ticket_id, body)
    SELECT t.id, r.body || ' ' || (
             SELECT string_agg(DISTINCT 'ph' || substr(d.digits, i, 4), ' ')
             FROM (SELECT regexp_replace(t.caller_phone, '\D', '', 'g') AS digits) d,
                  generate_series(1, length(d.digits) - 3) AS i)
    FROM tickets t JOIN bench_requests r ON r.content = t.content
    WHERE t.id BETWEEN :low AND :high
    """,
    """
    INSERT INTO ticket_co_units (ticket_id, unit_id)
    SELECT id, (CAST(:leads AS int[]))[1 + floor(random() * cardinality(CAST(:leads AS int[])))::int]
    FROM tickets WHERE id BETWEEN :low AND :high AND lead_unit_id IS NOT NULL AND random() < 0.1
    """,
    """
    INSERT INTO ticket_scopes (ticket_id, unit_id)
    SELECT DISTINCT x.ticket_id, a.ancestor_id
    FROM (SELECT id AS ticket_id, lead_unit_id AS unit_id FROM tickets
          WHERE id BETWEEN :low AND :high AND lead_unit_id IS NOT NULL
          UNION SELECT ticket_id, unit_id FROM ticket_co_units WHERE ticket_id BETWEEN :low AND :high) x
    JOIN bench_ancestors a ON a.unit_id = x.unit_id
    """,
    """
    INSERT INTO timers (ticket_id, kind, state, started_at, warn_at, due_at, original_due_at)
    SELECT id, 'handle', 'running', created_at, due - interval '1 day', due, due
    FROM (SELECT id, created_at, created_at + make_interval(days => 1 + floor(random() * 20)::int) AS due
          FROM tickets WHERE id BETWEEN :low AND :high AND lead_unit_id IS NOT NULL AND state <> 'closed') t
    """,
]


def fill_articles(app, count: int) -> None:
    """Published copies of the knowledge set, one per district and round, up to `count`."""
    from hotline.extensions import db
    from hotline.knowledge.models import Article, ArticleSearch
    from hotline.knowledge.service import article_document

    with app.app_context():
        have = db.session.scalar(text("SELECT count(*) FROM knowledge_articles"))
        now = time.time()
        from datetime import UTC, datetime

        stamp = datetime.fromtimestamp(now, UTC)
        while have < count:
            batch = []
            for n in range(min(1000, count - have)):
                item = ARTICLES[(have + n) % len(ARTICLES)]
                copy = (have + n) // len(ARTICLES)
                district = DISTRICTS[copy % len(DISTRICTS)]
                batch.append(Article(
                    title=item["title"] + (f"（{district}·{copy}）" if copy else ""),
                    questions=item["questions"], answer=item["answer"], category=item["category"],
                    keywords=item["keywords"], source=item["source"], units=[], areas=[district],
                    state="published", version=1, created_at=stamp, updated_at=stamp, published_at=stamp))
            db.session.add_all(batch)
            db.session.flush()
            db.session.execute(insert(ArticleSearch), [{"article_id": a.id, "body": article_document(a)}
                                                       for a in batch])
            db.session.commit()
            have += len(batch)
        db.session.execute(text("ANALYZE knowledge_articles"))
        db.session.execute(text("ANALYZE knowledge_search"))
        db.session.commit()


def cases(phone_digits: str = "13912345"):
    return [
        # The default list (crisis first, nearest due) over a million is issue 24's; newest first is
        # the reference for the machine's load.
        ("supervisor1", "no q: the list newest first (reference for the machine's load)",
         "/api/v1/tickets?sort=newest"),
        ("supervisor1", "a word (停水)", "/api/v1/tickets?q=" + quote("停水")),
        ("supervisor1", "two words (幸福小区 停水)", "/api/v1/tickets?q=" + quote("幸福小区 停水")),
        ("supervisor1", "a sentence (电梯坏了没人修)", "/api/v1/tickets?q=" + quote("电梯坏了没人修")),
        ("supervisor1", "phone digits (8 digits)", "/api/v1/tickets?q=" + phone_digits),
        ("supervisor1", "a ticket number", "/api/v1/tickets?q=B-000500000"),
        ("supervisor1", "a word, newest first", "/api/v1/tickets?q=" + quote("噪音") + "&sort=newest"),
        ("handler-gulou", "a word, county handler", "/api/v1/tickets?q=" + quote("停水")),
        ("handler-gulou", "phone digits, county handler", "/api/v1/tickets?q=5678"),
    ] + [("seat1", "knowledge: " + q, "/api/v1/knowledge/search?q=" + quote(q)) for q, _k in PHRASINGS[::7]]


def measure(client, tokens, rounds: int, phone_digits: str):
    results = []
    for user, label, path in cases(phone_digits):
        client.get(path, headers=tokens[user])                   # warm
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get(path, headers=tokens[user])
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code, response.get_data()[:200])
        times.sort()
        found = response.headers.get("X-Total-Count") or len(response.json["items"])
        results.append((label, user, found, statistics.median(times), times[int(0.95 * (len(times) - 1))]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    app = bench_app(DATABASE, BENCH_REDIS)
    started = time.perf_counter()
    fill_tickets_set_based(app, args.tickets)
    fill_articles(app, args.articles)
    print(f"filled in {time.perf_counter() - started:.0f} s")
    client = app.test_client()
    tokens = {}
    for user in {c[0] for c in cases()}:
        response = client.post("/api/v1/auth/token", json={"username": user, "password": BENCH_PASSWORD})
        tokens[user] = {"Authorization": f"Bearer {response.json['token']}"}
    print(f"| query | viewer | found | p50 ms | p95 ms |  ({args.tickets} tickets, {args.articles} articles)")
    print("|---|---|---|---|---|")
    with app.app_context():
        from hotline.extensions import db

        phone = db.session.scalar(text("SELECT caller_phone FROM tickets WHERE id = 500000"))
    for label, user, found, p50, p95 in measure(client, tokens, args.rounds, (phone or "13912345")[-8:]):
        print(f"| {label} | {user} | {found} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
