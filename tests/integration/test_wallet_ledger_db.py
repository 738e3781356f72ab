"""The database itself refuses what the ledger must never hold (W-2, W-4)."""

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.helpers import ok
from tests.wallet_helpers import wallet_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wallet_db(settings, services):
    engine = create_engine(settings.database_url("wallet"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def member_account(admin, wallet_db):
    w = wallet_world(admin)
    card = w.card()
    ok(w.recharge(card["card_no"], 1000), 201)
    with wallet_db.connect() as conn:
        return conn.execute(
            text("SELECT id, chain_id FROM accounts WHERE member_id = :m AND kind = 'member_cash'"),
            {"m": card["member_id"]},
        ).one()


def _tx(conn, chain_id) -> str:
    tx_id = str(uuid.uuid4())
    conn.execute(
        text(
            "INSERT INTO transactions (id, chain_id, kind, gross, discount, amount, bonus, paid_cash, "
            "paid_bonus, paid_credit, paid_external, remark) "
            "VALUES (:id, :c, 'bonus_grant', 0, 0, 0, 0, 0, 0, 0, 0, '')"
        ),
        {"id": tx_id, "c": chain_id},
    )
    return tx_id


def test_an_unbalanced_transaction_cannot_commit(wallet_db, member_account):
    with pytest.raises(DBAPIError, match="unbalanced"):
        with wallet_db.begin() as conn:
            tx_id = _tx(conn, member_account.chain_id)
            conn.execute(
                text("INSERT INTO postings (tx_id, account_id, amount) VALUES (:t, :a, 100)"),
                {"t": tx_id, "a": member_account.id},
            )


def test_a_member_balance_cannot_go_negative(wallet_db, member_account):
    with pytest.raises(DBAPIError, match="member_not_negative"):
        with wallet_db.begin() as conn:
            conn.execute(text("UPDATE accounts SET balance = -1 WHERE id = :a"), {"a": member_account.id})


def test_postings_are_append_only(wallet_db, member_account):
    with pytest.raises(DBAPIError, match="append-only"):
        with wallet_db.begin() as conn:
            conn.execute(text("UPDATE postings SET amount = amount WHERE account_id = :a"), {"a": member_account.id})
