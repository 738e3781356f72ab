"""A double-entry ledger any service can keep in its own schema (non-negotiable 4).

What a ledger needs is the same wherever money or points are kept:

- **legs that net to zero**: `net_legs` merges a transaction's legs per account
  and refuses (in Python, before any SQL) legs that do not sum to zero;
- **the database refusing what the application must never do**: `ledger_ddl`
  makes, for the service's own schema, a constraint trigger deferred to commit
  that refuses an unbalanced transaction, and a trigger that refuses any
  update or delete of a posting (a mistake is corrected by a new transaction);
- **postings and balances moved together**: `Ledger.post` locks the accounts in
  id order (so two transactions can never deadlock), moves the balances and
  writes the postings in the same database transaction;
- **oldest-first lots**: `take_fifo` and `give_back` plan which parcels of value
  a spend takes and a refund puts back (the wallet's cash lots, points' lots
  that expire);
- **holds** (`Holds`): value set aside now and either taken (`confirm`) or
  released (`cancel`) later, for operations that must take "both or neither"
  across two services (a gift's stock and the member's points). A held amount
  is not available to anything else; a hold is settled exactly once.

The tables are the service's own (its models and migrations); the kit needs only
the columns it names: accounts `id`, `balance`; postings `tx_id`, `account_id`,
`amount`; holds as `define_holds` makes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    column,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from services.kit import direct
from services.kit.built import constant


class Unbalanced(ValueError):
    """A programming error: legs that do not sum to zero never reach the database."""


class NotEnough(ValueError):
    """An account's available balance does not cover a hold; the caller says what that means
    for its rule (insufficient funds, not enough points)."""

    def __init__(self, available: int, wanted: int) -> None:
        super().__init__(f"{available} available, {wanted} wanted")
        self.available, self.wanted = available, wanted


class HoldSettled(ValueError):
    """A hold that was already confirmed or cancelled cannot be settled the other way."""


def net_legs(legs: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Merge legs per account, drop zeros, and insist the rest sums to zero."""
    merged: dict[int, int] = {}
    for account_id, amount in legs:
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError("ledger amounts are integers (fen, points)")
        merged[account_id] = merged.get(account_id, 0) + amount
    merged = {a: v for a, v in merged.items() if v}
    total = sum(merged.values())
    if total:
        raise Unbalanced(f"legs are unbalanced by {total}")
    return merged


def take_fifo(open_lots: Sequence[tuple[int, int]], amount: int) -> list[tuple[int, int]]:
    """Take `amount` from (lot id, remaining) pairs, oldest first."""
    taken: list[tuple[int, int]] = []
    left = amount
    for lot_id, remaining in open_lots:
        if left == 0:
            break
        take = min(left, remaining)
        if take > 0:
            taken.append((lot_id, take))
            left -= take
    if left:
        raise ValueError(f"lots fall short by {left}: lots and balance disagree")
    return taken


def give_back(spent: Sequence[tuple[int, int]], amount: int) -> list[tuple[int, int]]:
    """Put `amount` back into (lot id, still refundable) pairs, last taken first;
    what does not fit is returned as lot id 0 (a new lot)."""
    back: list[tuple[int, int]] = []
    left = amount
    for lot_id, room in sorted(spent, reverse=True):
        if left == 0:
            break
        give = min(left, room)
        if give > 0:
            back.append((lot_id, give))
            left -= give
    if left:
        back.append((0, left))
    return back


def ledger_ddl(schema: str, postings: str = "postings") -> tuple[str, ...]:
    """The database's own ledger rules for `schema.postings`: balanced at commit, append-only.
    Run by the service's migration, and after `create_all` of its models."""
    table = f"{schema}.{postings}"
    return (
        f"""
        CREATE OR REPLACE FUNCTION {schema}.{postings}_balanced() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            total bigint;
        BEGIN
            SELECT COALESCE(SUM(amount), 0) INTO total FROM {table} WHERE tx_id = NEW.tx_id;
            IF total <> 0 THEN
                RAISE EXCEPTION 'ledger transaction % is unbalanced by %', NEW.tx_id, total
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END
        $$
        """,
        f"""
        CREATE CONSTRAINT TRIGGER {postings}_balanced
            AFTER INSERT ON {table}
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION {schema}.{postings}_balanced()
        """,
        f"""
        CREATE OR REPLACE FUNCTION {schema}.{postings}_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'postings are append-only' USING ERRCODE = 'restrict_violation';
        END
        $$
        """,
        f"""
        CREATE TRIGGER {postings}_append_only
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{postings}_append_only()
        """,
    )


@dataclass(frozen=True)
class Ledger:
    """Postings and balances of one service's accounts table."""

    accounts: Table
    postings: Table

    def lock(self, session: Session, account_ids: Iterable[int]) -> dict[int, int]:
        """Lock accounts FOR UPDATE in id order; their balances."""
        ids = sorted(set(account_ids))
        if not ids:
            return {}
        rows = direct.run(session, _locking(self.accounts), {"ids": ids}).all()
        return {r.id: r.balance for r in rows}

    def post(
        self, session: Session, tx_id: str, legs: Iterable[tuple[int, int]], *, locked: bool = False
    ) -> dict[int, int]:
        """Write the transaction's postings and move the balances; returns the new balances.
        `locked`: the caller holds the accounts' locks already (taken in id order)."""
        merged = net_legs(legs)
        if not merged:
            return {}
        ids = sorted(merged)
        if not locked:
            self.lock(session, ids)  # in id order, so two transactions cannot deadlock
        amounts = [merged[i] for i in ids]
        legs = {"moved_ids": ids, "moved_amounts": amounts, "posted_ids": ids, "posted_amounts": amounts}
        rows = direct.run(session, _posting(self.accounts, self.postings), {"tx_id": tx_id, **legs})
        return {r.id: r.balance for r in rows}


# Built once per ledger, over arrays (`unnest`): one text for any number of legs, so a points
# earn or a fee pays no statement building (see services.kit.built).
@cache
def _locking(accounts: Table) -> TextClause:
    return text(
        f"SELECT id, balance FROM {accounts.fullname} WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE"
    ).columns(column("id", BigInteger), column("balance", BigInteger))


def moving_and_posting(accounts: Table, postings: Table) -> str:
    """Two CTEs of one statement over arrays: `moved`, the balances of `:moved_ids` moved by
    `:moved_amounts` (RETURNING id, balance), and `written`, the postings `:posted_ids` /
    `:posted_amounts` of transaction `:tx_id`. The ledger's own posting uses them, and a
    service that moves only some balances here (the wallet leaves a store's for last) too."""
    return f"""
        moved AS (
            UPDATE {accounts.fullname} AS a SET balance = a.balance + d.amount
            FROM unnest(CAST(:moved_ids AS bigint[]), CAST(:moved_amounts AS bigint[])) AS d(id, amount)
            WHERE a.id = d.id
            RETURNING a.id, a.balance
        ), written AS (
            INSERT INTO {postings.fullname} (tx_id, account_id, amount)
            SELECT :tx_id, p.id, p.amount
            FROM unnest(CAST(:posted_ids AS bigint[]), CAST(:posted_amounts AS bigint[])) AS p(id, amount)
        )"""


@cache
def _posting(accounts: Table, postings: Table) -> TextClause:
    """The balances moved and the postings written, in one statement."""
    return text(f"WITH {moving_and_posting(accounts, postings)} SELECT id, balance FROM moved").columns(
        column("id", BigInteger), column("balance", BigInteger)
    )


HELD, CONFIRMED, CANCELLED = "held", "confirmed", "cancelled"


def define_holds(metadata: MetaData, name: str = "holds") -> Table:
    """A service's holds table: one row per hold, its reference unique (the caller's
    idempotency: placing the same hold twice places it once)."""
    return Table(
        name,
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("reference", String(120), nullable=False, unique=True),
        Column("account_id", BigInteger, nullable=False),
        Column("amount", BigInteger, nullable=False),
        Column("status", String(10), nullable=False, server_default=HELD),
        Column("tx_id", String(36)),  # the transaction that took it, once confirmed
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("settled_at", DateTime(timezone=True)),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"status IN ('{HELD}', '{CONFIRMED}', '{CANCELLED}')", name="status"),
        Index(f"ix_{name}_open", "account_id", postgresql_where=text(f"status = '{HELD}'")),
    )


@dataclass(frozen=True)
class Hold:
    id: int
    reference: str
    account_id: int
    amount: int
    status: str
    tx_id: str | None


@dataclass(frozen=True)
class Holds:
    """Amounts set aside on ledger accounts until they are taken or released."""

    ledger: Ledger
    table: Table

    def held(self, session: Session, account_id: int) -> int:
        """What is set aside on the account now."""
        return session.scalar(
            select(func.coalesce(func.sum(self.table.c.amount), 0)).where(
                self.table.c.account_id == account_id, self.table.c.status == constant(HELD)
            )
        )

    def available(self, session: Session, account_id: int, *, lock: bool = False) -> int:
        balance = (
            self.ledger.lock(session, [account_id])[account_id]
            if lock
            else session.scalar(select(self.ledger.accounts.c.balance).where(self.ledger.accounts.c.id == account_id))
        )
        return balance - self.held(session, account_id)

    def get(self, session: Session, reference: str, *, lock: bool = False) -> Hold | None:
        stmt = select(self.table).where(self.table.c.reference == reference)
        if lock:
            stmt = stmt.with_for_update()
        row = session.execute(stmt).first()
        return Hold(row.id, row.reference, row.account_id, row.amount, row.status, row.tx_id) if row else None

    def place(self, session: Session, account_id: int, amount: int, reference: str) -> Hold:
        """Set `amount` aside on the account, or raise `NotEnough`. Placing the same
        reference again returns the first hold (whatever happened to it since)."""
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ValueError("a hold is a positive integer amount")
        existing = self.get(session, reference)
        if existing is not None:
            return existing
        available = self.available(session, account_id, lock=True)  # the account row serialises holds on it
        if available < amount:
            raise NotEnough(available, amount)
        session.execute(
            insert(self.table)
            .values(reference=reference, account_id=account_id, amount=amount)
            .on_conflict_do_nothing(index_elements=[self.table.c.reference])
        )
        return self.get(session, reference)

    def confirm(self, session: Session, reference: str, tx_id: str, counter_account: int) -> Hold:
        """Take the held amount: post it from the held account to `counter_account` under
        `tx_id`. Confirming a confirmed hold again changes nothing; a cancelled one refuses."""
        hold = self._settle(session, reference, CONFIRMED)
        if hold.status == CONFIRMED and hold.tx_id is not None:
            return hold
        self.ledger.post(session, tx_id, [(hold.account_id, -hold.amount), (counter_account, hold.amount)])
        session.execute(
            update(self.table)
            .where(self.table.c.id == hold.id)
            .values(status=CONFIRMED, tx_id=tx_id, settled_at=func.now())
        )
        return Hold(hold.id, hold.reference, hold.account_id, hold.amount, CONFIRMED, tx_id)

    def cancel(self, session: Session, reference: str) -> Hold:
        """Release the held amount. Cancelling a cancelled hold changes nothing; a confirmed one refuses."""
        hold = self._settle(session, reference, CANCELLED)
        if hold.status == CANCELLED:
            return hold
        session.execute(
            update(self.table).where(self.table.c.id == hold.id).values(status=CANCELLED, settled_at=func.now())
        )
        return Hold(hold.id, hold.reference, hold.account_id, hold.amount, CANCELLED, None)

    def _settle(self, session: Session, reference: str, to: str) -> Hold:
        hold = self.get(session, reference, lock=True)
        if hold is None:
            raise KeyError(reference)
        if hold.status not in (HELD, to):
            raise HoldSettled(f"hold {reference} is {hold.status}; it cannot be {to}")
        return hold
