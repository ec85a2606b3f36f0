"""E1, the practical ceiling: the least a web request that writes one row can cost here.

A bare Flask app with SQLAlchemy Core and one endpoint, `POST /insert`, that reads a small
JSON body, inserts one row into a table of its own (`bench_ceiling`) in its own
transaction and answers 201 with the new id: no auth, no validation beyond the JSON, no
ORM, no Redis. bench/endpoints.py runs it under the same gunicorn settings as `hotline web`
(sync workers, same count, access log on) against the same PostgreSQL database, and
reports each product endpoint's throughput as a ratio of this one's. Not part of the product.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench \\
        .venv/bin/python -m gunicorn --workers 2 bench.ceiling_app:app
"""

import os

from flask import Flask, jsonify, request
from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, Text, create_engine, func, text
from sqlalchemy.engine import Engine

metadata = MetaData()
rows = Table(
    "bench_ceiling", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("subject", String(200), nullable=False, default=""),
    Column("content", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def engine_for(url: str) -> Engine:
    """The product's engine settings (hotline/__init__.py): psycopg 3, pool of 10, pre-ping."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_size=10, pool_pre_ping=True, connect_args={"connect_timeout": 3})


def prepare(url: str) -> None:
    """Create the table (once, before gunicorn forks its workers) and empty it."""
    engine = engine_for(url)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE bench_ceiling RESTART IDENTITY"))
    engine.dispose()


def create_app(url: str | None = None) -> Flask:
    engine = engine_for(url or os.environ["DATABASE_URL"])
    app = Flask(__name__)

    @app.post("/insert")
    def insert_row():
        body = request.get_json(silent=True) or {}
        with engine.begin() as connection:
            new_id = connection.execute(
                rows.insert().values(subject=str(body.get("subject", ""))[:200],
                                     content=str(body.get("content", "")))
                .returning(rows.c.id)
            ).scalar_one()
        return jsonify(id=new_id), 201

    return app


app = create_app() if os.environ.get("DATABASE_URL") else None
