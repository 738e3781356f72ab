"""HQ's dashboard: today, this month, by store, top members, liability now and over the last
30 days, and the chain's takings per day, from the same queries as the reports."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from services.kit import clock
from services.reporting import books, common, summary
from services.reporting.models import LotMove
from services.reporting.rules import PERIOD_SQL, day_range
from services.reporting.scope import Scope

DAYS = 30
TOP = 5


def liability_by_day(session: Session, chain_id: str, zone: str, first: date, last: date) -> list[dict]:
    """Cash and bonus owed at the end of each day from `first` to `last`: what was owed before
    `first`, then each day's moves added on."""
    start, end = day_range(zone, first, last)
    before = session.execute(
        select(LotMove.kind, func.sum(LotMove.amount))
        .where(LotMove.chain_id == chain_id, LotMove.occurred_at < start)
        .group_by(LotMove.kind)
    ).all()
    owed = {"cash": 0, "bonus": 0} | {kind: int(total) for kind, total in before}
    day = func.to_char(func.timezone(zone, LotMove.occurred_at), PERIOD_SQL["day"])
    moves: dict[str, dict[str, int]] = {}
    for period, cash, bonus in session.execute(
        select(
            day,
            func.sum(case((LotMove.kind == "cash", LotMove.amount), else_=0)),
            func.sum(case((LotMove.kind == "bonus", LotMove.amount), else_=0)),
        )
        .where(LotMove.chain_id == chain_id, LotMove.occurred_at >= start, LotMove.occurred_at < end)
        .group_by(day)
    ):
        moves[period] = {"cash": int(cash), "bonus": int(bonus)}
    series = []
    for offset in range((last - first).days + 1):
        period = (first + timedelta(days=offset)).isoformat()
        for kind in ("cash", "bonus"):
            owed[kind] += moves.get(period, {}).get(kind, 0)
        series.append({"date": period, **owed})
    return series


def dashboard(session: Session, chain_id: str) -> dict:
    zone = common.time_zone(session, chain_id)
    today = clock.today(zone)
    first_of_month, first_day = today.replace(day=1), today - timedelta(days=DAYS - 1)
    chain = Scope(None, None)
    now = summary.store_summary(session, chain_id, {"since": today, "until": today, "group": "day"}, chain)
    month = summary.store_summary(session, chain_id, {"since": first_of_month, "until": today, "group": "month"}, chain)
    daily = summary.store_summary(session, chain_id, {"since": first_day, "until": today, "group": "day"}, chain)
    per_day: dict[str, dict] = {}
    for row in daily["rows"]:
        figures = per_day.setdefault(row["period"], {"period": row["period"], "actual": 0, "net": 0, "recharged": 0})
        for field in ("actual", "net", "recharged"):
            figures[field] += row[field]
    top = summary.rankings(
        session, chain_id, {"since": first_of_month, "until": today, "tier_code": None, "limit": TOP}, chain
    )
    owed = books.liability(session, chain_id, today, chain)
    return {
        **common.head(session, chain_id),
        "date": today.isoformat(),
        "today": now["totals"],
        "month": month["totals"],
        "by_store": month["rows"],
        "top_members": top["by_consumption"],
        "liability": {"stores": owed["stores"], "chain": owed["chain"]},
        "daily": [per_day[p] for p in sorted(per_day)],
        "liability_daily": liability_by_day(session, chain_id, zone, first_day, today),
    }
