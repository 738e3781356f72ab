"""The double-entry ledger (W-1, W-2).

A transaction's legs are merged per account and must sum to zero before they
are written (the database checks again at commit). Balances move in the same
database transaction as the postings that explain them.

Locking: a member's accounts are locked first, in id order, before anything
is computed from their balances; store accounts are locked after, also in id
order. Every operation follows that order, so concurrent operations on one
member serialise and operations at one store never deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.base import MONEY_MAX
from contracts.errors import InvalidState, ValidationFailed
from services.kit.ledger import Ledger, Unbalanced, net_legs  # noqa: F401 - the wallet's names for them
from services.wallet.models import (
    MEMBER_BONUS,
    MEMBER_CASH,
    MEMBER_CREDIT,
    MEMBER_KINDS,
    Account,
    Posting,
    Wallet,
)

accounts = Account.__table__
LEDGER = Ledger(accounts, Posting.__table__)


@dataclass
class MemberAccounts:
    """A member's three accounts, locked for this transaction, with their balances."""

    chain_id: str
    member_id: str
    ids: dict[str, int]
    cash: int
    bonus: int
    credit_balance: int  # <= 0: minus what the member owes
    credit_limit: int
    wallet_status: str
    cumulative_spend: int

    @property
    def credit_used(self) -> int:
        return -self.credit_balance

    @property
    def credit_available(self) -> int:
        return max(0, self.credit_limit - self.credit_used)

    def apply(self, balances: dict[int, int]) -> None:
        for kind, account_id in self.ids.items():
            if account_id in balances:
                value = balances[account_id]
                if kind == MEMBER_CASH:
                    self.cash = value
                elif kind == MEMBER_BONUS:
                    self.bonus = value
                else:
                    self.credit_balance = value

    def balances(self) -> dict:
        return {
            "cash": self.cash,
            "bonus": self.bonus,
            "credit_limit": self.credit_limit,
            "credit_used": self.credit_used,
            "credit_available": self.credit_available,
        }

    def require_room(self, field: str, *, cash: int = 0, bonus: int = 0) -> None:
        """A balance never grows past MONEY_MAX, the most any answer or event can report."""
        for name, now, more in (("cash", self.cash, cash), ("bonus", self.bonus, bonus)):
            if now + more > MONEY_MAX:
                raise ValidationFailed(
                    f"The card's {name} balance would exceed {MONEY_MAX} fen.",
                    {field: [f"The {name} balance would exceed {MONEY_MAX} fen; it holds {now}."]},
                )

    def require_open(self) -> None:
        if self.wallet_status != "open":
            raise InvalidState(
                "The member returned their card; the account is closed.", {"card_no": ["The account is closed."]}
            )


def _member_rows(session: Session, chain_id: str, member_id: str, lock: bool) -> list:
    stmt = (
        select(accounts.c.id, accounts.c.kind, accounts.c.balance, accounts.c.credit_limit)
        .where(accounts.c.chain_id == chain_id, accounts.c.member_id == member_id)
        .order_by(accounts.c.id)
    )
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).all()


def _open_member(session: Session, chain_id: str, member_id: str) -> None:
    # two first operations at once both insert; the loser's rows are simply skipped
    session.execute(
        insert(accounts)
        .values([{"chain_id": chain_id, "kind": k, "member_id": member_id} for k in MEMBER_KINDS])
        .on_conflict_do_nothing(constraint="uq_accounts_owner")
    )
    session.execute(insert(Wallet.__table__).values(chain_id=chain_id, member_id=member_id).on_conflict_do_nothing())


def _member_view(chain_id: str, member_id: str, rows: list, wallet: Wallet | None) -> MemberAccounts:
    by_kind = {r.kind: r for r in rows}
    zero = {"id": 0, "balance": 0, "credit_limit": 0}

    def get(kind: str, attr: str) -> int:
        row = by_kind.get(kind)
        return getattr(row, attr) if row is not None else zero[attr]

    return MemberAccounts(
        chain_id=chain_id,
        member_id=member_id,
        ids={k: by_kind[k].id for k in by_kind},
        cash=get(MEMBER_CASH, "balance"),
        bonus=get(MEMBER_BONUS, "balance"),
        credit_balance=get(MEMBER_CREDIT, "balance"),
        credit_limit=get(MEMBER_CREDIT, "credit_limit"),
        wallet_status=wallet.status if wallet is not None else "open",
        cumulative_spend=wallet.cumulative_spend if wallet is not None else 0,
    )


def lock_member(session: Session, chain_id: str, member_id: str) -> MemberAccounts:
    """The member's accounts, created on first use and locked FOR UPDATE in id order."""
    rows = _member_rows(session, chain_id, member_id, lock=True)
    if len(rows) < len(MEMBER_KINDS):
        _open_member(session, chain_id, member_id)
        rows = _member_rows(session, chain_id, member_id, lock=True)
    wallet = session.get(Wallet, (chain_id, member_id), populate_existing=True)
    return _member_view(chain_id, member_id, rows, wallet)


def read_member(session: Session, chain_id: str, member_id: str) -> MemberAccounts:
    """The member's balances without locking (zero if nothing happened yet)."""
    rows = _member_rows(session, chain_id, member_id, lock=False)
    return _member_view(chain_id, member_id, rows, session.get(Wallet, (chain_id, member_id)))


StoreKey = tuple[str, str, str | None]  # (kind, store_id, payment method)


def store_accounts(session: Session, chain_id: str, keys: Iterable[StoreKey]) -> dict[StoreKey, int]:
    """Ids of a store's accounts, opened on first use."""
    wanted = set(keys)
    if not wanted:
        return {}

    def lookup() -> dict[StoreKey, int]:
        rows = session.execute(
            select(accounts.c.id, accounts.c.kind, accounts.c.store_id, accounts.c.method).where(
                accounts.c.chain_id == chain_id,
                accounts.c.store_id.in_({k[1] for k in wanted}),
                accounts.c.kind.in_({k[0] for k in wanted}),
            )
        ).all()
        return {(r.kind, r.store_id, r.method): r.id for r in rows if (r.kind, r.store_id, r.method) in wanted}

    found = lookup()
    missing = wanted - found.keys()
    if missing:
        session.execute(
            insert(accounts)
            .values(
                [{"chain_id": chain_id, "kind": k, "store_id": s, "method": m} for k, s, m in sorted(missing, key=str)]
            )
            .on_conflict_do_nothing(constraint="uq_accounts_owner")
        )
        found = lookup()
    return found


def post(session: Session, tx_id: str, legs: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Write the transaction's postings and move the balances; returns the new balances.
    Member rows are already ours; the rest are locked in id order, so two stores'
    transactions cannot deadlock."""
    return LEDGER.post(session, tx_id, legs)


def set_credit_limit(session: Session, member: MemberAccounts, limit: int) -> None:
    session.execute(update(accounts).where(accounts.c.id == member.ids[MEMBER_CREDIT]).values(credit_limit=limit))
    member.credit_limit = limit


def add_spend(session: Session, member: MemberAccounts, delta: int) -> int:
    """Move the member's cumulative spend (M-7) and return the new total."""
    total = max(0, member.cumulative_spend + delta)
    session.execute(
        update(Wallet.__table__)
        .where(Wallet.chain_id == member.chain_id, Wallet.member_id == member.member_id)
        .values(cumulative_spend=total)
    )
    member.cumulative_spend = total
    return total


def close_wallet(session: Session, member: MemberAccounts) -> None:
    session.execute(
        update(Wallet.__table__)
        .where(Wallet.chain_id == member.chain_id, Wallet.member_id == member.member_id)
        .values(status="closed", closed_at=func.now())
    )
    member.wallet_status = "closed"


def reopen_wallet(session: Session, chain_id: str, member_id: str, card_issued_at: datetime) -> bool:
    """A member who returned their card and comes back gets a new card: the
    account opens again (its balances are zero since the return). Only a card
    issued after the closing reopens it."""
    result = session.execute(
        update(Wallet.__table__)
        .where(
            Wallet.chain_id == chain_id,
            Wallet.member_id == member_id,
            Wallet.status == "closed",
            Wallet.closed_at < card_issued_at,
        )
        .values(status="open", closed_at=None)
    )
    return result.rowcount > 0
