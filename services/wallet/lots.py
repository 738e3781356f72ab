"""Lots: which store took in each parcel of a member's cash or bonus (W-11, R-8).

A recharge (or bonus) opens a lot at the store that took the money. Spending
takes the oldest lots first and records, per lot, the store where it was spent;
a refund puts money back into the lots its consume took from. The sum of a
member's open cash lots always equals their cash balance (the ledger check
verifies it), so liability per store and inter-store settlement are sums of
lot moves.
"""

from __future__ import annotations

from sqlalchemy import BigInteger as BigIntegerType
from sqlalchemy import any_, bindparam, func, select, text, update, values
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.kit import direct
from services.kit.built import constant
from services.kit.ledger import give_back
from services.wallet.models import Lot, LotMove, Transaction

lots = Lot.__table__
moves = LotMove.__table__
# on the transaction object, not a column: its lot moves summed per (kind, lot store), for its event
_CHANGES = "_lot_changes"


def _note(tx: Transaction, kind: str, lot_store_id: str, amount: int) -> None:
    changes = tx.__dict__.setdefault(_CHANGES, {})
    changes[(kind, lot_store_id)] = changes.get((kind, lot_store_id), 0) + amount


def changes_of(tx: Transaction) -> list[dict]:
    """What `tx` moved in the lots, per kind and lot store, read from memory (no round trip):
    the event carries it so liability and settlement can be kept outside the wallet."""
    noted = tx.__dict__.get(_CHANGES, {})
    return [
        {"kind": kind, "lot_store_id": store, "amount": amount}
        for (kind, store), amount in sorted(noted.items())
        if amount
    ]


def open_lot(session: Session, tx: Transaction, kind: str, amount: int) -> None:
    if amount <= 0:
        return
    lot_id = session.execute(
        insert(lots)
        .values(
            chain_id=tx.chain_id,
            member_id=tx.member_id,
            kind=kind,
            store_id=tx.store_id,
            tx_id=tx.id,
            amount=amount,
            remaining=amount,
        )
        .returning(lots.c.id)
    ).scalar_one()
    session.execute(
        insert(moves).values(
            chain_id=tx.chain_id,
            lot_id=lot_id,
            tx_id=tx.id,
            kind=kind,
            lot_store_id=tx.store_id,
            store_id=tx.store_id,
            amount=amount,
            # stamped with its transaction's moment, so liability and statement agree at midnight
            created_at=tx.created_at,
        )
    )
    _note(tx, kind, tx.store_id, amount)


def _move(session: Session, tx: Transaction, kind: str, changes: list[tuple[int, int]]) -> None:
    """Apply signed changes to existing lots and record them as moves of `tx`."""
    if not changes:
        return
    delta = values(sql_column("id", BigIntegerType), sql_column("delta", BigIntegerType), name="lot_deltas")
    delta = delta.data(changes)
    rows = session.execute(
        update(lots)
        .where(lots.c.id == delta.c.id)
        .values(remaining=lots.c.remaining + delta.c.delta)
        .returning(lots.c.id, lots.c.store_id)
    ).all()
    store_of = {r.id: r.store_id for r in rows}
    session.execute(
        insert(moves).values(
            [
                {
                    "chain_id": tx.chain_id,
                    "lot_id": lot_id,
                    "tx_id": tx.id,
                    "kind": kind,
                    "lot_store_id": store_of[lot_id],
                    "store_id": tx.store_id,
                    "amount": amount,
                    "created_at": tx.created_at,
                }
                for lot_id, amount in changes
            ]
        )
    )
    for lot_id, amount in changes:
        _note(tx, kind, store_of[lot_id], amount)


# the member's open lots of a kind, oldest first, through the partial index ix_lots_open
OPEN_LOTS = (
    select(lots.c.id, lots.c.remaining)
    .where(
        lots.c.chain_id == bindparam("chain_id"),
        lots.c.member_id == bindparam("member_id"),
        lots.c.kind == bindparam("kind"),
        lots.c.remaining > constant(0),
    )
    .order_by(lots.c.id)
    .with_for_update()
)


def _open_lots(session: Session, chain_id: str, member_id: str, kind: str) -> list[tuple[int, int]]:
    rows = direct.run(session, OPEN_LOTS, {"chain_id": chain_id, "member_id": member_id, "kind": kind})
    return [(r.id, r.remaining) for r in rows]


# FIFO (`take_fifo`) in SQL: each open lot in id order gives what is still wanted after the
# lots before it, and the moves are written from the lots updated; fixed text, compiled once
_SPEND = text(
    f"""
    WITH open_lots AS (
        SELECT id, remaining, sum(remaining) OVER (ORDER BY id) - remaining AS before
        FROM {lots.fullname}
        WHERE chain_id = :chain_id AND member_id = :member_id AND kind = :kind AND remaining > 0
    ), plan AS (
        SELECT id, CAST(least(remaining, :amount - before) AS bigint) AS take FROM open_lots WHERE before < :amount
    ), taken AS (
        UPDATE {lots.fullname} AS l SET remaining = l.remaining - plan.take
        FROM plan WHERE l.id = plan.id
        RETURNING l.id, l.store_id, plan.take
    )
    INSERT INTO {moves.fullname} (chain_id, lot_id, tx_id, kind, lot_store_id, store_id, amount, created_at)
    SELECT :chain_id, taken.id, :tx_id, :kind, taken.store_id, :store_id, -taken.take, :created_at FROM taken
    RETURNING lot_store_id, amount
    """
).columns(sql_column("lot_store_id"), sql_column("amount", BigIntegerType))


def spend(session: Session, tx: Transaction, kind: str, amount: int) -> None:
    """Take `amount` of the member's `kind` money, oldest lots first: the lots read, taken
    from and their moves written in one statement. The member's accounts are locked by this
    transaction, and every change of their lots takes that lock first, so the lots read are
    the lots updated."""
    if amount <= 0:
        return
    moved = direct.run(
        session,
        _SPEND,
        {
            "chain_id": tx.chain_id,
            "member_id": tx.member_id,
            "kind": kind,
            "amount": amount,
            "tx_id": tx.id,
            "store_id": tx.store_id,
            "created_at": tx.created_at,
        },
    ).all()
    for lot_store_id, moved_amount in moved:
        _note(tx, kind, lot_store_id, moved_amount)  # the event carries each lot store's part
    short = amount + sum(m.amount for m in moved)
    if short:
        raise ValueError(f"lots fall short by {short}: lots and balance disagree")


def drain(session: Session, tx: Transaction, kind: str) -> int:
    """Empty every lot of `kind` (return card); returns the total taken."""
    open_lots = _open_lots(session, tx.chain_id, tx.member_id, kind)
    _move(session, tx, kind, [(lot_id, -remaining) for lot_id, remaining in open_lots])
    return sum(remaining for _, remaining in open_lots)


# Per lot, what a consume took (negative) net of its refunds so far. The consume and its
# refunds are found first (an InitPlan through two indexes), then their moves by index: written
# as `tx_id IN (consume or its refunds)`, PostgreSQL's generic plan (a prepared statement's,
# after five runs) scanned every lot move of the chain and compared each with each related
# transaction (53 ms over 5,700 moves, growing with the chain's history; 1.4 ms now).
CONSUMED_OR_REFUNDS = select(Transaction.id).where(
    (Transaction.id == bindparam("consume_id")) | (Transaction.ref_tx_id == bindparam("consume_id"))
)
CONSUMED_NET = (
    select(moves.c.lot_id, func.sum(moves.c.amount).label("net"))
    .where(moves.c.tx_id == any_(func.array(CONSUMED_OR_REFUNDS.scalar_subquery())), moves.c.kind == bindparam("kind"))
    .group_by(moves.c.lot_id)
)


def restore(session: Session, tx: Transaction, consume_id: str, kind: str, amount: int) -> None:
    """A refund of `consume_id`: put `amount` back where the consume took it."""
    if amount <= 0:
        return
    rows = direct.run(session, CONSUMED_NET, {"consume_id": consume_id, "kind": kind}).all()
    # what the consume took from each lot and earlier refunds have not yet put back
    spent = [(r.lot_id, -int(r.net)) for r in rows if r.net < 0]
    plan = give_back(spent, amount)
    _move(session, tx, kind, [(lot_id, give) for lot_id, give in plan if lot_id])
    extra = sum(give for lot_id, give in plan if not lot_id)
    open_lot(session, tx, kind, extra)
