"""R-6 gift redemptions: the detail (a keyset page at a time) and the statistics per gift and
store by day or month in the chain's time zone. A redemption counts on the day it was made; a
cancelled one is listed as cancelled and left out of the statistics."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.kit.paging import keyset_page
from services.reporting import common
from services.reporting.models import CardCopy, GiftRedemptionFact, MemberTier
from services.reporting.rules import PERIOD_SQL, day_range
from services.reporting.scope import Scope

G = GiftRedemptionFact
FIGURES = ("redemptions", "quantity", "points")


def _in_range(session: Session, chain_id: str, query: dict, stmt):
    zone = common.time_zone(session, chain_id)
    start, end = day_range(zone, query["since"], query["until"])
    return zone, stmt.where(G.chain_id == chain_id, G.redeemed_at >= start, G.redeemed_at < end)


def _scoped(stmt, scope: Scope):
    return common.scoped(stmt, scope, store_column=G.store_id, operator_column=G.operator_id)


def redemptions(session: Session, chain_id: str, query: dict, scope: Scope, limit: int, after: str | None) -> dict:
    """R-6 detail: member, card, gift, quantity, points, store, operator, time and status."""
    _, stmt = _in_range(session, chain_id, query, select(G))
    for field in ("operator_id", "member_id", "gift_id"):
        if query.get(field):
            stmt = stmt.where(getattr(G, field) == query[field])
    if query.get("status") == "cancelled":
        stmt = stmt.where(G.cancelled_at.is_not(None))
    elif query.get("status") == "completed":
        stmt = stmt.where(G.cancelled_at.is_(None))
    if query.get("tier_code"):
        stmt = stmt.where(
            G.member_id.in_(select(MemberTier.member_id).where(MemberTier.tier_code == query["tier_code"]))
        )
    facts, cursor = keyset_page(
        session, _scoped(stmt, scope), [G.redeemed_at, G.redemption_id], limit=limit, after=after
    )
    stores = common.store_names(session, (f.store_id for f in facts))
    staff = common.staff_names(session, [x for f in facts for x in (f.operator_id, f.cancel_operator_id)])
    members = common.member_names(session, (f.member_id for f in facts))
    cards, tiers = {}, {}
    if facts:
        cards = dict(
            session.execute(
                select(CardCopy.card_id, CardCopy.card_no).where(CardCopy.card_id.in_({f.card_id for f in facts}))
            ).all()
        )
        tiers = dict(
            session.execute(
                select(MemberTier.member_id, MemberTier.tier_code).where(
                    MemberTier.member_id.in_({f.member_id for f in facts})
                )
            ).all()
        )
    items = [
        {
            "redemption_id": f.redemption_id,
            "redeemed_at": f.redeemed_at.isoformat(),
            "store_id": f.store_id,
            "store_name": stores.get(f.store_id, ""),
            "member_id": f.member_id,
            "member_name": members.get(f.member_id, ""),
            "card_id": f.card_id,
            "card_no": cards.get(f.card_id),
            "tier_code": tiers.get(f.member_id),
            "gift_id": f.gift_id,
            "gift_name": f.gift_name,
            "quantity": f.quantity,
            "points": f.points,
            "operator_id": f.operator_id,
            "operator_name": staff.get(f.operator_id, ""),
            "status": "cancelled" if f.cancelled_at is not None else "completed",
            "cancelled_at": f.cancelled_at.isoformat() if f.cancelled_at is not None else None,
            "cancel_operator_id": f.cancel_operator_id,
            "cancel_operator_name": staff.get(f.cancel_operator_id, ""),
            "cancel_reason": f.cancel_reason,
        }
        for f in facts
    ]
    return {**common.head(session, chain_id), "items": items, "next_cursor": cursor}


def statistics(session: Session, chain_id: str, query: dict, scope: Scope) -> dict:
    """R-6 statistics: per period, store and gift, the redemptions that stand (not cancelled),
    their quantity and points."""
    zone = common.time_zone(session, chain_id)
    period = func.to_char(func.timezone(zone, G.redeemed_at), PERIOD_SQL[query["group"]]).label("period")
    stmt = select(
        period,
        G.store_id,
        G.gift_id,
        func.max(G.gift_name).label("gift_name"),
        func.count().label("redemptions"),
        func.sum(G.quantity).label("quantity"),
        func.sum(G.points).label("points"),
    ).where(G.cancelled_at.is_(None))
    if query.get("gift_id"):
        stmt = stmt.where(G.gift_id == query["gift_id"])
    _, stmt = _in_range(session, chain_id, query, stmt)
    rows = session.execute(
        _scoped(stmt, scope).group_by(period, G.store_id, G.gift_id).order_by(period, G.store_id, G.gift_id)
    ).all()
    stores = common.store_names(session, (r.store_id for r in rows))
    items = [
        {
            "period": r.period,
            "store_id": r.store_id,
            "store_name": stores.get(r.store_id, ""),
            "gift_id": r.gift_id,
            "gift_name": r.gift_name,
            **{f: int(getattr(r, f)) for f in FIGURES},
        }
        for r in rows
    ]
    totals = {f: sum(row[f] for row in items) for f in FIGURES}
    return {**common.head(session, chain_id), "group": query["group"], "rows": items, "totals": totals}
