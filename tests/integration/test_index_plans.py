"""Statements on the money path and in the services' loops find their rows by index, however
long the chain's history. Each statement is planned as PostgreSQL plans the services' prepared
statements once they settle (the generic plan), over a table padded with other rows and
analysed as autovacuum would, in a transaction that is rolled back.

Issue 11: the bench's refunds spent most of their time scanning; and a partial index (`WHERE
remaining > 0`) serves a prepared statement only when the condition's constant is in its
text (`remaining > $1` might be `> -1`)."""

import uuid

import pytest

from services.notification import dispatch
from services.points import book as books
from services.points import earning
from services.wallet import lots
from tests.helpers import admin_engine, generic_plan

pytestmark = pytest.mark.integration
OTHER_ROWS = 5000


def _pad(conn, sql: str, table: str):
    conn.exec_driver_sql(sql)
    conn.exec_driver_sql(f"ANALYZE {table}")
    return conn


@pytest.fixture
def padded(settings, provisioned):
    """A superuser connection in a transaction that is rolled back; foreign keys not enforced
    in it, so padding rows need no parents."""
    engine = admin_engine(settings)
    with engine.connect() as conn:
        transaction = conn.begin()
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        try:
            yield lambda sql, table: _pad(conn, sql, table)
        finally:
            transaction.rollback()
    engine.dispose()


def test_a_refund_reads_what_its_consume_took_per_lot_through_the_indexes(padded):
    conn = padded(
        "INSERT INTO wallet.lot_moves (chain_id, lot_id, tx_id, kind, lot_store_id, store_id, amount)"
        f" SELECT 'c', g, md5(g::text), 'cash', 's', 's', -1 FROM generate_series(1, {OTHER_ROWS}) g",
        "wallet.lot_moves",
    )
    plan = generic_plan(conn, lots.CONSUMED_NET, {"consume_id": str(uuid.uuid4()), "kind": "cash"})
    assert "Seq Scan on lot_moves" not in plan, plan
    assert "Index Cond: ((tx_id)::text = ANY" in plan, plan


def test_a_refunds_points_reversal_is_looked_up_by_its_cause(padded):
    conn = padded(
        "INSERT INTO points.transactions (id, chain_id, member_id, kind, points, balance_after)"
        f" SELECT md5(g::text), 'c' || mod(g, 50), 'm', 'reverse', -1, 0 FROM generate_series(1, {OTHER_ROWS}) g",
        "points.transactions",
    )
    plan = generic_plan(
        conn, books.CAUSE_RECORDED, {"chain_id": "c1", "kind": "reverse", "reference": str(uuid.uuid4())}
    )
    assert "Seq Scan on transactions" not in plan, plan
    assert "uq_transactions_cause" in plan, plan
    assert "Index Cond: (((chain_id)::text = " in plan, plan  # its leading column: not a walk of the whole index


def test_a_refund_finds_the_lot_its_consumes_earn_made_by_the_earns_move(padded):
    conn = padded(
        "INSERT INTO points.lot_moves (tx_id, lot_id, amount)"
        f" SELECT md5(g::text), g, 1 FROM generate_series(1, {OTHER_ROWS}) g",
        "points.lot_moves",
    )
    plan = generic_plan(conn, earning.EARNED_LOT, {"tx_id": str(uuid.uuid4())})
    assert "Seq Scan on lot_moves" not in plan, plan
    assert "Index Cond: ((tx_id)::text =" in plan, plan


def test_a_members_open_wallet_lots_are_read_through_the_partial_index(padded):
    conn = padded(
        "INSERT INTO wallet.lots (chain_id, member_id, kind, store_id, tx_id, amount, remaining)"
        f" SELECT 'c', 'm' || mod(g, 100), 'cash', 's', md5(g::text), 10, (mod(g, 10) = 0)::int * 10"
        f" FROM generate_series(1, {OTHER_ROWS}) g",
        "wallet.lots",
    )
    plan = generic_plan(conn, lots.OPEN_LOTS, {"chain_id": "c", "member_id": "m7", "kind": "cash"})
    assert "Seq Scan on lots" not in plan, plan
    assert "ix_lots_open" in plan, plan


def test_a_members_open_points_lots_are_read_through_the_partial_index(padded):
    conn = padded(
        "INSERT INTO points.lots (chain_id, member_id, tx_id, points, remaining, earned_at)"
        f" SELECT 'c', 'm' || mod(g, 100), md5(g::text), 10, (mod(g, 10) = 0)::int * 10, now()"
        f" FROM generate_series(1, {OTHER_ROWS}) g",
        "points.lots",
    )
    plan = generic_plan(conn, books.OPEN_LOTS, {"chain_id": "c", "member_id": "m7"})
    assert "Seq Scan on lots" not in plan, plan
    assert "ix_lots_open" in plan, plan


def test_the_dispatcher_finds_what_is_due_through_the_partial_index(padded):
    conn = padded(
        "INSERT INTO notification.messages"
        " (id, chain_id, kind, channel, source_key, variables, status, attempts, retried_at_attempt)"
        " SELECT md5(g::text), 'c', 'consume', 'sms', md5(g::text), '{}',"
        f" CASE WHEN mod(g, 100) = 0 THEN 'queued' ELSE 'sent' END, 1, 0 FROM generate_series(1, {OTHER_ROWS}) g",
        "notification.messages",
    )
    plan = generic_plan(conn, dispatch.DUE_IDS, {"limit": 50})
    assert "Seq Scan on messages" not in plan, plan
    assert "ix_messages_due" in plan, plan
