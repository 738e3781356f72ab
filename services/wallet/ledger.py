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
from functools import cache

from sqlalchemy import BigInteger, Select, bindparam, column, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.base import MONEY_MAX
from contracts.errors import InvalidState, ValidationFailed
from services.kit import clock, direct
from services.kit.ledger import Ledger, Unbalanced, moving_and_posting, net_legs  # noqa: F401 - the wallet's names for them
from services.wallet.models import (
    MEMBER_BONUS,
    MEMBER_CASH,
    MEMBER_CREDIT,
    MEMBER_KINDS,
    Account,
    ChainClock,
    Entitlement,
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
    time_zone: str = clock.DEFAULT_TIME_ZONE  # the chain's, as org last said
    has_packages: bool = True  # whether the member ever bought a package or pass (False: none to plan)

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


wallets = Wallet.__table__


def _member_rows(session: Session, chain_id: str, member_id: str, lock: bool) -> list:
    """The member's accounts in id order, each with the wallet's status and spend, the chain's
    time zone and whether the member has packages: one round trip. Locked: the accounts and
    the wallet row (whose values are then the last committed). The zone and the package
    probe are read as of the statement's start: a package bought by an operation this one
    waited for is not used by it (it is ordered before that sale; no money is at stake)."""
    return direct.run(session, _member_reading(lock), {"the_chain": chain_id, "the_member": member_id}).all()


@cache
def _member_reading(lock: bool) -> Select:
    """Built once (every money operation reads the member so), Core rather than the ORM."""
    chain_id, member_id = bindparam("the_chain"), bindparam("the_member")
    clocks, entitlements = ChainClock.__table__, Entitlement.__table__
    zone = select(clocks.c.time_zone).where(clocks.c.chain_id == chain_id).scalar_subquery()
    has_packages = (
        select(entitlements.c.id)
        .where(entitlements.c.chain_id == chain_id, entitlements.c.member_id == member_id)
        .exists()
    )
    same_member = (wallets.c.chain_id == accounts.c.chain_id) & (wallets.c.member_id == accounts.c.member_id)
    stmt = (
        select(
            accounts.c.id,
            accounts.c.kind,
            accounts.c.balance,
            accounts.c.credit_limit,
            wallets.c.status.label("wallet_status"),
            wallets.c.cumulative_spend,
            zone.label("time_zone"),
            has_packages.label("has_packages"),
        )
        .select_from(accounts.join(wallets, same_member, isouter=not lock))
        .where(accounts.c.chain_id == chain_id, accounts.c.member_id == member_id)
        .order_by(accounts.c.id)
    )
    if lock:
        # the wallet row is locked too: a row read with a lock that was waited for is read
        # again as the holder left it, a row merely joined is not (its spend would be stale)
        stmt = stmt.with_for_update(of=[accounts, wallets])
    return stmt


def _open_member(session: Session, chain_id: str, member_id: str) -> None:
    # two first operations at once both insert; the loser's rows are simply skipped
    session.execute(
        insert(accounts)
        .values([{"chain_id": chain_id, "kind": k, "member_id": member_id} for k in MEMBER_KINDS])
        .on_conflict_do_nothing(constraint="uq_accounts_owner")
    )
    session.execute(insert(wallets).values(chain_id=chain_id, member_id=member_id).on_conflict_do_nothing())


def _member_view(chain_id: str, member_id: str, rows: list) -> MemberAccounts:
    by_kind = {r.kind: r for r in rows}
    zero = {"id": 0, "balance": 0, "credit_limit": 0}
    first = rows[0] if rows else None

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
        wallet_status=(first.wallet_status if first is not None else None) or "open",
        cumulative_spend=(first.cumulative_spend if first is not None else None) or 0,
        time_zone=(first.time_zone if first is not None else None) or clock.DEFAULT_TIME_ZONE,
        has_packages=bool(first.has_packages) if first is not None else False,
    )


def lock_member(session: Session, chain_id: str, member_id: str) -> MemberAccounts:
    """The member's accounts, created on first use and locked FOR UPDATE in id order."""
    rows = _member_rows(session, chain_id, member_id, lock=True)
    if len(rows) < len(MEMBER_KINDS) or rows[0].wallet_status is None:
        _open_member(session, chain_id, member_id)
        rows = _member_rows(session, chain_id, member_id, lock=True)
    return _member_view(chain_id, member_id, rows)


def read_member(session: Session, chain_id: str, member_id: str) -> MemberAccounts:
    """The member's balances without locking (zero if nothing happened yet)."""
    return _member_view(chain_id, member_id, _member_rows(session, chain_id, member_id, lock=False))


StoreKey = tuple[str, str, str | None]  # (kind, store_id, payment method)


# (chain, kind, store, method) -> account id: a store's account, once committed, keeps its id for
# ever (accounts are never deleted), so a process need look it up only once
_store_ids: dict[tuple[str, str, str, str | None], int] = {}
OPENED_HERE = "wallet_opened_store_accounts"  # session.info: this worker opened some (maybe uncommitted)


def store_accounts(session: Session, chain_id: str, keys: Iterable[StoreKey]) -> dict[StoreKey, int]:
    """Ids of a store's accounts, opened on first use."""
    wanted = set(keys)
    if not wanted:
        return {}
    known = {k: _store_ids.get((chain_id, *k)) for k in wanted}
    if all(known.values()):
        return known

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
    if not session.info.get(OPENED_HERE):  # all committed by others: safe to remember
        _store_ids.update({(chain_id, *k): v for k, v in found.items()})
    missing = wanted - found.keys()
    if missing:
        session.info[OPENED_HERE] = True
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


# The two statements every money operation runs, as fixed SQL over arrays (`unnest`): one
# text for any number of legs, compiled once, no cache key to build per call.
_POST = text(
    f"""
    WITH {moving_and_posting(accounts, LEDGER.postings)}, spent AS (
        UPDATE {wallets.fullname} SET cumulative_spend = :spend
        WHERE :with_spend AND chain_id = :chain_id AND member_id = :member_id
    )
    SELECT id, balance FROM moved
    """
).columns(column("id", BigInteger), column("balance", BigInteger))

_MOVE = text(
    f"""
    UPDATE {accounts.fullname} AS a SET balance = a.balance + d.delta
    FROM unnest(CAST(:ids AS bigint[]), CAST(:deltas AS bigint[])) AS d(id, delta)
    WHERE a.id = d.id AND a.id IN (
        SELECT id FROM {accounts.fullname} WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR NO KEY UPDATE
    )
    """
)


def post_member_now(
    session: Session, tx_id: str, merged: dict[int, int], member_ids: set[int], spend: MemberAccounts | None = None
) -> dict[int, int]:
    """A money operation's postings, all of them, and the balances of the member's accounts
    (locked already) in one statement; returns their new balances. The other accounts'
    balances (a store's, where every counter of the store queues) move last, in
    `move_balances` just before COMMIT, so their row locks are held briefly. `spend`: the
    member whose cumulative spend (already moved in it) is written in the same statement."""
    if not merged and spend is None:
        return {}
    ids = sorted(merged)
    mine = [a for a in ids if a in member_ids]
    rows = direct.run(
        session,
        _POST,
        {
            "moved_ids": mine,
            "moved_amounts": [merged[a] for a in mine],
            "tx_id": tx_id,
            "posted_ids": ids,
            "posted_amounts": [merged[a] for a in ids],
            "with_spend": spend is not None,
            "spend": spend.cumulative_spend if spend is not None else 0,
            "chain_id": spend.chain_id if spend is not None else "",
            "member_id": spend.member_id if spend is not None else "",
        },
    ).all()
    return {r.id: r.balance for r in rows}


def move_spend(member: MemberAccounts, delta: int) -> int:
    """Move the member's cumulative spend (M-7) in memory; `post_member_now(spend=member)` writes it."""
    member.cumulative_spend = max(0, member.cumulative_spend + delta)
    return member.cumulative_spend


def move_balances(session: Session, deltas: dict[int, int]) -> None:
    """Move the balances of accounts not yet locked by this transaction (a store's), locking
    them in id order (two operations at the same stores cannot deadlock)."""
    ids = sorted(a for a, v in deltas.items() if v)
    if ids:
        direct.run(session, _MOVE, {"ids": ids, "deltas": [deltas[a] for a in ids]})


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
