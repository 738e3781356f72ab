"""Server-side prepared statements (services.kit.prepared) on the real PostgreSQL: a statement
run again is prepared on its connection and answers as before; one PostgreSQL cannot type,
or would read otherwise than its literal, runs unprepared and leaves the transaction whole;
a connection made afresh prepares again; an engine without the option prepares nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, func, literal, select, text

from services.kit.db import make_engine
from tests.helpers import unique

pytestmark = pytest.mark.integration

PREPARED = text("SELECT name FROM pg_prepared_statements WHERE name LIKE 'hy\\_%' ORDER BY name")


def engine_for(settings, prepared: bool = True):
    url = settings.admin_url(settings.db_name)
    return make_engine(url, pool_size=1, application_name="prepared", prepared=prepared)


def test_a_statement_run_again_is_prepared_on_its_connection_and_answers_as_before(settings):
    engine = engine_for(settings)
    tag = unique("p")
    statement = text(f"SELECT CAST(:n AS bigint) * 2 AS doubled, CAST(:who AS text) AS {tag}")
    try:
        with engine.connect() as conn:
            first = conn.execute(statement, {"n": 21, "who": "a"}).one()
            assert conn.execute(PREPARED).scalars().all() == []  # seen once: run as it was
            again = [conn.execute(statement, {"n": n, "who": "b"}).one() for n in (5, 3_000_000_000)]
            names = conn.execute(PREPARED).scalars().all()
        assert (first.doubled, first[1]) == (42, "a")
        assert [(row.doubled, row[1]) for row in again] == [(10, "b"), (6_000_000_000, "b")]
        assert len(names) == 1  # one statement, prepared once however often it runs
    finally:
        engine.dispose()


def test_a_statement_postgresql_cannot_type_runs_as_before_and_keeps_the_transaction(settings):
    engine = engine_for(settings)
    table = unique("prep_")
    # jsonb_build_object takes "any": a parameter there has no type to prepare with
    untyped = select(func.jsonb_build_object("k", bindparam("v")).label(unique("j")))
    # a number alone in a select list: prepared, PostgreSQL would read it as text
    number = select(literal(7).label(unique("n")))
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE TEMP TABLE {table} (x int)"))
            conn.execute(text(f"INSERT INTO {table} VALUES (1)"))
            answers = [conn.execute(untyped, {"v": v}).scalar() for v in (1, 2, 3)]
            numbers = [conn.execute(number).scalar() for _ in range(3)]
            kept = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # the transaction still stands
            prepared = conn.execute(PREPARED).scalars().all()
        assert answers == [{"k": 1}, {"k": 2}, {"k": 3}]
        assert numbers == [7, 7, 7] and all(isinstance(n, int) for n in numbers)
        assert kept == 1
        assert prepared == []
    finally:
        engine.dispose()


def test_a_connection_made_afresh_prepares_again(settings):
    engine = engine_for(settings)
    statement = text(f"SELECT CAST(:n AS int) + 1 AS {unique('r')}")
    try:
        with engine.connect() as conn:
            assert [conn.execute(statement, {"n": n}).scalar() for n in (1, 2)] == [2, 3]
            conn.invalidate()  # as after a lost connection: the pool makes a new one
        with engine.connect() as conn:
            assert [conn.execute(statement, {"n": n}).scalar() for n in (3, 4)] == [4, 5]
            assert len(conn.execute(PREPARED).scalars().all()) == 1
    finally:
        engine.dispose()


def test_an_engine_without_the_option_prepares_nothing(settings):
    engine = engine_for(settings, prepared=False)
    statement = text(f"SELECT CAST(:n AS int) AS {unique('o')}")
    try:
        with engine.connect() as conn:
            assert [conn.execute(statement, {"n": n}).scalar() for n in (1, 2, 3)] == [1, 2, 3]
            assert conn.execute(PREPARED).scalars().all() == []
    finally:
        engine.dispose()
