"""E1s, the floor of the chosen stack: a write through the layers every product endpoint uses,
with none of the product's own work.

`POST /api/rows` under flask-smorest: a bearer token looked up through the ORM, a marshmallow
body (two strings and a nested object) loaded, one row and one audit row added through a
Flask-SQLAlchemy session and committed, the row dumped through a schema, 201. No state
machine, numbering, unit lookup, scoping, clocks or Redis. bench/endpoints.py runs it beside
the bare ceiling (E1) under the same gunicorn settings and database, so E1s/E1 shows how much
of E1 the stack alone leaves before a ticket's work begins. Not part of the product.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench \\
        .venv/bin/python -m gunicorn --workers 2 bench.stack_floor_app:app

Run as a script, it splits the floor's cost in-process (Flask test client, no HTTP): the
route above, the same work in a plain Flask route, and the same two rows written as Core
INSERTs instead of through the session, in ms per request:

    .venv/bin/python bench/stack_floor_app.py [--requests 2000]
"""

import argparse
import hashlib
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, jsonify, request
from flask_smorest import Api, Blueprint, abort
from flask_sqlalchemy import SQLAlchemy
from marshmallow import Schema, fields
from sqlalchemy import ForeignKey, String, Text, bindparam, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

TOKEN = "bench-floor-token"


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class FloorToken(db.Model):
    __tablename__ = "bench_floor_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80))


class FloorRow(db.Model):
    __tablename__ = "bench_floor_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("bench_floor_tokens.id"))

    events: Mapped[list["FloorEvent"]] = relationship(back_populates="row")


class FloorEvent(db.Model):
    __tablename__ = "bench_floor_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    row_id: Mapped[int] = mapped_column(ForeignKey("bench_floor_rows.id"))
    action: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]

    row: Mapped[FloorRow] = relationship(back_populates="events")


class CallerIn(Schema):
    phone = fields.String(load_default=None)
    name = fields.String(load_default=None)


class RowIn(Schema):
    subject = fields.String(required=True)
    content = fields.String(required=True)
    caller = fields.Nested(CallerIn, load_default=dict)


class RowOut(Schema):
    id = fields.Integer()
    subject = fields.String()
    content = fields.String()
    phone = fields.String()
    created_at = fields.DateTime()


_BY_DIGEST = select(FloorToken).where(FloorToken.digest == bindparam("digest"))
blp = Blueprint("floor", __name__, url_prefix="/api")


@blp.route("/rows", methods=["POST"])
@blp.arguments(RowIn())
@blp.response(201, RowOut())
def create_row(body):
    return _write_orm(body)


def _values(body: dict) -> dict:
    """The row's columns: the body's, the token's holder and the time."""
    return {"subject": body["subject"][:200], "content": body["content"],
            "phone": body["caller"].get("phone"), "created_at": datetime.now(UTC),
            "created_by_id": _bearer().id}


def _write_orm(body: dict) -> FloorRow:
    """The row and its audit row through the session, committed."""
    row = FloorRow(**_values(body), events=[])
    db.session.add(row)
    db.session.add(FloorEvent(row=row, action="create", at=row.created_at))
    db.session.commit()
    return row


def _bearer() -> FloorToken:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    who = db.session.scalar(_BY_DIGEST, {"digest": hashlib.sha256(token.encode()).hexdigest()})
    if scheme.lower() != "bearer" or who is None:
        abort(401)
    return who


def _url(url: str) -> str:
    return "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url


def prepare(url: str) -> None:
    """Create the tables and the one token (before gunicorn forks), and empty the rows."""
    app = create_app(url)
    with app.app_context():
        db.create_all()
        db.session.execute(text("TRUNCATE bench_floor_events, bench_floor_rows RESTART IDENTITY"))
        if db.session.scalar(_BY_DIGEST, {"digest": hashlib.sha256(TOKEN.encode()).hexdigest()}) is None:
            db.session.add(FloorToken(digest=hashlib.sha256(TOKEN.encode()).hexdigest(), name="bench"))
        db.session.commit()
        db.engine.dispose()


def drop(url: str) -> None:
    app = create_app(url)
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def create_app(url: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=_url(url or os.environ["DATABASE_URL"]),
        # The product's engine settings (hotline/__init__.py).
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 10, "pool_pre_ping": True,
                                   "connect_args": {"connect_timeout": 3}},
        API_TITLE="stack floor", API_VERSION="1", OPENAPI_VERSION="3.0.3",
    )
    db.init_app(app)
    Api(app).register_blueprint(blp)
    return app


app = create_app() if os.environ.get("DATABASE_URL") else None


# --- the in-process split (run as a script) ----------------------------------------------------

def _with_variants(app: Flask) -> Flask:
    """The floor's work in plain Flask routes: through the session, and as Core INSERTs."""
    body_in, row_out = RowIn(), RowOut()

    @app.post("/plain-orm")
    def plain_orm():
        return jsonify(row_out.dump(_write_orm(body_in.load(request.get_json())))), 201

    @app.post("/plain-core")
    def plain_core():
        values = _values(body_in.load(request.get_json()))
        row_id = db.session.execute(
            insert(FloorRow.__table__).values(**values).returning(FloorRow.id)).scalar_one()
        db.session.execute(insert(FloorEvent.__table__).values(
            row_id=row_id, action="create", at=values["created_at"]))
        db.session.commit()
        return jsonify(row_out.dump({"id": row_id, **values})), 201

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="The stack floor's cost, split in-process.")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.common import BENCH_DATABASE, ensure_database

    ensure_database(BENCH_DATABASE)
    prepare(BENCH_DATABASE)
    floor = _with_variants(create_app(BENCH_DATABASE))
    client = floor.test_client()
    body = {"subject": "小区路灯不亮", "content": "鼓楼区黄楼街道河畔社区路灯坏了一个月，晚上出行很不方便。",
            "caller": {"phone": "+8613800000001", "name": "张三"}}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        for path in ("/api/rows", "/plain-orm", "/plain-core") * 2:   # twice, interleaved
            for _ in range(200):   # warm the pool and the statement caches
                assert client.post(path, json=body, headers=headers).status_code == 201
            started = time.perf_counter()
            for _ in range(args.requests):
                client.post(path, json=body, headers=headers)
            elapsed = time.perf_counter() - started
            print(f"{path:12} {elapsed / args.requests * 1000:.3f} ms per request")
    finally:
        drop(BENCH_DATABASE)


if __name__ == "__main__":
    main()
