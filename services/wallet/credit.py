"""Credit (W-2): HQ grants a limit per member; a consume may draw on it when
asked to; the member settles it later at a counter."""

from __future__ import annotations

from sqlalchemy.orm import Session

from contracts.auth import HQ_ADMIN, Actor
from contracts.errors import ValidationFailed
from services.kit.outbox import OutboxWriter
from services.wallet import common, ledger
from services.wallet.models import MEMBER_CREDIT, STORE_RECEIVED


def _answer(tx, card: dict, member: ledger.MemberAccounts) -> dict:
    return {
        **common.head(tx, card),
        "amount": tx.amount,
        "payment_method": tx.payment_method,
        "balances": member.balances(),
    }


def set_limit(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    common.require_staff(actor, chain_id, roles=(HQ_ADMIN,))
    common.require_card(card, chain_id)
    member = ledger.lock_member(session, chain_id, card["member_id"])
    member.require_open()
    limit = data["credit_limit"]
    if limit < member.credit_used:
        raise ValidationFailed(fields={"credit_limit": [f"The member already owes {member.credit_used} fen."]})
    tx = common.new_tx(
        session,
        "credit_limit",
        chain_id,
        actor,
        store_id=None,
        card=card,
        key=key,
        amount=limit,
        remark=data.get("reason", ""),
    )
    ledger.set_credit_limit(session, member, limit)
    common.snapshot(tx, member)
    events.add(session, "credit_limit_set", {**common.event_base(tx, member), "credit_limit": limit}, chain_id=chain_id)
    return _answer(tx, card, member)


def settle(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    """Pay back credit used; allowed whatever the card's status, since the debt stays."""
    store_id, amount, method = data["store_id"], data["amount"], data["payment_method"]
    common.require_store(actor, chain_id, store_id)
    common.require_card(card, chain_id)
    member = ledger.lock_member(session, chain_id, card["member_id"])
    if amount > member.credit_used:
        raise ValidationFailed(fields={"amount": [f"The member owes {member.credit_used} fen."]})
    tx = common.new_tx(
        session,
        "credit_settlement",
        chain_id,
        actor,
        store_id=store_id,
        card=card,
        key=key,
        amount=amount,
        paid_external=amount,
        payment_method=method,
    )
    books = ledger.store_accounts(session, chain_id, [(STORE_RECEIVED, store_id, method)])
    member.apply(
        ledger.post(
            session,
            tx.id,
            [
                (member.ids[MEMBER_CREDIT], amount),
                (books[(STORE_RECEIVED, store_id, method)], -amount),
            ],
        )
    )
    common.snapshot(tx, member)
    events.add(
        session,
        "credit_settled",
        {**common.event_base(tx, member), "amount": amount, "payment_method": method},
        chain_id=chain_id,
    )
    return _answer(tx, card, member)
