"""Spending limits per transaction and per day (W-8), from the card's tier and
the card itself: the stricter of the two applies.

Only money taken from the card counts (cash, bonus, credit); what is paid at
the counter does not. The day is the chain's calendar day. The member's rows
are locked when this runs, so two purchases cannot both squeeze under the
daily limit.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.errors import LimitExceeded
from services.wallet import common
from services.wallet.ledger import MemberAccounts
from services.wallet.models import Transaction

COUNTED_KINDS = ("consume", "package_sale")


def breach(from_card: int, per_transaction: int | None, daily: int | None, spent_today: int) -> dict | None:
    """The refused field and reason, or None when within the limits."""
    if per_transaction is not None and from_card > per_transaction:
        return {"amount_due": [f"{from_card} fen from the card is over the limit of {per_transaction} per purchase."]}
    if daily is not None and spent_today + from_card > daily:
        left = max(0, daily - spent_today)
        return {"amount_due": [f"{from_card} fen from the card is over today's remaining limit of {left}."]}
    return None


def spent_on(session: Session, member: MemberAccounts, day: date, zone: str) -> int:
    start, end = common.day_range(zone, day, day)
    from_card = Transaction.paid_cash + Transaction.paid_bonus + Transaction.paid_credit
    total = session.scalar(
        select(func.coalesce(func.sum(from_card), 0)).where(
            Transaction.chain_id == member.chain_id,
            Transaction.member_id == member.member_id,
            Transaction.kind.in_(COUNTED_KINDS),
            Transaction.created_at >= start,
            Transaction.created_at < end,
        )
    )
    return int(total)


def stricter(*limits: int | None) -> int | None:
    """The lowest limit that is set; None when none is."""
    set_ones = [limit for limit in limits if limit is not None]
    return min(set_ones) if set_ones else None


def check(session: Session, card: dict, member: MemberAccounts, from_card: int, day: date, zone: str) -> None:
    tier, own = card["tier"], card["limits"]
    per_transaction = stricter(tier.get("per_transaction_limit"), own.get("per_transaction_limit"))
    daily = stricter(tier.get("daily_limit"), own.get("daily_limit"))
    if from_card == 0 or (per_transaction is None and daily is None):
        return
    spent = spent_on(session, member, day, zone) if daily is not None else 0
    fields = breach(from_card, per_transaction, daily, spent)
    if fields:
        raise LimitExceeded(fields["amount_due"][0], fields)
