"""Recharge with the tier's bonus, and bonus money alone (W-3)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from contracts.auth import HQ_ADMIN, STORE_MANAGER, Actor
from services.kit.outbox import OutboxWriter
from services.wallet import common, ledger, lots, pricing
from services.wallet.models import BONUS_EXPENSE, MEMBER_BONUS, MEMBER_CASH, STORE_RECEIVED

BONUS_GRANTERS = (HQ_ADMIN, STORE_MANAGER)


def _answer(tx, card: dict, member: ledger.MemberAccounts) -> dict:
    return {
        **common.head(tx, card),
        "amount": tx.amount,
        "bonus": tx.bonus,
        "payment_method": tx.payment_method,
        "remark": tx.remark,
        "balances": member.balances(),
    }


def recharge(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    common.require_store(actor, chain_id, data["store_id"])
    common.require_active(card, chain_id)
    member = ledger.lock_member(session, chain_id, card["member_id"])
    member.require_open()
    amount, method, store_id = data["amount"], data["payment_method"], data["store_id"]
    bonus = pricing.recharge_bonus(amount, card["tier"].get("recharge_bonus_rules") or [])
    member.require_room("amount", cash=amount, bonus=bonus)
    tx = common.new_tx(
        session,
        "recharge",
        chain_id,
        actor,
        store_id=store_id,
        card=card,
        key=key,
        amount=amount,
        bonus=bonus,
        paid_cash=amount,
        payment_method=method,
        remark=data.get("remark", ""),
    )
    received, expense = (STORE_RECEIVED, store_id, method), (BONUS_EXPENSE, store_id, None)
    books = ledger.store_accounts(session, chain_id, [received, expense])
    member.apply(
        ledger.post(
            session,
            tx.id,
            [
                (member.ids[MEMBER_CASH], amount),
                (books[received], -amount),
                (member.ids[MEMBER_BONUS], bonus),
                (books[expense], -bonus),
            ],
        )
    )
    lots.open_lot(session, tx, "cash", amount)
    lots.open_lot(session, tx, "bonus", bonus)
    common.snapshot(tx, member)
    events.add(
        session,
        "recharged",
        {**common.event_base(tx, member), "amount": amount, "bonus": bonus, "payment_method": method},
        chain_id=chain_id,
    )
    return _answer(tx, card, member)


def grant_bonus(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    """Bonus money alone (compensation, promotion): HQ or a store manager."""
    common.require_store(actor, chain_id, data["store_id"], roles=BONUS_GRANTERS)
    common.require_active(card, chain_id)
    member = ledger.lock_member(session, chain_id, card["member_id"])
    member.require_open()
    amount, store_id = data["amount"], data["store_id"]
    member.require_room("amount", bonus=amount)
    tx = common.new_tx(
        session,
        "bonus_grant",
        chain_id,
        actor,
        store_id=store_id,
        card=card,
        key=key,
        bonus=amount,
        remark=data["reason"],
    )
    books = ledger.store_accounts(session, chain_id, [(BONUS_EXPENSE, store_id, None)])
    member.apply(
        ledger.post(
            session,
            tx.id,
            [
                (member.ids[MEMBER_BONUS], amount),
                (books[(BONUS_EXPENSE, store_id, None)], -amount),
            ],
        )
    )
    lots.open_lot(session, tx, "bonus", amount)
    common.snapshot(tx, member)
    events.add(
        session,
        "bonus_granted",
        {**common.event_base(tx, member), "amount": amount, "reason": data["reason"]},
        chain_id=chain_id,
    )
    return _answer(tx, card, member)
