"""The reports' rules without a database: settlement netting, commission, periods, scope."""

from datetime import UTC, date, datetime

import pytest

from contracts.auth import Actor
from contracts.errors import Forbidden, NotFound
from services.reporting.rules import commission, day_range, half_up, net_settlement, period_of
from services.reporting.scope import scope_of

A, B, C = "a" * 8, "b" * 8, "c" * 8
CHAIN = "00000000-0000-4000-8000-000000000001"
TODAY = date(2026, 11, 25)


def test_settlement_nets_each_pair_per_period():
    """B spent 300 of A's cash and A 100 of B's in November: B owes A 200; in December A spent
    50 of B's: A owes B 50; C spent 70 of A's and gave 70 back: nothing."""
    flows = [
        ("2026-11", A, B, 300),
        ("2026-11", B, A, 100),
        ("2026-12", B, A, 50),
        ("2026-11", A, C, 70),
        ("2026-11", A, C, -70),
        ("2026-11", A, A, 999),  # spent where it was taken in: no one owes anyone
    ]
    assert net_settlement(flows) == [("2026-11", B, A, 200), ("2026-12", A, B, 50)]


def test_commission_percent_half_up_and_fixed_per_unit():
    assert commission(12345, {"WASH": 3, "POLISH": 1}, 500, {"WASH": 200, "POLISH": 1500}) == (617, 2100)
    assert commission(10, {}, 2500, {}) == (3, 0)  # 2.5 fen rounds up
    assert commission(0, {"OIL": 2}, 500, {}) == (0, 0)  # no rule for the item: nothing fixed
    assert half_up(-25, 10) == -3 and half_up(24, 10) == 2


def test_days_and_months_are_the_chains_own():
    """23:30 UTC on 31 October is already 1 November in Shanghai."""
    late = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    assert period_of(late, "Asia/Shanghai", "day") == "2026-11-01"
    assert period_of(late, "Asia/Shanghai", "month") == "2026-11"
    assert period_of(late, "UTC", "month") == "2026-10"
    start, end = day_range("Asia/Shanghai", date(2026, 11, 1), date(2026, 11, 30))
    assert (start, end) == (datetime(2026, 10, 31, 16, tzinfo=UTC), datetime(2026, 11, 30, 16, tzinfo=UTC))


def actor(role: str, stores: tuple[str, ...] = (), chain: str = CHAIN) -> Actor:
    return Actor("11111111-1111-4111-8111-111111111111", chain, role, stores)


def test_scope_by_role():
    days = (TODAY, TODAY)
    assert scope_of(actor("hq_admin"), CHAIN, "store-summary", None, days, TODAY).stores is None
    assert scope_of(actor("hq_admin"), CHAIN, "store-summary", B, days, TODAY).stores == (B,)
    assert scope_of(actor("franchisee", (A, C)), CHAIN, "liability", None, None, TODAY).stores == (A, C)
    manager = scope_of(actor("store_manager", (A,)), CHAIN, "employees", None, days, TODAY)
    assert (manager.stores, manager.operator_id) == ((A,), None)
    with pytest.raises(NotFound):
        scope_of(actor("store_manager", (A,)), CHAIN, "store-summary", B, days, TODAY)
    with pytest.raises(NotFound):
        scope_of(actor("hq_admin", chain="another"), CHAIN, "store-summary", None, days, TODAY)


def test_a_cashier_sees_only_their_own_takings_of_today():
    cashier = actor("cashier", (A,))
    own = scope_of(cashier, CHAIN, "consumptions", None, (TODAY, TODAY), TODAY)
    assert (own.stores, own.operator_id) == ((A,), cashier.staff_id)
    with pytest.raises(Forbidden):
        scope_of(cashier, CHAIN, "consumptions", None, (date(2026, 11, 24), TODAY), TODAY)
    with pytest.raises(Forbidden):
        scope_of(cashier, CHAIN, "liability", None, None, TODAY)


def test_an_export_takes_the_reports_filters_without_its_paging():
    from contracts.base import load
    from contracts.errors import ValidationFailed
    from contracts.reporting import DetailQuery, RankingQuery, export_query

    day = {"since": "2026-11-01", "until": "2026-11-30", "format": "xlsx"}
    assert load(export_query(RankingQuery), {**day, "limit": "5"})["limit"] == 5
    with pytest.raises(ValidationFailed) as refused:
        load(export_query(DetailQuery), {**day, "limit": "5"})
    assert refused.value.fields == {"limit": ["Unknown field."]}
    with pytest.raises(ValidationFailed) as backwards:
        load(export_query(DetailQuery), {**day, "until": "2026-10-01"})
    assert "until" in backwards.value.fields
