"""The kit ledger on a schema of its own, as a new service would use it: the database refuses an
unbalanced transaction and any change to a posting; holds set value aside until it is taken or
released, exactly once."""

import uuid

import pytest
from sqlalchemy import BigInteger, Column, Identity, MetaData, String, Table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.kit.ledger import Holds, HoldSettled, Ledger, NotEnough, define_holds, ledger_ddl
from tests.helpers import admin_engine

pytestmark = pytest.mark.integration


@pytest.fixture
def books(provisioned):
    schema = f"ledger_probe_{uuid.uuid4().hex[:8]}"
    metadata = MetaData(schema=schema)
    accounts = Table(
        "accounts",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("owner", String(40)),
        Column("balance", BigInteger, nullable=False, server_default="0"),
    )
    postings = Table(
        "postings",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("tx_id", String(36), nullable=False),
        Column("account_id", BigInteger, nullable=False),
        Column("amount", BigInteger, nullable=False),
    )
    holds_table = define_holds(metadata)
    engine = admin_engine(provisioned)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
        metadata.create_all(conn)
        for statement in ledger_ddl(schema):
            conn.execute(text(statement))
        conn.execute(text(f"ALTER TABLE {schema}.accounts ADD CHECK (balance >= 0 OR owner = 'house')"))
    ledger = Ledger(accounts, postings)
    yield engine, ledger, Holds(ledger, holds_table)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def _open(session: Session, ledger: Ledger, owner: str) -> int:
    return session.execute(ledger.accounts.insert().values(owner=owner).returning(ledger.accounts.c.id)).scalar_one()


def test_balanced_postings_move_balances_and_the_database_refuses_the_rest(books):
    engine, ledger, _ = books
    with Session(engine) as session, session.begin():
        house, member = _open(session, ledger, "house"), _open(session, ledger, "member")
        assert ledger.post(session, "t1", [(house, -500), (member, 500)]) == {house: -500, member: 500}
    # an unbalanced transaction written around the kit is refused at commit
    with pytest.raises(IntegrityError, match="unbalanced by 1"):
        with Session(engine) as session, session.begin():
            session.execute(ledger.postings.insert().values(tx_id="t2", account_id=member, amount=1))
    # postings are append-only
    with pytest.raises(IntegrityError, match="append-only"):
        with Session(engine) as session, session.begin():
            session.execute(ledger.postings.update().values(amount=0))
    with Session(engine) as session:
        assert ledger.lock(session, [house, member]) == {house: -500, member: 500}


def test_a_hold_sets_value_aside_until_confirmed_or_cancelled(books):
    """300 points on the account; a hold of 200 leaves 100 available, so a second hold of 150
    is refused; the first confirmed takes 200 (100 left), a third of 100 cancelled gives it back."""
    engine, ledger, holds = books
    with Session(engine) as session, session.begin():
        house, member = _open(session, ledger, "house"), _open(session, ledger, "member")
        ledger.post(session, "earn", [(house, -300), (member, 300)])
    with Session(engine) as session, session.begin():
        first = holds.place(session, member, 200, "gift-1")
        assert holds.place(session, member, 200, "gift-1") == first  # the same reference, once
        assert holds.available(session, member) == 100
        with pytest.raises(NotEnough) as refused:
            holds.place(session, member, 150, "gift-2")
        assert (refused.value.available, refused.value.wanted) == (100, 150)
    with Session(engine) as session, session.begin():
        taken = holds.confirm(session, "gift-1", "redeem-1", house)
        assert (taken.status, taken.tx_id) == ("confirmed", "redeem-1")
        assert holds.confirm(session, "gift-1", "redeem-1", house) == taken  # again: nothing more taken
        assert ledger.lock(session, [member])[member] == 100
        holds.place(session, member, 100, "gift-3")
        assert holds.available(session, member) == 0
        assert holds.cancel(session, "gift-3").status == "cancelled"
        assert holds.available(session, member) == 100
        with pytest.raises(HoldSettled):
            holds.confirm(session, "gift-3", "redeem-3", house)
        with pytest.raises(HoldSettled):
            holds.cancel(session, "gift-1")
