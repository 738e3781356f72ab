"""Return card (W-7): cash is paid back, bonus is forfeited, the account closes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from contracts.auth import Actor
from contracts.errors import CardNotActive, InvalidState
from services.kit.outbox import OutboxWriter
from services.wallet import common, ledger, lots
from services.wallet.models import BONUS_EXPENSE, MEMBER_BONUS, MEMBER_CASH, STORE_RECEIVED

RETURNABLE = ("active", "frozen", "expired")


def return_card(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    store_id, method = data["store_id"], data["payment_method"]
    common.require_store(actor, chain_id, store_id)
    common.require_card(card, chain_id)
    # a lost (frozen) or expired card still holds the member's cash: it can be paid back
    if card["status"] not in RETURNABLE:
        raise CardNotActive(f"The card is {card['status']}.", {"card_no": [f"The card is {card['status']}."]})
    member = ledger.lock_member(session, chain_id, card["member_id"])
    member.require_open()
    if member.credit_used:
        raise InvalidState(
            f"The member owes {member.credit_used} fen of credit; settle it first.",
            {"card_no": ["Credit is outstanding."]},
        )
    cash, bonus = member.cash, member.bonus
    tx = common.new_tx(
        session,
        "card_return",
        chain_id,
        actor,
        store_id=store_id,
        card=card,
        key=key,
        amount=cash,
        bonus=bonus,
        paid_external=cash,
        payment_method=method,
        remark=data.get("reason", ""),
    )
    received, expense = (STORE_RECEIVED, store_id, method), (BONUS_EXPENSE, store_id, None)
    books = ledger.store_accounts(session, chain_id, [received, expense])
    # the cash leaves the store's till; the bonus given away is taken back
    member.apply(
        ledger.post(
            session,
            tx.id,
            [
                (member.ids[MEMBER_CASH], -cash),
                (books[received], cash),
                (member.ids[MEMBER_BONUS], -bonus),
                (books[expense], bonus),
            ],
        )
    )
    lots.drain(session, tx, "cash")
    lots.drain(session, tx, "bonus")
    ledger.close_wallet(session, member)
    common.snapshot(tx, member)
    events.add(
        session,
        "card_returned",
        {
            **common.event_base(tx, member),
            "cash_paid_back": cash,
            "bonus_forfeited": bonus,
            "payment_method": method,
            "operator_name": actor.display_name or actor.username,
            "reason": data.get("reason", ""),
        },
        chain_id=chain_id,
    )
    return {
        **common.head(tx, card),
        "cash_paid_back": cash,
        "bonus_forfeited": bonus,
        "payment_method": method,
        "balances": member.balances(),
    }
