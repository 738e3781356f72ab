"""Statements built once and kept, for the ones that run on every event or operation.

Building a Core statement and computing its cache key costs about twice what running the
built statement does (356 against 133 us of CPU for a one-row INSERT, measured on the
bench machine), so a statement on the money path or in a consumer of its events is built
once per shape (table and column names) with its values as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from sqlalchemy import ColumnElement, Select, String, Table, bindparam, exists, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY, Insert, insert
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from services.kit import direct


def constant(value: str | int) -> ColumnElement:
    """`value` written into the statement's text rather than sent as a parameter, for the
    conditions a partial index is built on. A prepared statement settles on one plan for any
    parameters (PostgreSQL's generic plan), and that plan cannot use an index `WHERE
    remaining > 0` for `remaining > $1`, which might be -1: it scans the table instead, or
    is planned again on every run."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"a constant is a str or an int, not {value!r}")
    return literal_column(str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'")


@cache
def insert_new(table: Table, names: tuple[str, ...], returning: tuple[str, ...] = ()) -> Insert:
    """INSERT of these columns (from parameters of the same names) ON CONFLICT DO NOTHING."""
    statement = insert(table).values({name: bindparam(name) for name in names}).on_conflict_do_nothing()
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement


def insert_rows(session: Session, table: Table, rows: Sequence[dict], returning: tuple[str, ...] = ()) -> Result:
    """Insert rows that are not there yet, in one round trip (every row has the same keys)."""
    statement = insert_new(table, tuple(rows[0]), returning)
    return direct.run(session, statement, rows[0] if len(rows) == 1 else list(rows))


@cache
def insert_with_children(
    parent: Table, names: tuple[str, ...], key: str, children: tuple[tuple[Table, tuple[str, ...]], ...]
) -> Select:
    """One statement: a row INSERTed ON CONFLICT DO NOTHING and, only if it went in, its
    children's rows, each child column given as an array parameter named `<table>_<column>`
    (rows zipped by position). Returns the parent's `key` when the row went in, else nothing."""
    row = insert(parent).values({name: bindparam(name) for name in names}).on_conflict_do_nothing()
    inserted = row.returning(parent.c[key]).cte(f"{parent.name}_row")
    statement = select(inserted.c[key])
    for table, columns in children:
        arrays = [
            func.unnest(bindparam(f"{table.name}_{c}", type_=ARRAY(_unbounded(table.c[c].type)))) for c in columns
        ]
        rows = select(*arrays).where(exists(select(inserted.c[key])))
        statement = statement.add_cte(insert(table).from_select(list(columns), rows).cte(f"{table.name}_rows"))
    return statement


def insert_family(
    session: Session, parent: Table, row: dict, key: str, children: Sequence[tuple[Table, tuple[str, ...], list[dict]]]
) -> bool:
    """`insert_with_children` run: whether the row went in (a repeat inserts nothing at all)."""
    params = dict(row)
    for table, columns, rows in children:
        params.update({f"{table.name}_{c}": [r.get(c) for r in rows] for c in columns})
    shape = tuple((table, columns) for table, columns, _ in children)
    return direct.run(session, insert_with_children(parent, tuple(row), key, shape), params).first() is not None


def _unbounded(type_: TypeEngine) -> TypeEngine:
    """A string column's type without its length: a cast to varchar(n) would cut a longer value
    silently, where the insert into the column refuses it."""
    return String() if isinstance(type_, String) else type_
