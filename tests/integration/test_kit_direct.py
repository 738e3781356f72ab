"""Statements run on the driver's cursor (services.kit.direct) on the real PostgreSQL: each
answers as `Session.execute` does (rows by position and name, types, Python defaults, counts),
fails with SQLAlchemy's exception classes, leaves a lost connection invalidated, is seen by
the engine's cursor events (prepared statements), and leaves what it does not take to SQLAlchemy."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    bindparam,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError, NoResultFound, OperationalError, ResourceClosedError
from sqlalchemy.orm import Session

from services.kit import direct
from services.kit.db import make_engine
from tests.helpers import unique

pytestmark = pytest.mark.integration


@pytest.fixture
def world(settings):
    """A table of its own (in a schema of its own) and an engine that prepares statements."""
    engine = make_engine(settings.admin_url(settings.db_name), pool_size=1, application_name="direct", prepared=True)
    schema = unique("direct_")
    metadata = MetaData(schema=schema)
    table = Table(
        "things",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("amount", BigInteger, nullable=False),
        Column("price", Numeric(10, 2)),
        Column("facts", JSONB),
        Column("state", String(10), nullable=False, default="new"),  # a value as the Python default
        Column("tag", String(36), nullable=False, default=lambda: "made"),  # a function as the Python default
        Column("version", Integer, nullable=False, default=0, onupdate=lambda: 99),
    )
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
        metadata.create_all(conn)
    yield engine, table
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def _adding(table: Table):
    return (
        insert(table)
        .values(id=bindparam("the_id"), amount=bindparam("the_amount"), price=bindparam("the_price"))
        .values(facts=bindparam("the_facts"))
        .returning(table.c.id, table.c.state, table.c.tag, table.c.version, table.c.facts, table.c.price)
    )


def test_an_insert_with_returning_answers_as_sqlalchemy_does(world):
    engine, table = world
    adding = _adding(table)
    with Session(engine) as session, session.begin():
        answers = []
        for n in range(3):  # the second run and after: prepared on the server
            params = {"the_id": str(uuid.uuid4()), "the_amount": n, "the_price": Decimal("1.25"), "the_facts": {"n": n}}
            answers.append((params["the_id"], direct.run(session, adding, params).one()))
        plain = session.execute(
            adding, {"the_id": "plain", "the_amount": 7, "the_price": Decimal("1.25"), "the_facts": {"n": 7}}
        ).one()
    for n, (the_id, row) in enumerate(answers):
        assert row.id == the_id and row[0] == the_id
        assert (row.state, row.tag, row.version) == ("new", "made", 0)  # both kinds of Python default
        assert row.facts == {"n": n} and row.price == Decimal("1.25")
        expected = {
            "id": the_id,
            "state": "new",
            "tag": "made",
            "version": 0,
            "facts": {"n": n},
            "price": Decimal("1.25"),
        }
        assert row._mapping == expected
    assert tuple(plain)[1:] == ("new", "made", 0, {"n": 7}, Decimal("1.25"))  # SQLAlchemy's own answer, the same


def test_reads_counts_and_scalars_answer_as_sqlalchemy_does(world):
    engine, table = world
    reading = select(table.c.id, (table.c.amount * 2).label("doubled")).where(table.c.amount >= bindparam("least"))
    reading = reading.order_by(table.c.amount)
    bumping = update(table).where(table.c.amount < bindparam("below")).values(amount=table.c.amount + 10)
    with Session(engine) as session, session.begin():
        session.execute(insert(table), [{"id": f"t{n}", "amount": n} for n in range(4)])
        for _ in range(2):
            assert [tuple(r) for r in direct.run(session, reading, {"least": 2})] == [("t2", 4), ("t3", 6)]
            assert direct.run(session, reading, {"least": 3}).scalar() == "t3"
            assert direct.run(session, reading, {"least": 2}).scalars().all() == ["t2", "t3"]
            assert direct.run(session, reading, {"least": 3}).mappings().one() == {"id": "t3", "doubled": 6}
            assert direct.run(session, reading, {"least": 9}).first() is None
            with pytest.raises(NoResultFound):
                direct.run(session, reading, {"least": 9}).one()
        bumped = direct.run(session, bumping, {"below": 2})
        assert bumped.rowcount == 2  # t0 and t1
        with pytest.raises(ResourceClosedError):
            bumped.all()  # an UPDATE without RETURNING returns no rows, as in SQLAlchemy
        versions = session.execute(select(table.c.id, table.c.version, table.c.amount).order_by(table.c.id)).all()
        assert [tuple(v) for v in versions] == [("t0", 99, 10), ("t1", 99, 11), ("t2", 0, 2), ("t3", 0, 3)]
        counted = direct.run(session, text(f"SELECT count(*) AS n FROM {table.fullname} WHERE amount > :m"), {"m": 5})
        assert counted.one().n == 2


def test_a_failure_is_sqlalchemys_and_a_lost_connection_is_invalidated(world):
    engine, table = world
    adding = _adding(table)
    params = {"the_id": "same", "the_amount": 1, "the_price": None, "the_facts": None}
    with Session(engine) as session:
        with session.begin():
            direct.run(session, adding, params)
        with pytest.raises(IntegrityError), session.begin():
            direct.run(session, adding, params)  # the same key again
        with pytest.raises(OperationalError) as lost, session.begin():
            direct.run(session, text("SELECT pg_terminate_backend(pg_backend_pid())"))
        assert lost.value.connection_invalidated
        with session.begin():  # a new connection from the pool, and the row is still there
            assert direct.run(session, select(func.count()).select_from(table)).scalar() == 1


def test_the_engines_cursor_events_see_it_and_what_it_does_not_take_goes_to_sqlalchemy(world):
    engine, table = world
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, statement, *rest: seen.append(statement))
    listed = select(table.c.id).where(table.c.id.in_(bindparam("ids", expanding=True)))  # an IN list expanded at run
    with Session(engine) as session, session.begin():
        session.execute(insert(table), [{"id": f"e{n}", "amount": n} for n in range(3)])
        seen.clear()
        statement = select(table.c.amount).where(table.c.id == bindparam("the_id"))
        assert [direct.run(session, statement, {"the_id": i}).scalar() for i in ("e1", "e2", "e1")] == [1, 2, 1]
        assert sorted(direct.run(session, listed, {"ids": ["e0", "e2"]}).scalars().all()) == ["e0", "e2"]
        many = direct.run(session, insert(table), [{"id": "m1", "amount": 1}, {"id": "m2", "amount": 2}])
        assert many.rowcount == 2
    assert len(seen) == 5  # three runs of the statement, the IN list, the two rows in one executemany
    assert seen[0].startswith("SELECT") and seen[1].startswith("EXECUTE hy_") and seen[2] == seen[1]  # prepared
