"""Return card (W-7): cash is paid back, bonus is forfeited, the account closes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from contracts import wallet as c
from contracts.auth import Actor
from contracts.errors import InvalidState
from services.kit.outbox import OutboxWriter
from services.wallet import cards, ledger, lots
from services.wallet.models import BONUS_EXPENSE, MEMBER_BONUS, MEMBER_CASH, STORE_RECEIVED
from services.wallet.operation import MoneyOperation

RETURNABLE = ("active", "frozen", "expired")


def return_card(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    store_id, method = data["store_id"], data["payment_method"]
    # a lost (frozen) or expired card still holds the member's cash: it can be paid back
    op = MoneyOperation.begin(session, events, actor, chain_id, card, key, store_id=store_id, card_statuses=RETURNABLE)
    member = op.member
    if member.credit_used:
        raise InvalidState(
            f"The member owes {member.credit_used} fen of credit; settle it first.",
            {"card_no": ["Credit is outstanding."]},
        )
    cash, bonus = member.cash, member.bonus
    tx = op.record(
        "card_return",
        amount=cash,
        bonus=bonus,
        paid_external=cash,
        payment_method=method,
        remark=data.get("reason", ""),
    )
    # the cash leaves the store's till; the bonus given away is taken back
    op.book(
        {MEMBER_CASH: -cash, MEMBER_BONUS: -bonus},
        {(STORE_RECEIVED, store_id, method): cash, (BONUS_EXPENSE, store_id, None): bonus},
    )
    lots.drain(session, tx, "cash")
    lots.drain(session, tx, "bonus")
    ledger.close_wallet(session, member)
    # in force at once: until member has heard of the return, the wallet's own copy says so,
    # so a retry or another till is refused as "returned" whichever copy it reads
    returned_at = datetime.now(UTC).isoformat()
    cards.keep(session, {**card, "status": "returned", "as_of": returned_at})
    paid_back = {"cash_paid_back": cash, "bonus_forfeited": bonus, "payment_method": method}
    return op.finish(
        "card_returned",
        {
            **paid_back,
            "operator_name": actor.display_name or actor.username,
            "reason": data.get("reason", ""),
        },
        paid_back,
        c.CardReturn,
    )
