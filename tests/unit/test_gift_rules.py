"""The gift rules with worked numbers (G-1, G-2), and the receipt page (S-3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from contracts.errors import InvalidState, LimitExceeded, ValidationFailed
from services.gift import receipts, rules

OFFER = rules.Offer(
    active=True,
    retired=False,
    store_ids=("store-a",),
    valid_from=date(2026, 1, 1),
    valid_to=date(2026, 12, 31),
    stock_mode="chain",
    limit_quantity=2,
    limit_period="year",
)


def fields_of(raised) -> set[str]:
    return set(raised.value.fields)


def test_a_gift_is_redeemable_on_its_first_and_last_day_at_a_store_offering_it():
    rules.check_redeemable(OFFER, "store-a", date(2026, 1, 1))
    rules.check_redeemable(OFFER, "store-a", date(2026, 12, 31))
    rules.check_redeemable(replace(OFFER, store_ids=()), "store-z", date(2026, 6, 1))  # no list: every store


@pytest.mark.parametrize(
    ("offer", "store", "day", "field"),
    [
        (OFFER, "store-a", date(2025, 12, 31), "valid_from"),
        (OFFER, "store-a", date(2027, 1, 1), "valid_to"),
        (OFFER, "store-b", date(2026, 6, 1), "store_id"),
        (replace(OFFER, active=False), "store-a", date(2026, 6, 1), "active"),
        (replace(OFFER, retired=True, active=False), "store-a", date(2026, 6, 1), "active"),
    ],
)
def test_a_gift_out_of_its_dates_stores_or_activity_is_refused_naming_the_field(offer, store, day, field):
    with pytest.raises(InvalidState) as raised:
        rules.check_redeemable(offer, store, day)
    assert fields_of(raised) == {field}


def test_the_local_day_is_the_chains_one():
    # 17:30 UTC on 31 Dec is already 1 Jan in Shanghai (UTC+8), still 31 Dec in London
    moment = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
    assert rules.local_day("Asia/Shanghai", moment) == date(2027, 1, 1)
    assert rules.local_day("Europe/London", moment) == date(2026, 12, 31)
    assert rules.local_day(None, moment) == date(2027, 1, 1)  # Shanghai until org has told us


def test_per_member_limit_of_two_a_year_allows_one_more_after_one_and_none_after_two():
    rules.check_limit(OFFER, already=1, quantity=1)
    with pytest.raises(LimitExceeded) as raised:
        rules.check_limit(OFFER, already=1, quantity=2)
    assert fields_of(raised) == {"limit_quantity"}
    assert "1 redeemed, 1 left" in raised.value.fields["limit_quantity"][0]
    rules.check_limit(replace(OFFER, limit_quantity=None, limit_period=None), already=99, quantity=5)


def test_stock_low_is_told_once_per_dip_under_the_threshold():
    assert rules.stock_low_now(quantity=3, threshold=3, notified=False)
    assert not rules.stock_low_now(quantity=2, threshold=3, notified=True)  # told already
    assert not rules.stock_low_now(quantity=4, threshold=3, notified=False)


def test_a_redemption_may_be_cancelled_within_the_chains_hours_only_once_completed():
    redeemed = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    rules.check_cancellable("completed", redeemed, 72, datetime(2026, 5, 4, 10, 0, tzinfo=UTC))  # 72 h exactly
    with pytest.raises(InvalidState) as late:
        rules.check_cancellable("completed", redeemed, 72, datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC))
    assert fields_of(late) == {"cancel_hours"}
    with pytest.raises(InvalidState) as twice:
        rules.check_cancellable("cancelled", redeemed, 72, redeemed)
    assert fields_of(twice) == {"status"}


def test_stock_is_changed_at_the_chain_or_at_a_named_store_by_the_gifts_mode():
    assert rules.check_stock_place("chain", None) == rules.CHAIN_WIDE
    assert rules.check_stock_place("store", "store-a") == "store-a"
    for mode, store in (("chain", "store-a"), ("store", None)):
        with pytest.raises(ValidationFailed) as raised:
            rules.check_stock_place(mode, store)
        assert fields_of(raised) == {"store_id"}
    assert rules.place_of("chain", "store-a") == rules.CHAIN_WIDE
    assert rules.place_of("store", "store-a") == "store-a"


def test_the_receipt_escapes_what_people_typed_and_prints_footer_and_signature_line():
    redemption = {
        "id": "r-1",
        "created_at": "2026-05-01T02:00:00+00:00",
        "card_no": "620000000001",
        "gift_name": "<b>Mug</b>",
        "quantity": 2,
        "points": 1200,
        "operator_name": "Li & Wang",
        "status": "completed",
        "cancelled_at": None,
        "remark": "",
    }
    facts = {"chain_name": "洗车连锁", "store_name": "Store A", "time_zone": "Asia/Shanghai", "footer": "谢谢惠顾"}
    page = receipts.redemption(redemption, facts, "80mm")
    assert "&lt;b&gt;Mug&lt;/b&gt;" in page and "Li &amp; Wang" in page and "<b>" not in page
    assert "2026-05-01 10:00:00" in page  # 02:00 UTC is 10:00 in Shanghai
    assert "谢谢惠顾" in page and "Member signature" in page and "size:80mm" in page
    # the card shows its last four digits only: a receipt left on the counter cannot pay
    assert "620000000001" not in page and "********0001" in page
    assert "size:A4" in receipts.redemption(redemption, facts, "a4")
