"""Reports that sum the facts: R-3 store summary, R-4 member statistics, R-5 rankings,
R-7 employee performance and commission. Every figure is a query over the facts."""

from __future__ import annotations

from sqlalchemy import DateTime, and_, case, cast, distinct, func, or_, select
from sqlalchemy.orm import Session, aliased

from services.reporting import common, rollup
from services.reporting.models import (
    CommissionRule,
    DailyTotals,
    FactLine,
    MemberCopy,
    MemberTier,
    MoneyFact,
    PointsFact,
    StaffCopy,
)
from services.reporting.rules import PERIOD_PY, PERIOD_SQL, commission, day_range
from services.reporting.scope import Scope

F = MoneyFact
P = PointsFact
FIGURES = rollup.FIGURES


def _sum(column, *kinds: str):
    return func.coalesce(func.sum(column).filter(F.kind.in_(kinds)), 0)


def _count(*kinds: str):
    return func.count().filter(F.kind.in_(kinds))


def _period(column, zone: str, group: str):
    return func.to_char(func.timezone(zone, column), PERIOD_SQL[group])


def _in_range(stmt, column, zone: str, query: dict):
    start, end = day_range(zone, query["since"], query["until"])
    return stmt.where(column >= start, column < end)


def _facts_by_day(session: Session, chain_id: str, zone: str, query: dict, scope: Scope) -> list:
    """R-3 straight from the facts: for one operator's takings (a cashier's own, or as asked)."""
    # grouped on the truncated local time and written out later: cheaper than to_char on each row
    period = func.date_trunc(query["group"], func.timezone(zone, F.occurred_at)).label("period")
    stmt = select(
        period,
        F.store_id,
        _count("consume").label("consume_count"),
        _sum(F.gross, "consume").label("gross"),
        _sum(F.discount, "consume").label("discount"),
        _sum(F.amount, "consume").label("actual"),
        *(_sum(getattr(F, f"paid_{s}"), "consume").label(f"paid_{s}") for s in ("cash", "bonus", "credit", "external")),
        _count("refund").label("refund_count"),
        _sum(F.amount, "refund").label("refunded"),
        _count("recharge").label("recharge_count"),
        _sum(F.amount, "recharge").label("recharged"),
        _sum(F.bonus, "recharge", "bonus_grant").label("bonus_issued"),
    ).where(F.chain_id == chain_id, F.kind.in_(rollup.KINDS))
    stmt = common.scoped(_in_range(stmt, F.occurred_at, zone, query), scope)
    if query.get("operator_id"):
        stmt = stmt.where(F.operator_id == query["operator_id"])
    return session.execute(stmt.group_by(period, F.store_id).order_by(period, F.store_id)).all()


def _daily_totals(session: Session, chain_id: str, query: dict, scope: Scope) -> list:
    """R-3 from the daily totals kept as facts land: a row per store and day."""
    d = DailyTotals
    period = func.date_trunc(query["group"], cast(d.day, DateTime)).label("period")
    stmt = select(period, d.store_id, *(func.sum(getattr(d, f)).label(f) for f in FIGURES)).where(
        d.chain_id == chain_id, d.day >= query["since"], d.day <= query["until"]
    )
    if scope.stores is not None:
        stmt = stmt.where(d.store_id.in_(scope.stores))
    return session.execute(stmt.group_by(period, d.store_id).order_by(period, d.store_id)).all()


def store_summary(session: Session, chain_id: str, query: dict, scope: Scope) -> dict:
    """R-3: per store and period, consumes (before discount, discount, actual, by source),
    refunds, recharges and bonus issued; `net` is actual less refunded."""
    zone = common.time_zone(session, chain_id)
    if scope.operator_id is None and query.get("operator_id") is None:
        rows = _daily_totals(session, chain_id, query, scope)
    else:
        rows = _facts_by_day(session, chain_id, zone, query, scope)
    names = common.store_names(session, (r.store_id for r in rows))
    items = []
    totals = dict.fromkeys(FIGURES, 0)
    for r in rows:
        figures = {f: int(getattr(r, f)) for f in FIGURES}
        for f in FIGURES:
            totals[f] += figures[f]
        items.append(
            {
                "period": r.period.strftime(PERIOD_PY[query["group"]]),
                "store_id": r.store_id,
                "store_name": names.get(r.store_id, ""),
                **figures,
                "net": figures["actual"] - figures["refunded"],
            }
        )
    totals["net"] = totals["actual"] - totals["refunded"]
    return {**common.head(session, chain_id), "group": query["group"], "rows": items, "totals": totals}


def member_stats(session: Session, chain_id: str, query: dict, scope: Scope) -> dict:
    """R-4: members by home store and tier (now); new members and active members (at least one
    consume) per period."""
    zone = common.time_zone(session, chain_id)
    m, t = MemberCopy, MemberTier
    base = select(m.home_store_id, t.tier_code, func.count().label("members")).outerjoin(t, t.member_id == m.member_id)
    base = base.where(m.chain_id == chain_id, m.enrolled_at.is_not(None))
    if query.get("tier_code"):
        base = base.where(t.tier_code == query["tier_code"])
    if scope.stores is not None:
        base = base.where(m.home_store_id.in_(scope.stores))
    by = session.execute(base.group_by(m.home_store_id, t.tier_code).order_by(m.home_store_id, t.tier_code)).all()
    names = common.store_names(session, (r.home_store_id for r in by))
    new_period = _period(m.enrolled_at, zone, query["group"]).label("period")
    new = select(new_period, func.count()).outerjoin(t, t.member_id == m.member_id).where(m.chain_id == chain_id)
    if query.get("tier_code"):
        new = new.where(t.tier_code == query["tier_code"])
    if scope.stores is not None:
        new = new.where(m.home_store_id.in_(scope.stores))
    new_counts = dict(session.execute(_in_range(new, m.enrolled_at, zone, query).group_by(new_period)).all())
    act_period = _period(F.occurred_at, zone, query["group"]).label("period")
    active = select(act_period, func.count(distinct(F.member_id))).where(F.chain_id == chain_id, F.kind == "consume")
    if query.get("tier_code"):
        active = active.where(F.tier_code == query["tier_code"])
    active = common.scoped(_in_range(active, F.occurred_at, zone, query), scope)
    active_counts = dict(session.execute(active.group_by(act_period)).all())
    periods = sorted(set(new_counts) | set(active_counts))
    return {
        **common.head(session, chain_id),
        "group": query["group"],
        "by_store_and_tier": [
            {
                "store_id": r.home_store_id,
                "store_name": names.get(r.home_store_id, ""),
                "tier_code": r.tier_code,
                "members": int(r.members),
            }
            for r in by
        ],
        "periods": [
            {"period": p, "new_members": int(new_counts.get(p, 0)), "active_members": int(active_counts.get(p, 0))}
            for p in periods
        ],
    }


def rankings(session: Session, chain_id: str, query: dict, scope: Scope) -> dict:
    """R-5: members by what they consumed in the range, net of refunds, most first."""
    zone = common.time_zone(session, chain_id)
    consumed = (_sum(F.amount, "consume") - _sum(F.amount, "refund")).label("consumed")
    stmt = select(F.member_id, _count("consume").label("consume_count"), consumed).where(
        F.chain_id == chain_id, F.kind.in_(("consume", "refund")), F.member_id.is_not(None)
    )
    if query.get("tier_code"):
        stmt = stmt.where(
            F.member_id.in_(select(MemberTier.member_id).where(MemberTier.tier_code == query["tier_code"]))
        )
    stmt = common.scoped(_in_range(stmt, F.occurred_at, zone, query), scope)
    rows = session.execute(
        stmt.group_by(F.member_id).order_by(consumed.desc(), F.member_id).limit(query["limit"])
    ).all()
    members = _members(session, [r.member_id for r in rows])
    return {
        **common.head(session, chain_id),
        "by_consumption": [
            {
                "rank": i,
                "member_id": r.member_id,
                **members.get(r.member_id, {"member_no": "", "member_name": "", "tier_code": None}),
                "consume_count": int(r.consume_count),
                "consumed": int(r.consumed),
            }
            for i, r in enumerate(rows, start=1)
        ],
    }


def points_rankings(session: Session, chain_id: str, query: dict, scope: Scope) -> dict:
    """R-5 by points: members by the points they earned in the range (every kind of
    `points.earned`), less what refunds reversed, most first. A reversal counts at the store of
    the consume it took back from."""
    zone = common.time_zone(session, chain_id)
    store = func.coalesce(P.store_id, select(F.store_id).where(F.tx_id == P.consume_id).scalar_subquery())
    earned = func.coalesce(func.sum(P.points).filter(P.kind != "reverse"), 0).label("points_earned")
    taken = func.coalesce(func.sum(P.points).filter(P.kind == "reverse"), 0).label("points_reversed")
    total = func.sum(P.points).label("points")
    stmt = select(P.member_id, earned, taken, total).where(P.chain_id == chain_id)
    if query.get("tier_code"):
        stmt = stmt.where(
            P.member_id.in_(select(MemberTier.member_id).where(MemberTier.tier_code == query["tier_code"]))
        )
    stmt = common.scoped(_in_range(stmt, P.occurred_at, zone, query), scope, store_column=store)
    rows = session.execute(stmt.group_by(P.member_id).order_by(total.desc(), P.member_id).limit(query["limit"])).all()
    members = _members(session, [r.member_id for r in rows])
    return {
        **common.head(session, chain_id),
        "by_points": [
            {
                "rank": i,
                "member_id": r.member_id,
                **members.get(r.member_id, {"member_no": "", "member_name": "", "tier_code": None}),
                "points_earned": int(r.points_earned),
                "points_reversed": int(r.points_reversed),
                "points": int(r.points),
            }
            for i, r in enumerate(rows, start=1)
        ],
    }


def _members(session: Session, ids: list[str]) -> dict[str, dict]:
    if not ids:
        return {}
    rows = session.execute(
        select(MemberCopy.member_id, MemberCopy.member_no, MemberCopy.name, MemberTier.tier_code)
        .outerjoin(MemberTier, MemberTier.member_id == MemberCopy.member_id)
        .where(MemberCopy.member_id.in_(ids))
    ).all()
    return {r.member_id: {"member_no": r.member_no, "member_name": r.name, "tier_code": r.tier_code} for r in rows}


def employees(session: Session, chain_id: str, query: dict, scope: Scope) -> dict:
    """R-7: per serving employee, consumes served, service units and sales net of refunds, and
    the commission of their level (HQ's rules). A refund counts against whoever served its
    consume, in the refund's period."""
    zone = common.time_zone(session, chain_id)
    consume = aliased(F)
    employee = func.coalesce(F.serving_employee_id, consume.serving_employee_id).label("employee_id")
    facts = (
        select(F.tx_id, F.kind, F.amount, F.ref_tx_id, employee)
        .outerjoin(consume, and_(F.kind == "refund", consume.tx_id == F.ref_tx_id))
        .where(F.chain_id == chain_id, F.kind.in_(("consume", "refund")))
        .where(or_(F.serving_employee_id.is_not(None), consume.serving_employee_id.is_not(None)))
    )
    facts = common.scoped(_in_range(facts, F.occurred_at, zone, query), scope)
    if query.get("operator_id"):
        facts = facts.where(employee == query["operator_id"])
    facts = facts.subquery()
    sign = case((facts.c.kind == "refund", -1), else_=1)
    totals = session.execute(
        select(
            facts.c.employee_id,
            func.count().filter(facts.c.kind == "consume").label("consume_count"),
            func.sum(sign * facts.c.amount).label("sales"),
        ).group_by(facts.c.employee_id)
    ).all()
    # service units per item: a consume's lines, less the quantities its refunds gave back
    line_of = aliased(FactLine)
    item = func.coalesce(FactLine.item_code, line_of.item_code)
    units = session.execute(
        select(facts.c.employee_id, item, func.sum(sign * FactLine.quantity))
        .join(FactLine, FactLine.tx_id == facts.c.tx_id)
        .outerjoin(line_of, and_(line_of.tx_id == facts.c.ref_tx_id, line_of.line_no == FactLine.line_no))
        .group_by(facts.c.employee_id, item)
    ).all()
    return {**common.head(session, chain_id), "rows": _commissions(session, chain_id, totals, units)}


def _commissions(session: Session, chain_id: str, totals: list, units: list) -> list[dict]:
    served: dict[str, dict[str, int]] = {}
    for employee_id, item, quantity in units:
        served.setdefault(employee_id, {})[item] = int(quantity or 0)
    staff = {
        s.staff_id: s
        for s in session.execute(select(StaffCopy).where(StaffCopy.staff_id.in_([t.employee_id for t in totals])))
        .scalars()
        .all()
    }
    rules = {
        r.level: r
        for r in session.execute(select(CommissionRule).where(CommissionRule.chain_id == chain_id)).scalars().all()
    }
    rows = []
    for t in sorted(totals, key=lambda t: t.employee_id):
        person = staff.get(t.employee_id)
        level = person.level if person else ""
        rule = rules.get(level)
        sales, items = int(t.sales or 0), served.get(t.employee_id, {})
        on_sales, fixed = commission(sales, items, rule.sales_bp, rule.item_fixed) if rule else (0, 0)
        rows.append(
            {
                "employee_id": t.employee_id,
                "employee_name": person.display_name if person else "",
                "level": level,
                "consume_count": int(t.consume_count),
                "services": sum(items.values()),
                "sales": sales,
                "commission_sales": on_sales,
                "commission_fixed": fixed,
                "commission": on_sales + fixed,
            }
        )
    return rows
