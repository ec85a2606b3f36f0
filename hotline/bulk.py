"""Many rows in one statement whose text does not depend on how many: PostgreSQL arrays.

A batch naming a few hundred rows as separate parameters (`IN (...)` lists, a multi-row
VALUES) is new SQL text for every count and tens of kilobytes long: SQLAlchemy compiles it,
psycopg rewrites its placeholders afresh (it caches only statements under 4 KB; ~10 µs a
parameter here, a quarter of a clock batch's time) and PostgreSQL plans it anew. With one
array a column the text is short and fixed: cached by both, prepared by the server, and the
values travel as arrays. Other databases (SQLite in the tests) get the ordinary form.

Depends on the session only.
"""

import enum
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import JSON, Column, Enum, String, Table, Text, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql import ColumnElement, Subquery
from sqlalchemy.types import TypeEngine

from hotline.extensions import db


def arrays() -> bool:
    """Whether the session's database takes arrays (PostgreSQL)."""
    return db.session.get_bind().dialect.name == "postgresql"


def any_of(column, values) -> ColumnElement[bool]:
    """`column IN values`: on PostgreSQL `column = ANY(:array)`, one parameter."""
    values = list(values)
    if not arrays():
        return column.in_(values)
    item = column.type if not isinstance(column.type, Enum) else String()
    return column == func.any(bindparam(None, values, type_=postgresql.ARRAY(item)))


def rows_of(table: Table, rows: Sequence[dict], names: Sequence[str]) -> Subquery:
    """PostgreSQL: `rows` as a subquery with a column for each of `names`, typed as `table`'s
    column of that name (or an integer for a name the table lacks), one array a column."""
    return select(*[_unnest(table.c.get(name), name, rows)
                    for name in names]).subquery()


def insert_rows(table: Table, rows: Sequence[dict], *, returning: Sequence[Column] = (),
                skip_conflicts_on: Sequence[str] = ()) -> CursorResult | None:
    """Insert `rows` (dicts with the same keys) in one statement; the result when `returning`.

    `skip_conflicts_on`: the unique columns on which an existing row wins (ON CONFLICT DO
    NOTHING); only the new rows come back."""
    if not rows:
        return None
    stmt: postgresql.Insert | sqlite.Insert
    if arrays():
        names = list(rows[0])
        stmt = postgresql.insert(table).from_select(names, select(*rows_of(table, rows, names).c))
    else:
        stmt = sqlite.insert(table)
    if skip_conflicts_on:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
    executable = stmt.returning(*returning) if returning else stmt
    connection = db.session.connection()
    result = connection.execute(executable) if arrays() else connection.execute(executable, list(rows))
    return result if returning else None


@contextmanager
def gathering(key: str) -> Iterator[list]:
    """A list in the session's info under `key` while the block runs, for the writers inside
    to leave the rows the block writes as it ends; gone after it, also after an error."""
    rows: list = []
    db.session.info[key] = rows
    try:
        yield rows
    finally:
        db.session.info.pop(key, None)


def _unnest(column: Column | None, name: str, rows: Sequence[dict]):
    values = [row[name] for row in rows]
    kind: TypeEngine = column.type if column is not None else postgresql.INTEGER()
    if isinstance(kind, JSON):          # as text, cast back: no JSON adapter per element
        texts = [None if value is None else json.dumps(value, ensure_ascii=False) for value in values]
        return cast(func.unnest(bindparam(None, texts, type_=postgresql.ARRAY(Text()))), kind).label(name)
    if isinstance(kind, Enum):          # stored as VARCHAR (enum_column): the members' values
        kind = String()
        values = [value.value if isinstance(value, enum.Enum) else value for value in values]
    return func.unnest(bindparam(None, values, type_=postgresql.ARRAY(kind))).label(name)
