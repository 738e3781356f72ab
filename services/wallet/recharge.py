"""Recharge with the tier's bonus, and bonus money alone (W-3)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from contracts import wallet as c
from contracts.auth import HQ_ADMIN, STORE_MANAGER, Actor
from services.kit.outbox import OutboxWriter
from services.wallet import lots, pricing
from services.wallet.models import BONUS_EXPENSE, MEMBER_BONUS, MEMBER_CASH, STORE_RECEIVED
from services.wallet.operation import MoneyOperation

BONUS_GRANTERS = (HQ_ADMIN, STORE_MANAGER)


def recharge(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    op = MoneyOperation.begin(session, events, actor, chain_id, card, key, store_id=data["store_id"])
    amount, method, store_id = data["amount"], data["payment_method"], data["store_id"]
    bonus = pricing.recharge_bonus(amount, card["tier"].get("recharge_bonus_rules") or [])
    op.member.require_room("amount", cash=amount, bonus=bonus)
    tx = op.record(
        "recharge", amount=amount, bonus=bonus, paid_cash=amount, payment_method=method, remark=data.get("remark", "")
    )
    # the money came in at the store's till; the bonus is the store's expense
    op.book(
        {MEMBER_CASH: amount, MEMBER_BONUS: bonus},
        {(STORE_RECEIVED, store_id, method): -amount, (BONUS_EXPENSE, store_id, None): -bonus},
    )
    lots.open_lot(session, tx, "cash", amount)
    lots.open_lot(session, tx, "bonus", bonus)
    return op.finish(
        "recharged",
        {"amount": amount, "bonus": bonus, "payment_method": method},
        {"amount": amount, "bonus": bonus, "payment_method": method, "remark": tx.remark},
        c.Recharge,
    )


def grant_bonus(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    """Bonus money alone (compensation, promotion): HQ or a store manager."""
    store_id, amount = data["store_id"], data["amount"]
    op = MoneyOperation.begin(session, events, actor, chain_id, card, key, store_id=store_id, roles=BONUS_GRANTERS)
    op.member.require_room("amount", bonus=amount)
    tx = op.record("bonus_grant", bonus=amount, remark=data["reason"])
    op.book({MEMBER_BONUS: amount}, {(BONUS_EXPENSE, store_id, None): -amount})
    lots.open_lot(session, tx, "bonus", amount)
    return op.finish(
        "bonus_granted",
        {"amount": amount, "reason": data["reason"]},
        {"amount": tx.amount, "bonus": amount, "payment_method": tx.payment_method, "remark": tx.remark},
        c.Recharge,
    )
