"""Pure member rules: check digits, masking, normalisation, tiers (M-1, M-2, M-6, M-7, W-3)."""

from datetime import date

import pytest

from contracts.errors import ValidationFailed
from services.member import card_numbers, pii, rules
from services.member.rules import TierStep
from services.wallet import pricing

KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
INDEX_KEY = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="


# ---- Luhn and card numbers (M-2) ------------------------------------------------------


def test_luhn_check_digit_of_the_textbook_example():
    assert card_numbers.luhn_check_digit("7992739871") == "3"
    assert card_numbers.luhn_valid("79927398713")
    assert not card_numbers.luhn_valid("79927398710")


def test_card_numbers_are_twelve_digits_and_pass_their_own_check():
    first = card_numbers.format_card_no(1)
    assert first == "80000000001" + card_numbers.luhn_check_digit("80000000001")
    assert len(first) == 12
    for seq in (1, 2, 99, 123456, 9_999_999_999):
        assert card_numbers.luhn_valid(card_numbers.format_card_no(seq))


def test_every_single_digit_typo_is_refused_naming_card_no():
    number = card_numbers.format_card_no(4711)
    for position in range(len(number)):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            typo = number[:position] + digit + number[position + 1 :]
            with pytest.raises(ValidationFailed) as exc:
                card_numbers.clean_card_no(typo)
            assert exc.value.fields == {"card_no": ["Check digit does not match; re-enter the number."]}


def test_card_number_input_is_cleaned_and_checked_for_shape():
    number = card_numbers.format_card_no(42)
    assert card_numbers.clean_card_no(f"{number[:4]} {number[4:8]}-{number[8:]}") == number
    with pytest.raises(ValidationFailed) as exc:
        card_numbers.clean_card_no("12345")
    assert exc.value.fields == {"card_no": ["A card number has 12 digits."]}
    with pytest.raises(ValidationFailed) as exc:
        card_numbers.clean_card_no("8000abc00001")
    assert exc.value.fields == {"card_no": ["Digits only."]}


def test_member_numbers_are_zero_padded():
    assert card_numbers.format_member_no(7) == "00000007"


# ---- personal data (M-1, O-7) -----------------------------------------------------------


def test_masking():
    assert pii.mask_phone("13812345678") == "138****5678"
    assert pii.mask_phone("+4915112345678") == "+49*******5678"
    assert pii.mask_id_number("11010519491231002X") == "110***********002X"
    assert pii.mask_email("wang.li@example.com") == "w***@example.com"


def test_an_email_address_keeps_its_local_part_and_lowers_its_domain():
    assert pii.normalise_email("  Wang.Li@Example.COM ") == "Wang.Li@example.com"
    # full-width letters, as a Chinese keyboard may type them, are the same address
    assert pii.normalise_email("ｗａｎｇ@example.com") == "wang@example.com"


@pytest.mark.parametrize(
    "raw", ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "008613812345678"]
)
def test_china_mobiles_normalise_to_eleven_digits(raw):
    assert pii.normalise_phone(raw) == "13812345678"


def test_international_numbers_keep_the_plus_form():
    assert pii.normalise_phone("+49 151 1234 5678") == "+4915112345678"


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("1381234567", "A mobile number has 11 digits, this has 10."),
        ("12812345678", "A mobile number starts with 13 to 19."),
        ("138abc45678", "Only digits, spaces, '-' and a leading '+' are allowed."),
        ("+12", "An international number is + country code and 7 to 15 digits."),
        ("   ", "Required."),
    ],
)
def test_bad_phones_say_why(raw, reason):
    with pytest.raises(ValidationFailed) as exc:
        pii.normalise_phone(raw)
    assert exc.value.fields == {"phone": [reason]}


def test_id_numbers_are_checked():
    assert pii.normalise_id_number("11010519491231002x") == "11010519491231002X"
    with pytest.raises(ValidationFailed) as exc:
        pii.normalise_id_number("110105194912310021")
    assert exc.value.fields == {"id_number": ["The last character does not match; check the number."]}
    with pytest.raises(ValidationFailed):
        pii.normalise_id_number("12345")


def test_plates_are_upper_case_without_spaces():
    assert pii.normalise_plate("沪a 12345") == "沪A12345"
    with pytest.raises(ValidationFailed):
        pii.normalise_plate("A1")


def test_encryption_round_trip_is_randomised_and_bound_to_chain_and_field():
    codec = pii.codec(KEY, INDEX_KEY)
    one, two = codec.encrypt("c1", "phone", "13812345678"), codec.encrypt("c1", "phone", "13812345678")
    assert one != two and "13812345678" not in one
    assert codec.decrypt("c1", "phone", one) == "13812345678"
    with pytest.raises(ValueError):
        codec.decrypt("c2", "phone", one)
    with pytest.raises(ValueError):
        codec.decrypt("c1", "id_number", one)


def test_blind_index_is_stable_per_chain_and_keyed():
    codec = pii.codec(KEY, INDEX_KEY)
    assert codec.index("c1", "phone", "13812345678") == codec.index("c1", "phone", "13812345678")
    assert codec.index("c1", "phone", "13812345678") != codec.index("c2", "phone", "13812345678")
    other = pii.codec(KEY, KEY)
    assert other.index("c1", "phone", "13812345678") != codec.index("c1", "phone", "13812345678")


def test_a_key_that_is_not_32_bytes_is_refused():
    with pytest.raises(RuntimeError):
        pii.codec("c2hvcnQ=", INDEX_KEY)


# ---- tiers: bonus rules (W-3) and upgrades (M-7) -------------------------------------------

SILVER = next(t for t in rules.DEFAULT_TIERS if t["code"] == "SILVER")
GOLD = next(t for t in rules.DEFAULT_TIERS if t["code"] == "GOLD")


def test_default_silver_gives_50_yuan_on_a_1000_yuan_recharge():
    # the default tiers' rules, as the wallet applies them (W-3)
    rules_of_silver = SILVER["recharge_bonus_rules"]
    assert pricing.recharge_bonus(100000, rules_of_silver) == 5000
    assert pricing.recharge_bonus(150000, rules_of_silver) == 5000
    assert pricing.recharge_bonus(99999, rules_of_silver) == 2000
    assert pricing.recharge_bonus(50000, rules_of_silver) == 2000
    assert pricing.recharge_bonus(49999, rules_of_silver) == 0


def test_default_gold_rate_bonus_rounds_half_up_to_the_fen():
    assert pricing.recharge_bonus(150000, GOLD["recharge_bonus_rules"]) == 9000  # 6 %


def test_bonus_rules_need_exactly_one_kind_and_distinct_thresholds():
    with pytest.raises(ValidationFailed) as exc:
        rules.check_bonus_rules([{"threshold": 100, "bonus_fixed": 1, "bonus_rate_bp": 100}])
    assert exc.value.fields == {"recharge_bonus_rules": {"0": ["Give exactly one of bonus_fixed or bonus_rate_bp."]}}
    with pytest.raises(ValidationFailed):
        rules.check_bonus_rules([{"threshold": 100, "bonus_fixed": 1}, {"threshold": 100, "bonus_rate_bp": 5}])
    ordered = rules.check_bonus_rules([{"threshold": 1, "bonus_fixed": 1}, {"threshold": 9, "bonus_rate_bp": 5}])
    assert [r["threshold"] for r in ordered] == [9, 1]


STEPS = [TierStep(t["code"], t["rank"], t["upgrade_metric"], t["upgrade_threshold"]) for t in rules.DEFAULT_TIERS]


def test_upgrade_goes_to_the_highest_tier_reached():
    assert rules.upgrade_target(STEPS, 1, 99999, 0) is None
    assert rules.upgrade_target(STEPS, 1, 100000, 0).code == "SILVER"
    assert rules.upgrade_target(STEPS, 1, 600000, 0).code == "GOLD"  # skips Silver
    assert rules.upgrade_target(STEPS, 2, 2000000, 0).code == "VIP"


def test_upgrade_never_downgrades_and_ignores_retired_tiers():
    assert rules.upgrade_target(STEPS, 3, 100000, 0) is None
    retired = [s if s.code != "GOLD" else TierStep("GOLD", 3, rules.SPEND, 500000, active=False) for s in STEPS]
    assert rules.upgrade_target(retired, 1, 600000, 0).code == "SILVER"


def test_upgrade_by_lifetime_points():
    steps = [TierStep("STANDARD", 1, rules.POINTS, 0), TierStep("SILVER", 2, rules.POINTS, 5000)]
    assert rules.upgrade_target(steps, 1, 10**9, 4999) is None
    assert rules.upgrade_target(steps, 1, 0, 5000).code == "SILVER"


def test_validity_months_and_expiry():
    assert rules.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert rules.add_months(date(2024, 11, 15), 24) == date(2026, 11, 15)
    assert rules.status_on("active", date(2024, 1, 1), date(2024, 1, 2)) == "expired"
    assert rules.status_on("active", date(2024, 1, 1), date(2024, 1, 1)) == "active"
    assert rules.status_on("frozen", date(2024, 1, 1), date(2025, 1, 1)) == "frozen"
    assert rules.status_on("active", None, date(2099, 1, 1)) == "active"


def test_default_tiers_are_sensible():
    terms = [(t["code"], t["rank"], t["default_discount_bp"], t["points_multiplier_bp"]) for t in rules.DEFAULT_TIERS]
    assert terms == [
        ("STANDARD", 1, 0, 10000),
        ("SILVER", 2, 500, 12000),
        ("GOLD", 3, 1000, 15000),
        ("VIP", 4, 1500, 20000),
    ]
    assert [t["upgrade_threshold"] for t in rules.DEFAULT_TIERS] == [0, 100000, 500000, 2000000]
    assert [t["validity_months"] for t in rules.DEFAULT_TIERS] == [24, 24, 24, 12]
    assert rules.DEFAULT_TIERS[0]["issue_fee"] == 0
    for tier in rules.DEFAULT_TIERS:
        assert rules.check_bonus_rules(tier["recharge_bonus_rules"]) == tier["recharge_bonus_rules"]


def test_a_tier_with_threshold_zero_is_never_an_automatic_target():
    by_hand = TierStep("STAFF", 9, "cumulative_spend", 0)
    silver = TierStep("SILVER", 2, "cumulative_spend", 100000)
    assert rules.upgrade_target([by_hand, silver], 1, 150000, 0) == silver
    assert rules.upgrade_target([by_hand], 1, 10**9, 0) is None


def test_only_ascii_digits_count_and_full_width_digits_are_the_same_number():
    from contracts.errors import ValidationFailed
    from services.member import card_numbers, pii

    # typed on a full-width keyboard: the same phone, so the same blind index and uniqueness
    assert pii.normalise_phone("139１２３４５６７８") == "13912345678"
    assert pii.normalise_id_number("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"
    with pytest.raises(ValidationFailed):
        pii.normalise_phone("139١٢٣٤٥٦٧٨")  # Arabic-Indic digits are digits, but not 0-9
    good = card_numbers.format_card_no(7)
    for odd in (good[:-1] + "²", good[:-1] + "\n"):  # "²".isdigit() is True; "$" matches before a newline
        with pytest.raises(ValidationFailed):
            card_numbers.clean_card_no(odd)
    assert card_numbers.clean_card_no(f"{good[:4]} {good[4:8]}-{good[8:]}") == good
