"""The worked examples of DOMAIN W-3 and W-4, end to end through the HTTP API."""

import pytest

from tests.helpers import ok
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def w(admin):
    return wallet_world(admin)


def test_recharge_1000_yuan_at_silver_gives_the_configured_bonus(w):
    card = w.card()
    answer = ok(w.recharge(card["card_no"], 100000, remark="开卡充值"), 201)
    assert answer["amount"] == 100000 and answer["bonus"] == 5000
    assert answer["kind"] == "recharge" and answer["payment_method"] == "cash"
    assert answer["card"]["card_no"] == card["card_no"] and answer["card"]["tier_code"] == "WSILVER"
    assert answer["balances"] == {
        "cash": 100000,
        "bonus": 5000,
        "credit_limit": 0,
        "credit_used": 0,
        "credit_available": 0,
    }
    assert w.balances(card["card_no"]) == answer["balances"]


def test_highest_threshold_reached_applies(w):
    card = w.card()
    assert ok(w.recharge(card["card_no"], 99999), 201)["bonus"] == 2000
    assert ok(w.recharge(card["card_no"], 300000), 201)["bonus"] == 24000  # 8 % rate
    assert ok(w.recharge(card["card_no"], 100), 201)["bonus"] == 0
    assert w.balances(card["card_no"])["bonus"] == 26000


def test_a_120_yuan_wash_at_10_percent_takes_108_yuan_from_cash_first(w):
    card = w.card()
    ok(w.recharge(card["card_no"], 100000), 201)
    answer = ok(w.consume(card["card_no"], [WASH]), 201)
    assert (answer["gross"], answer["discount"], answer["amount_due"]) == (12000, 1200, 10800)
    assert answer["paid"] == {"cash": 10800, "bonus": 0, "credit": 0, "external": 0}
    line = answer["lines"][0]
    assert (line["gross"], line["discount_bp"], line["discount"], line["net"]) == (12000, 1000, 1200, 10800)
    assert answer["balances"]["cash"] == 89200 and answer["balances"]["bonus"] == 5000
    assert answer["cumulative_spend"] == 10800


def test_once_cash_is_gone_the_wash_is_paid_from_bonus(w):
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 5000), 201)
    ok(
        w.manager_a.post(
            w.path("/bonus-grants"), {"card_no": no, "store_id": w.store_a, "amount": 20000, "reason": "compensation"}
        ),
        201,
    )
    first = ok(w.consume(no, [WASH]), 201)
    assert first["paid"] == {"cash": 5000, "bonus": 5800, "credit": 0, "external": 0}
    second = ok(w.consume(no, [WASH]), 201)
    assert second["paid"] == {"cash": 0, "bonus": 10800, "credit": 0, "external": 0}
    assert w.balances(no) == {"cash": 0, "bonus": 3400, "credit_limit": 0, "credit_used": 0, "credit_available": 0}


def test_several_lines_round_per_line_half_up(w):
    card = w.card()
    ok(w.recharge(card["card_no"], 100000), 201)
    lines = [
        {"item_code": "PAD", "category": "parts", "quantity": 3, "unit_price": 333},  # 999 at 5 % = 49.95 -> 50
        {"item_code": "OIL", "category": "oil", "quantity": 1, "unit_price": 25000},  # no discount for oil
        WASH,
    ]
    answer = ok(w.consume(card["card_no"], lines), 201)
    assert [line["discount"] for line in answer["lines"]] == [50, 0, 1200]
    assert answer["gross"] == 999 + 25000 + 12000 and answer["discount"] == 1250
    assert answer["amount_due"] == 37999 - 1250


def test_the_chains_own_silver_tier_gives_50_yuan_on_1000(w):
    card = w.card(tier_code="SILVER")
    answer = ok(w.recharge(card["card_no"], 100000), 201)
    assert (answer["amount"], answer["bonus"]) == (100000, 5000)
