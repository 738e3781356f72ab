"""Pure money arithmetic of the wallet: W-3 bonus rules, W-4 discounts and the payment split."""

import pytest

from services.wallet import pricing

SILVER = {
    "default_discount_bp": 0,
    "category_discounts": {"wash": 1000, "parts": 500},
    "recharge_bonus_rules": [
        {"threshold": 50000, "bonus_fixed": 2000, "bonus_rate_bp": None},
        {"threshold": 100000, "bonus_fixed": 5000, "bonus_rate_bp": None},
        {"threshold": 300000, "bonus_fixed": None, "bonus_rate_bp": 800},
    ],
}


def test_half_up_rounds_half_a_fen_up_and_less_down():
    assert pricing.half_up(12000, 1000) == 1200
    assert pricing.half_up(5, 1000) == 1  # 0.5 fen -> 1
    assert pricing.half_up(4, 1000) == 0  # 0.4 fen -> 0
    assert pricing.half_up(333, 1500) == 50  # 49.95 -> 50


def test_wash_of_120_yuan_at_ten_percent_costs_108_yuan():
    line = pricing.price_lines([{"quantity": 1, "unit_price": 12000, "category": "wash"}], SILVER)[0]
    assert (line.gross, line.discount_bp, line.discount, line.net) == (12000, 1000, 1200, 10800)


def test_discount_is_rounded_once_per_line_not_per_unit():
    # 3 x 3.33 yuan at 15 %: 999 * 0.15 = 149.85 -> 150 (per unit it would be 3 x 50 = 150 too, but 3 x 0.4995...)
    line = pricing.price_line(1, 3, 333, 1500)
    assert line.gross == 999 and line.discount == 150 and line.net == 849
    odd = pricing.price_line(1, 3, 5, 1000)  # 15 fen at 10 % = 1.5 -> 2 (per unit: 3 x 0.5 -> 3 x 1 = 3)
    assert odd.discount == 2


def test_category_discount_overrides_default():
    tier = {"default_discount_bp": 300, "category_discounts": {"wash": 1000}}
    assert pricing.discount_bp(tier, "wash") == 1000
    assert pricing.discount_bp(tier, "oil") == 300
    assert pricing.discount_bp({}, "oil") == 0


def test_split_takes_cash_first_then_bonus_then_credit():
    split, short = pricing.split_payment(10800, {"cash": 100000, "bonus": 5000})
    assert split.as_dict() == {"cash": 10800, "bonus": 0, "credit": 0, "external": 0} and short == 0
    split, short = pricing.split_payment(10800, {"cash": 3000, "bonus": 5000, "credit": 10000})
    assert (split.cash, split.bonus, split.credit, short) == (3000, 5000, 2800, 0)


def test_split_once_cash_is_gone_takes_bonus():
    split, short = pricing.split_payment(10800, {"cash": 0, "bonus": 15000})
    assert (split.cash, split.bonus, short) == (0, 10800, 0)


def test_split_reports_what_the_card_cannot_cover():
    split, short = pricing.split_payment(10800, {"cash": 5000, "bonus": 1000})
    assert (split.cash, split.bonus, split.credit, short) == (5000, 1000, 0, 4800)
    assert split.from_card == 6000


def test_credit_is_used_only_when_offered():
    split, short = pricing.split_payment(500, {"cash": 0, "bonus": 0})
    assert split.credit == 0 and short == 500


def test_split_refuses_negative_due():
    with pytest.raises(ValueError):
        pricing.split_payment(-1, {"cash": 10})


@pytest.mark.parametrize(
    ("amount", "bonus"),
    [(49999, 0), (50000, 2000), (99999, 2000), (100000, 5000), (299999, 5000), (300000, 24000), (500000, 40000)],
)
def test_highest_threshold_reached_gives_the_bonus(amount, bonus):
    assert pricing.recharge_bonus(amount, SILVER["recharge_bonus_rules"]) == bonus


def test_rate_bonus_is_rounded_half_up():
    assert pricing.recharge_bonus(12345, [{"threshold": 0, "bonus_fixed": None, "bonus_rate_bp": 250}]) == 309


def test_share_adds_up_to_the_whole():
    # a 300-yuan package of 7 uses: six uses at floor, the last takes what is left
    remaining_value, remaining_count, taken = 30000, 7, []
    while remaining_count:
        part = pricing.share(remaining_value, 1, remaining_count)
        taken.append(part)
        remaining_value -= part
        remaining_count -= 1
    assert sum(taken) == 30000 and remaining_value == 0
    assert taken[0] == 4285


def test_refund_goes_back_in_reverse_order_and_never_exceeds_a_source():
    paid = {"cash": 5000, "bonus": 3000, "credit": 2000, "external": 800}
    first = pricing.refund_allocation(1000, paid, {})
    assert first.as_dict() == {"cash": 0, "bonus": 0, "credit": 200, "external": 800}
    second = pricing.refund_allocation(6000, paid, first.as_dict())
    assert second.as_dict() == {"cash": 1200, "bonus": 3000, "credit": 1800, "external": 0}
    with pytest.raises(ValueError):
        pricing.refund_allocation(10000, paid, {"cash": 1200, "bonus": 3000, "credit": 2000, "external": 800})
