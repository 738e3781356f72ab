"""Reads: a member's balance with its open lots, their history, their referrals."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.kit.paging import keyset_page
from services.points import book as books
from services.points.models import MemberTotals, PointsLot, Transaction


def balance(session: Session, chain_id: str, card: dict) -> dict:
    """The balance, lots and totals as of one moment. Read committed would take a snapshot per
    statement, and an earn committing between them showed its lots and balance with the
    lifetime points before it (600 points held, 0 earned for good). Call first in the transaction."""
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    member_id = card["member_id"]
    totals = session.get(MemberTotals, (chain_id, member_id))
    open_lots = session.scalars(
        select(PointsLot)
        .where(PointsLot.chain_id == chain_id, PointsLot.member_id == member_id, books.LOT_IS_OPEN)
        .order_by(PointsLot.earned_at, PointsLot.id)
        .limit(500)
    ).all()
    return {
        "card": books.card_ref(card),
        "balance": books.read_balance(session, chain_id, member_id),
        "lifetime_points": totals.lifetime_points if totals else 0,
        "year_spend": totals.year_spend if totals else 0,
        "lots": [
            {
                "lot_id": lot.id,
                "points": lot.points,
                "remaining": lot.remaining,
                "earned_at": lot.earned_at.isoformat(),
                "expires_at": lot.expires_at.isoformat() if lot.expires_at else None,
            }
            for lot in open_lots
        ],
    }


def history(session: Session, chain_id: str, member_id: str, query: dict) -> dict:
    """Newest first, a page at a time (keyset), by kind and time if asked."""
    stmt = select(Transaction).where(Transaction.chain_id == chain_id, Transaction.member_id == member_id)
    if query.get("kind"):
        stmt = stmt.where(Transaction.kind == query["kind"])
    if query["since"]:
        stmt = stmt.where(Transaction.created_at >= query["since"])
    if query["until"]:
        stmt = stmt.where(Transaction.created_at < query["until"])
    rows, cursor = keyset_page(
        session,
        stmt,
        [Transaction.created_at, Transaction.id],
        limit=query["limit"],
        after=query["after"],
        descending=True,
    )
    return {
        "items": [
            {
                "transaction_id": t.id,
                "kind": t.kind,
                "created_at": t.created_at.isoformat(),
                "points": t.points,
                "shortfall": t.shortfall,
                "balance_after": t.balance_after,
                "store_id": t.store_id,
                "operator_id": t.operator_id,
                "reference": t.reference,
                "reason": t.reason,
            }
            for t in rows
        ],
        "next_cursor": cursor,
    }


def referrals(session: Session, chain_id: str, card: dict) -> dict:
    """P-4: the members this card's member referred, and whether the referral has paid."""
    referred = session.scalars(
        select(MemberTotals.member_id)
        .where(MemberTotals.chain_id == chain_id, MemberTotals.referrer_id == card["member_id"])
        .order_by(MemberTotals.member_id)
        .limit(500)
    ).all()
    paid = dict(
        session.execute(
            select(Transaction.reference, Transaction.points).where(
                Transaction.chain_id == chain_id,
                Transaction.kind == "referral",
                Transaction.reference.in_([f"referral:{m}" for m in referred]),
            )
        ).all()
    )
    items = []
    for member_id in referred:
        points = paid.get(f"referral:{member_id}")
        items.append({"member_id": member_id, "rewarded": points is not None, "points": points or 0})
    return {"card": books.card_ref(card), "items": items}
