"""What every wallet operation checks and records: who, where, which card, when."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from contracts.auth import CHAIN_STAFF, Actor
from contracts.errors import CardNotActive, Forbidden, NotFound
from services.kit import clock, direct
from services.kit.db import new_id
from services.wallet.ledger import MemberAccounts
from services.wallet.models import ChainClock, Transaction

transactions = Transaction.__table__
# built once: the values come as parameters (a statement built per call costs more than its round trip)
_NEW_TX = insert(transactions).values(created_at=func.clock_timestamp()).returning(*transactions.c)

# the chain's zone until org's chain event has reached us (it is also org's default)
STAFF = CHAIN_STAFF


def require_staff(actor: Actor, chain_id: str, roles: tuple[str, ...] = STAFF) -> None:
    actor.require_chain(chain_id)
    actor.require_role(*roles)


def require_store(actor: Actor, chain_id: str, store_id: str, roles: tuple[str, ...] = STAFF) -> None:
    """O-7: any card of the chain, but only at a store of one's own (HQ: any store)."""
    require_staff(actor, chain_id, roles)
    if not actor.can_access_store(chain_id, store_id):
        raise Forbidden("You can only transact at your own store.", {"store_id": ["Not one of your stores."]})


def require_card(card: dict, chain_id: str) -> None:
    if card["chain_id"] != chain_id:
        raise NotFound("No such card.", {"card_no": ["No such card in this chain."]})


def require_active(card: dict, chain_id: str) -> None:
    """M-3: only an active card recharges, consumes or buys."""
    require_card(card, chain_id)
    require_status(card, ("active",))


def require_status(card: dict, statuses: tuple[str, ...]) -> None:
    if card["status"] not in statuses:
        raise CardNotActive(f"The card is {card['status']}.", {"card_no": [f"The card is {card['status']}."]})


def card_ref(card: dict) -> dict:
    return {
        "card_id": card["card_id"],
        "card_no": card["card_no"],
        "member_id": card["member_id"],
        "member_name": card["member_name"],
        "masked_phone": card["masked_phone"],
        "tier_code": card["tier"]["code"],
    }


def time_zone(session: Session, chain_id: str) -> str:
    return (
        session.scalar(select(ChainClock.time_zone).where(ChainClock.chain_id == chain_id)) or clock.DEFAULT_TIME_ZONE
    )


def day_start(zone: str, day: date) -> datetime:
    """The instant `day` begins in `zone`, as an aware UTC datetime."""
    return datetime.combine(day, time.min, ZoneInfo(zone)).astimezone(UTC)


def day_range(zone: str, first: date, last: date) -> tuple[datetime, datetime]:
    return day_start(zone, first), day_start(zone, last + timedelta(days=1))


def local_date(zone: str, instant: datetime) -> date:
    return instant.astimezone(ZoneInfo(zone)).date()


def today(zone: str) -> date:
    return clock.today(zone)


def new_tx(
    session: Session,
    kind: str,
    chain_id: str,
    actor: Actor,
    *,
    store_id: str | None,
    card: dict | None = None,
    key: str | None = None,
    **figures,
) -> Transaction:
    values = {
        "id": new_id(),
        "chain_id": chain_id,
        "kind": kind,
        "store_id": store_id,
        "operator_id": actor.staff_id,
        "member_id": card["member_id"] if card else figures.pop("member_id", None),
        "card_id": card["card_id"] if card else None,
        "card_no": card["card_no"] if card else None,
        "tier_code": card["tier"]["code"] if card else None,
        "idempotency_key": key,
        **{k: v for k, v in figures.items() if k != "member_id"},
    }
    # one INSERT (no unit of work); the clock is read after the member's rows are locked:
    # statement order is the order balances moved in
    row = direct.run(session, _NEW_TX, values).one()
    tx = Transaction(**row._mapping)
    make_transient_to_detached(tx)
    session.add(tx)  # persistent, as inserted: a later change of it (the snapshot) is an UPDATE
    return tx


def snapshot(tx: Transaction, member: MemberAccounts) -> None:
    """Balances after `tx`, so a statement reads running balances off each row (W-10). Set
    only where they differ: a consume knows them when it writes the row, and an unchanged
    row leaves the operation's flush with nothing to do (no unit of work on that path)."""
    for name, value in (
        ("cash_after", member.cash),
        ("bonus_after", member.bonus),
        ("credit_used_after", member.credit_used),
    ):
        if getattr(tx, name) != value:
            setattr(tx, name, value)


def event_base(tx: Transaction, member: MemberAccounts) -> dict:
    return {
        "transaction_id": tx.id,
        "chain_id": tx.chain_id,
        "store_id": tx.store_id,
        "operator_id": tx.operator_id,
        "member_id": member.member_id,
        "card_id": tx.card_id,
        "card_no": tx.card_no,
        "balances": member.balances(),
    }


def head(tx: Transaction, card: dict) -> dict:
    """The part every answer about one operation starts with."""
    return {
        "transaction_id": tx.id,
        "kind": tx.kind,
        "created_at": tx.created_at.isoformat(),
        "store_id": tx.store_id,
        "operator_id": tx.operator_id,
        "card": card_ref(card),
    }
