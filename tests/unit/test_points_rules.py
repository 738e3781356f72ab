"""Earning rules with worked numbers (P-1, P-2, P-5): no framework, no database."""

from datetime import UTC, date, datetime
from fractions import Fraction

from services.points import rules as r

WASH = r.Line(1, "W01", "wash", 20000)  # 200 yuan due
SATURDAY = datetime(2026, 5, 2, 10, 0)  # a local moment
CASH = {"cash": 20000, "bonus": 0, "credit": 0, "external": 0}


def double_points(**kw) -> r.PromotionTerms:
    return r.PromotionTerms("double", date(2026, 5, 1), date(2026, 5, 31), multiplier=Fraction(2), **kw)


def test_gold_member_paying_200_yuan_cash_during_double_points_earns_600():
    rules = r.RuleSet(tier_multipliers={"GOLD": Fraction(3, 2)})
    share = r.earning_share(CASH, 20000, rules.bonus_earns)
    earned = r.earn(rules, [double_points()], [WASH], share, "GOLD", 0, "s1", SATURDAY)
    assert (earned.total, earned.lines, earned.promotion_id) == (600, {1: 600}, "double")


def test_half_paid_from_bonus_earns_on_the_cash_half_only_unless_the_chain_says_so():
    paid = {"cash": 10000, "bonus": 10000, "credit": 0, "external": 0}
    assert r.earning_share(paid, 20000, bonus_earns=False) == Fraction(1, 2)
    assert r.earning_share(paid, 20000, bonus_earns=True) == 1
    earned = r.earn(r.RuleSet(), [], [WASH], r.earning_share(paid, 20000, False), "STANDARD", 0, None, SATURDAY)
    assert earned.total == 100


def test_the_best_promotion_applies_not_the_product_of_all():
    triple_wash = r.PromotionTerms(
        "wash3", date(2026, 5, 1), date(2026, 5, 1), categories=frozenset({"wash"}), multiplier=Fraction(3)
    )
    extra_500 = r.PromotionTerms("extra", date(2026, 5, 1), date(2026, 5, 31), extra_points=500)
    oil = r.Line(2, "OIL", "oil", 10000)
    # 200 + 100 base; double everything adds 300; triple wash adds 400; the fixed extra adds 500
    earned = r.earn(r.RuleSet(), [double_points(), triple_wash, extra_500], [WASH, oil], 1, "X", 0, None, SATURDAY)
    assert (earned.total, earned.promotion_id) == (800, "extra")
    # on the 2nd the triple-wash promotion is over: double wins over nothing? no, 500 extra still wins
    earned = r.earn(r.RuleSet(), [double_points(), triple_wash], [WASH, oil], 1, "X", 0, None, SATURDAY)
    assert (earned.total, earned.lines, earned.promotion_id) == (600, {1: 400, 2: 200}, "double")


def test_a_promotion_keeps_to_its_days_stores_and_items():
    weekends = double_points(weekdays=frozenset({6, 7}), store_ids=frozenset({"s1"}), item_codes=frozenset({"W01"}))
    assert r.earn(r.RuleSet(), [weekends], [WASH], 1, "X", 0, "s1", SATURDAY).total == 400
    assert r.earn(r.RuleSet(), [weekends], [WASH], 1, "X", 0, "s2", SATURDAY).total == 200  # another store
    assert r.earn(r.RuleSet(), [weekends], [WASH], 1, "X", 0, "s1", datetime(2026, 5, 4, 10)).total == 200  # Monday
    assert r.earn(r.RuleSet(), [weekends], [r.Line(1, "W02", "wash", 20000)], 1, "X", 0, "s1", SATURDAY).total == 200
    assert r.earn(r.RuleSet(), [weekends], [WASH], 1, "X", 0, "s1", datetime(2026, 6, 6, 10)).total == 200  # June


def test_category_rates_spend_levels_and_rounding_down_once_at_the_end():
    rules = r.RuleSet(
        base_rate=Fraction(1),
        category_rates={"oil": Fraction(1, 2)},
        spend_levels=((100000, Fraction(1)), (200000, Fraction(3, 2)), (500000, Fraction(2))),
    )
    lines = [r.Line(1, "W01", "wash", 999), r.Line(2, "OIL", "oil", 999)]  # 9.99 + 4.995 = 14.985
    assert r.earn(rules, [], lines, 1, "X", 0, None, SATURDAY).total == 14  # not 9 + 4 = 13
    # this year's spend 2500 yuan: level 1.5 -> 22.4775 -> 22, shared 15 / 7 by the largest remainder
    earned = r.earn(rules, [], lines, 1, "X", 250000, None, SATURDAY)
    assert (earned.total, earned.lines) == (22, {1: 15, 2: 7})
    assert r.level_multiplier(rules.spend_levels, 99999) == 1
    assert r.level_multiplier(rules.spend_levels, 500000) == 2


def test_refunds_of_all_parts_reverse_exactly_what_was_earned():
    # a line of 3 items, 1000 fen, earned 7 points: refunded one item at a time (333, 333, 334)
    after = [r.reversed_after(7, 1000, refunded) for refunded in (333, 666, 1000)]
    assert after == [2, 4, 7]
    assert r.reversed_after(600, 20000, 10000) == 300  # half of 600


def test_expiry_and_yearly_reset_are_local_days():
    zone = "Asia/Shanghai"
    earned = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)  # already 1 February in Shanghai
    assert r.expires_at(zone, earned, 12) == datetime(2027, 1, 31, 16, 0, tzinfo=UTC)  # 2027-02-01 00:00 local
    assert r.expires_at(zone, earned, None) is None
    now = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert r.last_reset(zone, now, 1, 1) == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert r.last_reset(zone, now, 6, 1) == datetime(2025, 5, 31, 16, 0, tzinfo=UTC)
    assert r.next_reset_day(zone, now, 6, 1) == date(2026, 6, 1)
    assert r.last_reset(zone, now, None, None) is None
    assert r.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
