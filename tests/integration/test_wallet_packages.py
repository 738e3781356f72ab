"""W-5 packages and passes: a consume line uses a count instead of money; refunds restore counts."""

from datetime import date, timedelta

import pytest

from tests.helpers import ok
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def w(admin):
    return wallet_world(admin)


def sell(w, no, **extra):
    body = {
        "card_no": no,
        "store_id": w.store_a,
        "item_code": "WASH",
        "name": "10 washes",
        "count": 10,
        "price": 30000,
        "payment_method": "cash",
        **extra,
    }
    return w.cashier_a.post(w.path("/packages"), body)


def test_a_package_pays_the_wash_by_count_and_a_refund_gives_the_count_back(w):
    card = w.card()
    no = card["card_no"]
    sold = ok(sell(w, no, valid_until=(date.today() + timedelta(days=180)).isoformat()), 201)
    package = sold["entitlement"]
    assert package["remaining_count"] == 10 and sold["paid"]["external"] == 30000
    answer = ok(w.consume(no, [WASH]), 201)
    line = answer["lines"][0]
    assert line["entitlement_id"] == package["id"] and line["counts_used"] == 1
    assert answer["amount_due"] == 0 and answer["paid"] == {"cash": 0, "bonus": 0, "credit": 0, "external": 0}
    listed = ok(w.cashier_a.get(w.path(f"/cards/{no}/packages")))["items"]
    assert listed[0]["remaining_count"] == 9
    refund = ok(
        w.cashier_a.post(
            w.path("/refunds"),
            {"transaction_id": answer["transaction_id"], "store_id": w.store_a, "reason": "not done"},
        ),
        201,
    )
    assert refund["lines"] == [{"line_no": 1, "quantity": 1, "amount": 3000, "counts_restored": 1}]
    assert refund["amount"] == 0
    assert ok(w.cashier_a.get(w.path(f"/cards/{no}/packages")))["items"][0]["remaining_count"] == 10


def test_a_package_bound_to_plates_checks_the_plate(w):
    card = w.card(plates=["沪A12345"])
    no = card["card_no"]
    ok(w.recharge(no, 50000), 201)
    package = ok(sell(w, no, plates=["沪A12345"], payment_method="card"), 201)
    assert package["paid"] == {"cash": 30000, "bonus": 0, "credit": 0, "external": 0}
    # another car: the package does not apply and the wash is paid in money
    other = ok(w.consume(no, [WASH], plate="沪B99999"), 201)
    assert other["lines"][0]["entitlement_id"] is None and other["paid"]["cash"] == 10800
    # naming the package for the wrong car is refused with the reason, and nothing moves
    before = w.balances(no)
    named = {**WASH, "entitlement_id": package["entitlement"]["id"]}
    err = w.refused(w.consume(no, [named], plate="沪B99999"), 422, "validation_failed", no, before)
    assert err["fields"] == {"lines": {"0": {"entitlement_id": ["Only for plates 沪A12345."]}}}
    mine = ok(w.consume(no, [named], plate="沪a 12345"), 201)
    assert mine["lines"][0]["counts_used"] == 1 and mine["amount_due"] == 0


def test_a_pass_with_a_daily_limit(w):
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 50000), 201)
    today = date.today()
    ok(
        sell(
            w,
            no,
            kind="pass",
            count=None,
            name="Monthly wash pass",
            price=20000,
            daily_limit=1,
            valid_from=(today - timedelta(days=1)).isoformat(),
            valid_until=(today + timedelta(days=30)).isoformat(),
        ),
        201,
    )
    first = ok(w.consume(no, [WASH]), 201)
    assert first["amount_due"] == 0 and first["lines"][0]["counts_used"] == 1
    second = ok(w.consume(no, [WASH]), 201)
    assert second["lines"][0]["entitlement_id"] is None and second["amount_due"] == 10800


def test_a_package_the_card_cannot_pay_is_refused(w):
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 1000), 201)
    before = w.balances(no)
    w.refused(sell(w, no, payment_method="card"), 409, "insufficient_funds", no, before)
    bad = sell(w, no, kind="pass", count=None)
    err = w.refused(bad, 422, "validation_failed", no, before)
    assert "valid_until" in err["fields"]


def test_a_package_or_pass_already_expired_is_not_sold(w):
    no = w.card()["card_no"]
    ok(w.recharge(no, 50000), 201)
    before = w.balances(no)
    # dates in the chain's zone (Asia/Shanghai); ten days back is past in every zone
    gone = date.today() - timedelta(days=10)
    for extra in (
        {"valid_until": gone.isoformat()},
        {
            "kind": "pass",
            "count": None,
            "valid_from": (gone - timedelta(days=30)).isoformat(),
            "valid_until": gone.isoformat(),
        },
    ):
        err = w.refused(sell(w, no, payment_method="card", **extra), 422, "validation_failed", no, before)
        assert list(err["fields"]) == ["valid_until"]
    # one valid until tomorrow is sold, and shown active
    sold = ok(sell(w, no, valid_until=(date.today() + timedelta(days=1)).isoformat()), 201)
    assert sold["entitlement"]["status"] == "active"


def test_the_unused_part_of_a_package_is_paid_back_where_it_came_from(w, settings):
    no = w.card()["card_no"]
    ok(w.recharge(no, 20000), 201)  # Silver: below every bonus threshold, cash only
    # 10 washes for 200 yuan, paid from the card: 2000 fen of value per wash
    sold = ok(sell(w, no, payment_method="card", price=20000), 201)
    package = sold["entitlement"]
    assert sold["paid"] == {"cash": 20000, "bonus": 0, "credit": 0, "external": 0}
    for _ in range(3):
        ok(w.consume(no, [WASH]), 201)  # 3 of 10 used: 3 x 2000 of its value earned
    body = {"card_no": no, "entitlement_id": package["id"], "store_id": w.store_a, "reason": "moving away"}
    # a cashier of another store cannot refund it
    before = w.balances(no)
    w.refused(
        w.cashier_b.post(w.path("/package-refunds"), {**body, "store_id": w.store_b}), 403, "forbidden", no, before
    )
    back = ok(w.cashier_a.post(w.path("/package-refunds"), body), 201)
    # 7 unused washes of 2000 = 14000 fen, back to cash, where the sale took it from
    assert (back["amount"], back["refunded"]) == (14000, {"cash": 14000, "bonus": 0, "credit": 0, "external": 0})
    assert back["balances"]["cash"] == 14000 and back["entitlement"]["status"] == "refunded"
    assert back["entitlement"]["remaining_count"] == 0
    # once: a second refund finds nothing left, and the package no longer pays a wash
    before = w.balances(no)
    w.refused(w.cashier_a.post(w.path("/package-refunds"), body), 409, "invalid_state", no, before)
    washed = ok(w.consume(no, [WASH]), 201)
    assert washed["lines"][0]["entitlement_id"] is None and washed["amount_due"] == 10800
    # a pass is not refunded
    no_pass = {
        "kind": "pass",
        "count": None,
        "valid_from": date.today().isoformat(),
        "valid_until": (date.today() + timedelta(days=30)).isoformat(),
    }
    a_pass = ok(sell(w, no, **no_pass), 201)["entitlement"]
    before = w.balances(no)
    refused = w.cashier_a.post(w.path("/package-refunds"), {**body, "entitlement_id": a_pass["id"]})
    w.refused(refused, 409, "invalid_state", no, before)
