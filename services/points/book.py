"""A member's points book: the kit's ledger, kept in lots (P-3, P-5, P-6).

Every move locks the member's two accounts first (the kit's `Ledger.lock`, in id order),
so moves on one member serialise and moves on two members never wait on each other.
Then it changes lots, posts to the ledger and writes its typed transaction, all in the
caller's database transaction, and says so in a `points.changed` event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.errors import InsufficientPoints
from services.kit import direct
from services.kit.built import constant
from services.kit.ledger import Ledger, give_back, take_fifo
from services.kit.outbox import OutboxWriter
from services.points.models import (
    HELD,
    ISSUED,
    Account,
    Earning,
    LotMove,
    MemberTotals,
    PointsLot,
    Posting,
    Transaction,
)

LEDGER = Ledger(Account.__table__, Posting.__table__)
accounts, lots, moves = Account.__table__, PointsLot.__table__, LotMove.__table__
# tables, not mapped classes, on the path of every earn: an ORM flush or a load of mapped objects
# costs several times the Core statement that writes or reads the same row
members, transactions, earnings = MemberTotals.__table__, Transaction.__table__, Earning.__table__
# kinds that count towards lifetime points (P-7); a reversal takes back what its earn counted
LIFETIME = {"earn", "cash", "gift", "rebate", "referral", "adjust", "reverse"}


@dataclass
class Totals:
    """The member's totals row (`MemberTotals`) as read when the book opened: the moves change
    it in memory and `changed` writes it, once per move."""

    lifetime_points: int = 0
    spend_year: int = 0
    year_spend: int = 0
    version: int = 0
    first_consume_id: str | None = None
    referrer_id: str | None = None


# what `changed` writes of it (the referrer is the member's facts', never the moves')
_MOVED = ("lifetime_points", "spend_year", "year_spend", "version", "first_consume_id")


@dataclass
class Book:
    chain_id: str
    member_id: str
    held_id: int
    issued_id: int
    balance: int
    totals: Totals
    now: datetime


@dataclass(frozen=True)
class Cause:
    """Who moved points, where, and why (P-3)."""

    kind: str
    reference: str | None = None
    reason: str = ""
    store_id: str | None = None
    operator_id: str | None = None
    card_id: str | None = None


def open_book(session: Session, chain_id: str, member_id: str) -> Book:
    """The member's accounts, opened on first use and locked for this transaction.

    Two statements when the member has a book (the common case): lock its accounts, then
    read its totals with the moment after the lock; the inserts only run for a new one."""
    held = _lock_accounts(session, chain_id, member_id)
    if len(held) < 2:
        session.execute(
            insert(accounts)
            .values([{"chain_id": chain_id, "member_id": member_id, "kind": k} for k in (HELD, ISSUED)])
            .on_conflict_do_nothing(constraint="uq_accounts_owner")
        )
        held = _lock_accounts(session, chain_id, member_id)
    totals, now = _totals_now(session, chain_id, member_id)
    if totals is None:
        session.execute(insert(members).values(chain_id=chain_id, member_id=member_id).on_conflict_do_nothing())
        totals, now = _totals_now(session, chain_id, member_id)
    # the moment is read after the lock: moves of one member are stamped in the order they happen
    return Book(chain_id, member_id, held[HELD][0], held[ISSUED][0], held[HELD][1], totals, now)


def _lock_accounts(session: Session, chain_id: str, member_id: str) -> dict[str, tuple[int, int]]:
    """kind -> (account id, balance), locked FOR UPDATE in id order (the kit ledger's order)."""
    rows = direct.run(session, _LOCKING, {"the_chain": chain_id, "the_member": member_id}).all()
    return {r.kind: (r.id, r.balance) for r in rows}


def _totals_now(session: Session, chain_id: str, member_id: str) -> tuple[Totals | None, datetime]:
    row = direct.run(session, _TOTALS_NOW, {"the_chain": chain_id, "the_member": member_id}).first()
    if row is None:
        return None, session.scalar(select(func.clock_timestamp()))
    *values, now = row
    return Totals(*values), now


# built once: every earn and every spend of points opens the member's book (see services.kit.built)
_LOCKING = (
    select(accounts.c.kind, accounts.c.id, accounts.c.balance)
    .where(accounts.c.chain_id == bindparam("the_chain"), accounts.c.member_id == bindparam("the_member"))
    .order_by(accounts.c.id)
    .with_for_update()
)
_TOTALS_NOW = select(*(members.c[name] for name in Totals.__dataclass_fields__), func.clock_timestamp()).where(
    members.c.chain_id == bindparam("the_chain"), members.c.member_id == bindparam("the_member")
)
_TOTALS_MOVED = (
    update(members)
    .where(members.c.chain_id == bindparam("the_chain"), members.c.member_id == bindparam("the_member"))
    .values({name: bindparam(f"the_{name}") for name in _MOVED})
)


def read_balance(session: Session, chain_id: str, member_id: str) -> int:
    return (
        session.scalar(
            select(accounts.c.balance).where(
                accounts.c.chain_id == chain_id, accounts.c.member_id == member_id, accounts.c.kind == HELD
            )
        )
        or 0
    )


def _post(session: Session, book: Book, tx_id: str, points: int) -> None:
    if points:
        # `open_book` locked both accounts already
        balances = LEDGER.post(session, tx_id, [(book.held_id, points), (book.issued_id, -points)], locked=True)
        book.balance = balances[book.held_id]


# a cause (kind and reference) is recorded once per chain: looked up by its unique index
# (chain_id, kind, reference) from the leading column; without the chain, a walk of the whole index
CAUSE_RECORDED = select(Transaction.id).where(
    Transaction.chain_id == bindparam("chain_id"),
    Transaction.kind == bindparam("kind"),
    Transaction.reference == bindparam("reference"),
)


def cause_recorded(session: Session, chain_id: str, kind: str, reference: str) -> bool:
    """Whether the chain has a transaction of this cause already (a refund reversed, a receipt entered)."""
    found = direct.run(session, CAUSE_RECORDED, {"chain_id": chain_id, "kind": kind, "reference": reference})
    return found.first() is not None


def _record(session: Session, book: Book, cause: Cause, tx_id: str, points: int, shortfall: int = 0) -> Transaction:
    """The move's typed transaction, written; returned as a `Transaction` outside the session
    (what it says is what was written)."""
    row = {
        "id": tx_id,
        "chain_id": book.chain_id,
        "member_id": book.member_id,
        "kind": cause.kind,
        "points": points,
        "shortfall": shortfall,
        "balance_after": book.balance,
        "store_id": cause.store_id,
        "operator_id": cause.operator_id,
        "card_id": cause.card_id,
        "reference": cause.reference,
        "reason": cause.reason,
        "created_at": book.now,
    }
    direct.run(session, _RECORDING, row)
    return Transaction(**row)


_RECORDING = insert(transactions).values({c.name: bindparam(c.name) for c in transactions.columns})


def record_earning(session: Session, row: dict) -> None:
    """What a consume earned, line by line (an `Earning` row)."""
    direct.run(session, _EARNING, row)


_EARNING = insert(earnings).values({c.name: bindparam(c.name) for c in earnings.columns})


def _moved(session: Session, tx_id: str, changes: list[tuple[int, int]]) -> None:
    for lot_id, amount in changes:
        session.execute(update(lots).where(lots.c.id == lot_id).values(remaining=lots.c.remaining + amount))
    if changes:
        session.execute(insert(moves).values([{"tx_id": tx_id, "lot_id": i, "amount": a} for i, a in changes]))


def credit(session: Session, book: Book, cause: Cause, points: int, expires: datetime | None) -> Transaction:
    """Give `points` in a new lot (earn, cash points, gift, rebate, referral, a positive adjustment)."""
    tx_id = str(uuid.uuid4())
    if points > 0:
        lot = {"chain_id": book.chain_id, "member_id": book.member_id, "tx_id": tx_id, "points": points}
        direct.run(session, _NEW_LOT, {**lot, "earned_at": book.now, "expires_at": expires})
    _post(session, book, tx_id, points)
    return _record(session, book, cause, tx_id, points)


# a new lot and its move in one statement, built once: a new lot is full, so its move is
# written, not applied
_NEW_LOT = text(
    f"""
    WITH lot AS (
        INSERT INTO {lots.fullname} (chain_id, member_id, tx_id, points, remaining, earned_at, expires_at)
        VALUES (:chain_id, :member_id, :tx_id, :points, :points, :earned_at, :expires_at)
        RETURNING id
    )
    INSERT INTO {moves.fullname} (tx_id, lot_id, amount) SELECT :tx_id, id, :points FROM lot
    """
)


# the condition of the partial indexes ix_lots_open and ix_lots_due, with its 0 in the text
LOT_IS_OPEN = lots.c.remaining > constant(0)
# the member's open lots, oldest first, through ix_lots_open
OPEN_LOTS = (
    select(lots.c.id, lots.c.remaining)
    .where(lots.c.chain_id == bindparam("chain_id"), lots.c.member_id == bindparam("member_id"), LOT_IS_OPEN)
    .order_by(lots.c.earned_at, lots.c.id)
    .with_for_update()
)


def open_lots(session: Session, book: Book, first: int | None = None) -> list[tuple[int, int]]:
    """(lot id, remaining), oldest first; lot `first` ahead of the rest. Locked: the job
    that expires lots and the moves of this member agree on what remains."""
    rows = direct.run(session, OPEN_LOTS, {"chain_id": book.chain_id, "member_id": book.member_id})
    pairs = [(r.id, r.remaining) for r in rows]
    return sorted(pairs, key=lambda p: p[0] != first)  # stable: the rest keep their order


def debit(
    session: Session,
    book: Book,
    cause: Cause,
    points: int,
    *,
    partial: bool = False,
    first_lot: int | None = None,
    field: str = "points",
) -> Transaction:
    """Take `points`, oldest lots first (P-6). Short: refused with `InsufficientPoints` naming
    `field`, or, when `partial` (a reversal meeting points already spent), take what there is
    and record the rest as the shortfall; never a negative balance."""
    if points > book.balance and not partial:
        raise InsufficientPoints(
            f"The member holds {book.balance} points; {points} wanted.",
            {field: [f"The balance is {book.balance} points; {points} wanted."]},
        )
    taken = min(points, book.balance)
    tx_id = str(uuid.uuid4())
    plan = take_fifo(open_lots(session, book, first_lot), taken) if taken else []
    _moved(session, tx_id, [(lot_id, -amount) for lot_id, amount in plan])
    _post(session, book, tx_id, -taken)
    return _record(session, book, cause, tx_id, -taken, shortfall=points - taken)


def take_lots(session: Session, book: Book, cause: Cause, taken: list[tuple[int, int]]) -> Transaction:
    """Take exactly these (lot id, points): what expiry and the yearly reset remove."""
    tx_id = str(uuid.uuid4())
    _moved(session, tx_id, [(lot_id, -amount) for lot_id, amount in taken])
    total = sum(amount for _, amount in taken)
    _post(session, book, tx_id, -total)
    return _record(session, book, cause, tx_id, -total)


def taken_by(session: Session, tx_id: str) -> list[tuple[int, int]]:
    """(lot id, points) a transaction took."""
    rows = session.execute(select(moves.c.lot_id, moves.c.amount).where(moves.c.tx_id == tx_id)).all()
    return [(r.lot_id, -r.amount) for r in rows if r.amount < 0]


def restore(session: Session, book: Book, cause: Cause, tx_id: str, expires: datetime | None) -> Transaction:
    """Give back exactly what transaction `tx_id` took, to the lots it took from; into a fresh
    lot what cannot go back because its lot has expired since (P-6)."""
    took = taken_by(session, tx_id)
    rows = session.execute(
        select(lots.c.id, lots.c.points, lots.c.remaining, lots.c.expires_at)
        .where(lots.c.id.in_([lot_id for lot_id, _ in took]))
        .with_for_update()
    ).all()
    live = {r.id: r for r in rows if r.expires_at is None or r.expires_at > book.now}
    room = [
        (lot_id, min(amount, live[lot_id].points - live[lot_id].remaining)) for lot_id, amount in took if lot_id in live
    ]
    total = sum(amount for _, amount in took)
    plan = give_back(room, total)
    new_id = str(uuid.uuid4())
    fresh = sum(amount for lot_id, amount in plan if lot_id == 0)
    changes = [(lot_id, amount) for lot_id, amount in plan if lot_id != 0]
    if fresh:
        fresh_lot = session.execute(
            insert(lots)
            .values(
                chain_id=book.chain_id,
                member_id=book.member_id,
                tx_id=new_id,
                points=fresh,
                remaining=0,
                earned_at=book.now,
                expires_at=expires,
            )
            .returning(lots.c.id)
        ).scalar_one()
        changes.append((fresh_lot, fresh))
    _moved(session, new_id, changes)
    _post(session, book, new_id, total)
    return _record(session, book, cause, new_id, total)


def changed(
    session: Session, events: OutboxWriter, book: Book, tx: Transaction, before: Sequence[tuple[str, dict]] = ()
) -> None:
    """Count the move in the member's totals and say so (`points.changed`, P-7); the move's
    own events (type, data) in `before` go out ahead of it, all in one INSERT."""
    totals = book.totals
    if tx.kind in LIFETIME:
        totals.lifetime_points = max(0, totals.lifetime_points + tx.points)
    totals.version += 1
    moved = {f"the_{name}": getattr(totals, name) for name in _MOVED}
    direct.run(session, _TOTALS_MOVED, {"the_chain": book.chain_id, "the_member": book.member_id, **moved})
    change = {
        "chain_id": book.chain_id,
        "member_id": book.member_id,
        "kind": tx.kind,
        "points": tx.points,
        "balance": book.balance,
        "lifetime_points": totals.lifetime_points,
        "year_spend": totals.year_spend,
        "version": totals.version,
        "reference": tx.reference,
    }
    events.add_many(session, [(t, data, book.chain_id, book.now) for t, data in [*before, ("changed", change)]])


def move_view(tx: Transaction, card: dict | None) -> dict:
    """The answer to an operation that moved points (contracts.points.PointsMove)."""
    return {
        "transaction_id": tx.id,
        "kind": tx.kind,
        "created_at": tx.created_at.isoformat(),
        "store_id": tx.store_id,
        "operator_id": tx.operator_id,
        "card": card_ref(card) if card else None,
        "points": tx.points,
        "shortfall": tx.shortfall,
        "balance": tx.balance_after,
        "reference": tx.reference,
        "reason": tx.reason,
    }


def card_ref(card: dict) -> dict:
    return {
        "card_id": card["card_id"],
        "card_no": card["card_no"],
        "member_id": card["member_id"],
        "tier_code": card["tier"]["code"],
    }
