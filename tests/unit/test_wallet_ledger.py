"""The ledger's pure rules: legs balance, lots are spent oldest first and refilled last first."""

from datetime import UTC

from services.wallet import ledger, limits, refunds


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
