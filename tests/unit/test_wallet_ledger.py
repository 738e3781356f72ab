"""The ledger's pure rules: legs balance, lots are spent oldest first and refilled last first."""

from datetime import UTC

import pytest

from services.wallet import ledger, limits, lots, refunds


def test_legs_merge_per_account_and_drop_zeros():
    assert ledger.net_legs([(1, 10000), (2, -10000), (3, 0), (1, 500), (4, -500)]) == {1: 10500, 2: -10000, 4: -500}


def test_unbalanced_legs_never_reach_the_database():
    with pytest.raises(ledger.Unbalanced):
        ledger.net_legs([(1, 10000), (2, -9999)])


def test_amounts_must_be_integer_fen():
    with pytest.raises(TypeError):
        ledger.net_legs([(1, 10.0), (2, -10.0)])


def test_member_view_reports_credit_as_used_and_available():
    member = ledger.MemberAccounts(
        "c",
        "m",
        {"member_cash": 1, "member_bonus": 2, "member_credit": 3},
        cash=100,
        bonus=50,
        credit_balance=-300,
        credit_limit=1000,
        wallet_status="open",
        cumulative_spend=0,
    )
    assert member.balances() == {
        "cash": 100,
        "bonus": 50,
        "credit_limit": 1000,
        "credit_used": 300,
        "credit_available": 700,
    }
    member.apply({1: 40, 3: -500})
    assert (member.cash, member.credit_used) == (40, 500)


def test_lots_are_taken_oldest_first():
    assert lots.take_fifo([(1, 3000), (2, 5000), (3, 100)], 6000) == [(1, 3000), (2, 3000)]
    with pytest.raises(ValueError):
        lots.take_fifo([(1, 10)], 11)


def test_refund_refills_the_last_lot_taken_first_and_overflows_to_a_new_lot():
    assert lots.give_back([(1, 3000), (2, 3000)], 4000) == [(2, 3000), (1, 1000)]
    assert lots.give_back([(1, 100)], 150) == [(1, 100), (0, 50)]


def test_credit_refund_after_settlement_becomes_cash():
    assert refunds.credit_back(2000, 2000) == (2000, 0)
    assert refunds.credit_back(2000, 500) == (500, 1500)


def test_limits_per_purchase_and_per_day():
    assert limits.breach(10000, None, None, 0) is None
    assert limits.breach(10000, 10000, None, 0) is None
    assert "per purchase" in limits.breach(10001, 10000, None, 0)["amount_due"][0]
    assert limits.breach(5000, None, 20000, 15000) is None
    assert "remaining limit of 5000" in limits.breach(5001, None, 20000, 15000)["amount_due"][0]


def test_the_chain_day_begins_at_local_midnight():
    from datetime import date, datetime

    from services.wallet import common

    start, end = common.day_range("Asia/Shanghai", date(2026, 3, 1), date(2026, 3, 1))
    assert start == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert common.local_date("Asia/Shanghai", datetime(2026, 2, 28, 16, 30, tzinfo=UTC)) == date(2026, 3, 1)


def test_the_stricter_of_tier_and_card_limit_applies():
    assert limits.stricter(None, None) is None
    assert limits.stricter(50000, None) == 50000
    assert limits.stricter(None, 20000) == 20000
    assert limits.stricter(50000, 20000) == 20000
    assert limits.stricter(0, 20000) == 0  # a limit of 0 fen stops spending from the card
