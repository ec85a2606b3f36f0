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
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from bench.common import BENCH_PASSWORD, BENCH_REDIS, bench_app, fill_tickets  # noqa: E402
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


def fill_documents(app, seed: int = 7) -> None:
    """Give the bulk tickets a request in words and their search documents (those without one)."""
    from hotline.extensions import db
    from hotline.search import caller_tokens, document

    rng = random.Random(seed)
    with app.app_context():
        without = text("SELECT id FROM tickets WHERE id NOT IN (SELECT ticket_id FROM ticket_search) "
                       "ORDER BY id")
        missing = db.session.execute(without).scalars().all()
        for start in range(0, len(missing), 5000):
            ids = missing[start:start + 5000]
            rows, docs = [], []
            for tid in ids:
                district, estate, matter = rng.choice(DISTRICTS), rng.choice(ESTATES), rng.choice(MATTERS)
                content = f"{district}{estate}{rng.randint(1, 30)}号楼居民反映：{matter}"
                phone = f"+86139{rng.randint(0, 99_999_999):08d}"
                rows.append({"i": tid, "c": content, "s": matter[:10], "a": f"{district}{estate}",
                             "p": phone})
                docs.append({"ticket_id": tid, "body": document(matter[:10], content, f"{district}{estate}")
                             + " " + caller_tokens(phone, None)})
            db.session.execute(text("UPDATE tickets SET content = :c, subject = :s, address = :a, "
                                    "caller_phone = :p WHERE id = :i"), rows)
            db.session.execute(text("INSERT INTO ticket_search (ticket_id, body) VALUES (:ticket_id, :body)"),
                               docs)
            db.session.commit()
        db.session.execute(text("ANALYZE tickets"))
        db.session.execute(text("ANALYZE ticket_search"))
        db.session.commit()


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
        ("supervisor1", "no q: the plain list (reference for the machine's load)", "/api/v1/tickets"),
        ("supervisor1", "a word (停水)", "/api/v1/tickets?q=" + quote("停水")),
        ("supervisor1", "two words (幸福小区 停水)", "/api/v1/tickets?q=" + quote("幸福小区 停水")),
        ("supervisor1", "a sentence (电梯坏了没人修)", "/api/v1/tickets?q=" + quote("电梯坏了没人修")),
        ("supervisor1", "phone digits (8 digits)", "/api/v1/tickets?q=" + phone_digits),
        ("supervisor1", "a ticket number", "/api/v1/tickets?q=B-000050000"),
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
    fill_tickets(app, args.tickets)
    fill_documents(app)
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

        phone = db.session.scalar(text("SELECT caller_phone FROM tickets WHERE id = 50000"))
    for label, user, found, p50, p95 in measure(client, tokens, args.rounds, (phone or "13912345")[-8:]):
        print(f"| {label} | {user} | {found} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
