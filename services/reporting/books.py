"""R-8 from the lot moves the wallet's events carry: stored-value liability per store at the end
of any date (W-11), the same sums the wallet makes, and inter-store settlement netted per pair
of stores and period."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.kit import clock
from services.reporting import common
from services.reporting.models import LotMove
from services.reporting.rules import PERIOD_SQL, day_range, net_settlement
from services.reporting.scope import Scope


def liability(session: Session, chain_id: str, day: date | None, scope: Scope) -> dict:
    """Cash and bonus owed to members at the end of `day` (today if None), by the store that
    took the money in; `chain` sums the stores shown."""
    zone = common.time_zone(session, chain_id)
    day = day or clock.today(zone)
    _, end = day_range(zone, day, day)
    stmt = select(LotMove.lot_store_id, LotMove.kind, func.sum(LotMove.amount)).where(
        LotMove.chain_id == chain_id, LotMove.occurred_at < end
    )
    if scope.stores is not None:
        stmt = stmt.where(LotMove.lot_store_id.in_(scope.stores))
    stores: dict[str, dict] = {}
    for store_id, kind, total in session.execute(stmt.group_by(LotMove.lot_store_id, LotMove.kind)):
        stores.setdefault(store_id, {"store_id": store_id, "cash": 0, "bonus": 0})[kind] = int(total)
    names = common.store_names(session, stores)
    rows = [{**s, "store_name": names.get(s["store_id"], "")} for _, s in sorted(stores.items())]
    return {
        **common.head(session, chain_id),
        "date": day.isoformat(),
        "stores": rows,
        "chain": {"cash": sum(r["cash"] for r in rows), "bonus": sum(r["bonus"] for r in rows)},
    }


def settlement(session: Session, chain_id: str, query: dict, scope: Scope) -> dict:
    """Cash recharged at one store and spent (net of refunds) or paid back at another: per
    period, who owes whom, netted per pair. A caller scoped to some stores sees the pairs
    that involve one of them."""
    zone = common.time_zone(session, chain_id)
    start, end = day_range(zone, query["since"], query["until"])
    period = func.to_char(func.timezone(zone, LotMove.occurred_at), PERIOD_SQL[query["group"]]).label("period")
    stmt = (
        select(period, LotMove.lot_store_id, LotMove.store_id, func.sum(LotMove.amount))
        .where(
            LotMove.chain_id == chain_id,
            LotMove.kind == "cash",
            LotMove.store_id.is_not(None),
            LotMove.lot_store_id != LotMove.store_id,
            LotMove.occurred_at >= start,
            LotMove.occurred_at < end,
        )
        .group_by(period, LotMove.lot_store_id, LotMove.store_id)
    )
    # a move out of a lot is negative: spent at the store is its opposite
    flows = [(p, cash_store, spent_at, -int(total)) for p, cash_store, spent_at, total in session.execute(stmt)]
    netted = [row for row in net_settlement(flows) if scope.stores is None or {row[1], row[2]} & set(scope.stores)]
    names = common.store_names(session, [s for row in netted for s in row[1:3]])
    return {
        **common.head(session, chain_id),
        "group": query["group"],
        "rows": [
            {
                "period": p,
                "debtor_store_id": debtor,
                "debtor_store_name": names.get(debtor, ""),
                "creditor_store_id": creditor,
                "creditor_store_name": names.get(creditor, ""),
                "amount": amount,
            }
            for p, debtor, creditor, amount in netted
        ],
    }
