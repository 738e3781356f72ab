"""The reports' rules, without a database: periods, settlement netting (R-8), commission (R-7).

Plain functions over plain values, unit tested with worked numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# how a period is written: to_char formats in SQL, strftime here
PERIOD_SQL = {"day": "YYYY-MM-DD", "month": "YYYY-MM"}
PERIOD_PY = {"day": "%Y-%m-%d", "month": "%Y-%m"}


def day_range(zone: str, first: date, last: date) -> tuple[datetime, datetime]:
    """The instants (UTC) from the start of `first` to the end of `last` in the chain's zone."""
    start = datetime.combine(first, time.min, ZoneInfo(zone)).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, ZoneInfo(zone)).astimezone(UTC)
    return start, end


def period_of(instant: datetime, zone: str, group: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime(PERIOD_PY[group])


def net_settlement(flows: Iterable[tuple[str, str, str, int]]) -> list[tuple[str, str, str, int]]:
    """R-8: (period, cash store, spending store, amount spent) flows netted per pair and period
    into (period, debtor, creditor, amount owed). Store B spending 300 of A's cash and A spending
    100 of B's in one month: B owes A 200. A pair that cancels out owes nothing and is left out."""
    pairs: dict[tuple[str, str, str], int] = {}
    for period, cash_store, spending_store, amount in flows:
        if cash_store == spending_store or not amount:
            continue
        low, high = sorted((cash_store, spending_store))
        # positive: `high` owes `low`
        sign = 1 if cash_store == low else -1
        pairs[(period, low, high)] = pairs.get((period, low, high), 0) + sign * amount
    rows = []
    for (period, low, high), owed in sorted(pairs.items()):
        if owed > 0:
            rows.append((period, high, low, owed))
        elif owed < 0:
            rows.append((period, low, high, -owed))
    return rows


def half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half up (amounts here are never negative before a refund nets
    them, so half away from zero for negatives)."""
    sign = -1 if numerator < 0 else 1
    return sign * ((abs(numerator) * 2 + denominator) // (2 * denominator))


def commission(
    sales: int, services: Mapping[str, int], sales_bp: int, item_fixed: Mapping[str, int]
) -> tuple[int, int]:
    """R-7: (on sales, fixed per service). `sales` in fen net of refunds, `services` the units of
    each item served net of refunds; `sales_bp` basis points of sales, rounded half up to the fen;
    `item_fixed` fen per unit of an item. 12,345 fen of sales at 5 % is 617 fen (617.25); three
    washes at 200 fen and one polish at 1,500 is 2,100."""
    on_sales = half_up(sales * sales_bp, 10000)
    fixed = sum(units * item_fixed.get(item, 0) for item, units in services.items())
    return on_sales, fixed
