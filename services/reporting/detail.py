"""Reports that list the facts, a page at a time: R-1 consumption detail, R-2 recharge detail
and recharge-and-consumption per member. Pages are keyset pages (`services.kit.paging`), so an
export walks a year of rows at constant memory."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.kit.paging import decode_cursor, encode_cursor, keyset_page
from services.reporting import common
from services.reporting.models import FactLine, MemberCopy, MemberTier, MoneyFact, PointsFact
from services.reporting.rules import day_range
from services.reporting.scope import Scope

F = MoneyFact
P = PointsFact
RECHARGE_KINDS = ("recharge", "bonus_grant")


def _facts(session: Session, chain_id: str, query: dict, scope: Scope, kinds: tuple[str, ...]):
    """The facts of these kinds in the range, the caller's scope and the query's filters."""
    zone = common.time_zone(session, chain_id)
    start, end = day_range(zone, query["since"], query["until"])
    stmt = select(F).where(F.chain_id == chain_id, F.kind.in_(kinds), F.occurred_at >= start, F.occurred_at < end)
    if query.get("operator_id"):
        stmt = stmt.where(F.operator_id == query["operator_id"])
    if query.get("member_id"):  # one member's recharges and consumption
        stmt = stmt.where(F.member_id == query["member_id"])
    return common.scoped(stmt, scope)


def _who(fact: MoneyFact, stores: dict, staff: dict, members: dict) -> dict:
    return {
        "transaction_id": fact.tx_id,
        "occurred_at": fact.occurred_at.isoformat(),
        "store_id": fact.store_id,
        "store_name": stores.get(fact.store_id, ""),
        "member_id": fact.member_id,
        "member_name": members.get(fact.member_id, ""),
        "card_no": fact.card_no,
        "tier_code": fact.tier_code,
        "operator_id": fact.operator_id,
        "operator_name": staff.get(fact.operator_id, ""),
    }


def _names(session: Session, facts: list[MoneyFact]) -> tuple[dict, dict, dict]:
    return (
        common.store_names(session, (f.store_id for f in facts)),
        common.staff_names(session, [x for f in facts for x in (f.operator_id, f.serving_employee_id)]),
        common.member_names(session, (f.member_id for f in facts)),
    )


def consumptions(session: Session, chain_id: str, query: dict, scope: Scope, limit: int, after: str | None) -> dict:
    """R-1: each consume with its lines, where its money came from, and what was refunded of it."""
    stmt = _facts(session, chain_id, query, scope, ("consume",))
    if query.get("tier_code"):
        stmt = stmt.where(F.tier_code == query["tier_code"])
    facts, cursor = keyset_page(session, stmt, [F.occurred_at, F.tx_id], limit=limit, after=after)
    ids = [f.tx_id for f in facts]
    lines: dict[str, list] = {}
    refunded: dict[str, int] = {}
    points: dict[tuple[str, str], int] = {}
    if ids:
        for line in session.execute(
            select(FactLine).where(FactLine.tx_id.in_(ids)).order_by(FactLine.tx_id, FactLine.line_no)
        ).scalars():
            lines.setdefault(line.tx_id, []).append(line)
        refunded = dict(
            session.execute(
                select(F.ref_tx_id, func.sum(F.amount))
                .where(F.kind == "refund", F.ref_tx_id.in_(ids))
                .group_by(F.ref_tx_id)
            ).all()
        )
        # what each consume earned, and what its refunds took back (points.earned / reversed)
        points = {
            (consume_id, kind): int(total)
            for consume_id, kind, total in session.execute(
                select(P.consume_id, P.kind, func.sum(P.points))
                .where(P.consume_id.in_(ids), P.kind.in_(("earn", "reverse")))
                .group_by(P.consume_id, P.kind)
            )
        }
    stores, staff, members = _names(session, facts)
    items = []
    for f in facts:
        own = lines.get(f.tx_id, [])
        items.append(
            {
                **_who(f, stores, staff, members),
                "employee_id": f.serving_employee_id,
                "employee_name": staff.get(f.serving_employee_id, ""),
                "gross": f.gross,
                "discount": f.discount,
                "actual": f.amount,
                "paid_cash": f.paid_cash,
                "paid_bonus": f.paid_bonus,
                "paid_credit": f.paid_credit,
                "paid_external": f.paid_external,
                "refunded": int(refunded.get(f.tx_id, 0)),
                "points_earned": points.get((f.tx_id, "earn"), 0),
                "points_reversed": points.get((f.tx_id, "reverse"), 0),
                "remark": f.remark,
                "items": "; ".join(f"{x.name or x.item_code} x{x.quantity}" for x in own),
                "lines": [
                    {
                        "line_no": x.line_no,
                        "item_code": x.item_code,
                        "name": x.name,
                        "category": x.category,
                        "quantity": x.quantity,
                        "unit_price": x.unit_price,
                        "gross": x.gross,
                        "discount": x.discount,
                        "net": x.net,
                    }
                    for x in own
                ],
            }
        )
    return {**common.head(session, chain_id), "items": items, "next_cursor": cursor}


def recharges(session: Session, chain_id: str, query: dict, scope: Scope, limit: int, after: str | None) -> dict:
    """R-2: recharges and bonus grants, with the bonus each gave."""
    stmt = _facts(session, chain_id, query, scope, RECHARGE_KINDS)
    if query.get("tier_code"):
        stmt = stmt.where(
            F.member_id.in_(select(MemberTier.member_id).where(MemberTier.tier_code == query["tier_code"]))
        )
    facts, cursor = keyset_page(session, stmt, [F.occurred_at, F.tx_id], limit=limit, after=after)
    stores, staff, members = _names(session, facts)
    tiers = dict(
        session.execute(
            select(MemberTier.member_id, MemberTier.tier_code).where(
                MemberTier.member_id.in_([f.member_id for f in facts])
            )
        ).all()
    )
    items = [
        {
            **_who(f, stores, staff, members),
            "tier_code": tiers.get(f.member_id),
            "kind": f.kind,
            "amount": f.amount,
            "bonus": f.bonus,
            "payment_method": f.payment_method,
            "remark": f.remark,
        }
        for f in facts
    ]
    return {**common.head(session, chain_id), "items": items, "next_cursor": cursor}


def member_totals(session: Session, chain_id: str, query: dict, scope: Scope, limit: int, after: str | None) -> dict:
    """R-2: per member, what they recharged (and the bonus it gave), consumed and got refunded
    in the range, at the stores in scope."""
    zone = common.time_zone(session, chain_id)
    start, end = day_range(zone, query["since"], query["until"])

    def total(column, *kinds):
        return func.coalesce(func.sum(column).filter(F.kind.in_(kinds)), 0)

    stmt = select(
        F.member_id,
        func.count().filter(F.kind == "recharge").label("recharge_count"),
        total(F.amount, "recharge").label("recharged"),
        total(F.bonus, *RECHARGE_KINDS).label("bonus_issued"),
        func.count().filter(F.kind == "consume").label("consume_count"),
        total(F.amount, "consume").label("consumed"),
        total(F.amount, "refund").label("refunded"),
    ).where(
        F.chain_id == chain_id,
        F.member_id.is_not(None),
        F.kind.in_(("recharge", "bonus_grant", "consume", "refund")),
        F.occurred_at >= start,
        F.occurred_at < end,
    )
    if query.get("tier_code"):
        stmt = stmt.where(
            F.member_id.in_(select(MemberTier.member_id).where(MemberTier.tier_code == query["tier_code"]))
        )
    if after:
        (last,) = decode_cursor(after, [F.member_id])
        stmt = stmt.where(F.member_id > last)
    # summed first (MATERIALIZED), then ordered: else the planner walks every fact of the chain
    # in member order to stop early, instead of the few of the store and month
    totals = common.scoped(stmt, scope).group_by(F.member_id).cte("totals").prefix_with("MATERIALIZED")
    rows = session.execute(select(totals).order_by(totals.c.member_id).limit(limit + 1)).all()
    cursor = encode_cursor([rows[limit - 1].member_id]) if len(rows) > limit else None
    rows = rows[:limit]
    info = {
        r.member_id: r
        for r in session.execute(
            select(MemberCopy.member_id, MemberCopy.member_no, MemberCopy.name, MemberTier.tier_code)
            .outerjoin(MemberTier, MemberTier.member_id == MemberCopy.member_id)
            .where(MemberCopy.member_id.in_([r.member_id for r in rows]))
        ).all()
    }
    figures = ("recharge_count", "recharged", "bonus_issued", "consume_count", "consumed", "refunded")
    items = [
        {
            "member_id": r.member_id,
            "member_no": info[r.member_id].member_no if r.member_id in info else "",
            "member_name": info[r.member_id].name if r.member_id in info else "",
            "tier_code": info[r.member_id].tier_code if r.member_id in info else None,
            **{f: int(getattr(r, f)) for f in figures},
        }
        for r in rows
    ]
    return {**common.head(session, chain_id), "items": items, "next_cursor": cursor}
