"""W-6 refunds: whole or by line, money back where it came from."""

import pytest

from tests.helpers import error, ok
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration

PADS = {"item_code": "PAD", "name": "Brake pads", "category": "parts", "quantity": 3, "unit_price": 10000}


@pytest.fixture(scope="module")
def w(admin):
    return wallet_world(admin)


def refund(w, tx_id, api=None, store=None, **extra):
    body = {"transaction_id": tx_id, "store_id": store or w.store_a, "reason": "customer unhappy", **extra}
    return (api or w.cashier_a).post(w.path("/refunds"), body)


def test_whole_refund_puts_cash_and_bonus_back(w):
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 5000), 201)
    ok(
        w.manager_a.post(
            w.path("/bonus-grants"), {"card_no": no, "store_id": w.store_a, "amount": 20000, "reason": "promo"}
        ),
        201,
    )
    sale = ok(w.consume(no, [WASH]), 201)
    assert sale["paid"] == {"cash": 5000, "bonus": 5800, "credit": 0, "external": 0}
    answer = ok(refund(w, sale["transaction_id"]), 201)
    assert answer["amount"] == 10800 and answer["consume_id"] == sale["transaction_id"]
    assert answer["refunded"] == {"cash": 5000, "bonus": 5800, "credit": 0, "external": 0}
    assert answer["balances"]["cash"] == 5000 and answer["balances"]["bonus"] == 20000
    assert answer["cumulative_spend"] == 0
    # nothing is left to refund: refused, nothing moves
    before = w.balances(no)
    w.refused(refund(w, sale["transaction_id"]), 409, "invalid_state", no, before)


def test_partial_refunds_by_line_add_up_to_the_line(w):
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 20000), 201)
    # 3 pads at 100 yuan, 5 % off parts: 28500 due; 20000 cash + 8500 at the counter
    sale = ok(w.consume(no, [PADS], external_payment_method="alipay"), 201)
    assert sale["amount_due"] == 28500
    assert sale["paid"] == {"cash": 20000, "bonus": 0, "credit": 0, "external": 8500}
    first = ok(refund(w, sale["transaction_id"], lines=[{"line_no": 1, "quantity": 1}]), 201)
    # the counter is refilled first (reverse order of payment), then the card
    assert first["amount"] == 9500 and first["refunded"] == {"cash": 1000, "bonus": 0, "credit": 0, "external": 8500}
    assert first["external_payment_method"] == "alipay"
    second = ok(refund(w, sale["transaction_id"], lines=[{"line_no": 1, "quantity": 1}]), 201)
    assert second["refunded"] == {"cash": 9500, "bonus": 0, "credit": 0, "external": 0}
    before = w.balances(no)
    over = refund(w, sale["transaction_id"], lines=[{"line_no": 1, "quantity": 2}])
    err = w.refused(over, 422, "validation_failed", no, before)
    assert err["fields"] == {"lines": {"0": {"quantity": ["Only 1 left to refund."]}}}
    last = ok(refund(w, sale["transaction_id"]), 201)
    assert last["amount"] == 9500 and last["refunded"]["cash"] == 9500
    assert first["amount"] + second["amount"] + last["amount"] == 28500
    assert w.balances(no)["cash"] == 20000
    view = ok(w.cashier_a.get(w.path(f"/transactions/{sale['transaction_id']}")))
    assert view["lines"][0]["refunded_quantity"] == 3


def test_credit_refund_reduces_credit_used(w):
    card = w.card()
    no = card["card_no"]
    ok(w.hq.post(w.path("/credit-limits"), {"card_no": no, "credit_limit": 50000}), 201)
    sale = ok(w.consume(no, [WASH], allow_credit=True), 201)
    assert sale["paid"]["credit"] == 10800
    answer = ok(refund(w, sale["transaction_id"]), 201)
    assert answer["refunded"]["credit"] == 10800
    assert answer["balances"]["credit_used"] == 0 and answer["balances"]["credit_available"] == 50000


def test_refund_happens_at_the_store_of_the_sale(w):
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 20000), 201)
    sale = ok(w.consume(no, [WASH]), 201)
    before = w.balances(no)
    w.refused(refund(w, sale["transaction_id"], api=w.cashier_b, store=w.store_b), 422, "validation_failed", no, before)
    w.refused(refund(w, sale["transaction_id"], api=w.cashier_b, store=w.store_a), 403, "forbidden", no, before)
    error(refund(w, "00000000-0000-4000-8000-000000000000"), 404)
    assert w.balances(no) == before


def test_a_refund_of_credit_already_settled_is_labelled_where_it_lands(w):
    """W-6: credit refunded after the member paid it back comes back as cash, and says so."""
    card = w.card()
    no = card["card_no"]
    ok(w.hq.post(w.path("/credit-limits"), {"card_no": no, "credit_limit": 20000}), 201)
    sale = ok(w.consume(no, [WASH], allow_credit=True), 201)
    assert sale["paid"] == {"cash": 0, "bonus": 0, "credit": 10800, "external": 0}
    settle = {"card_no": no, "store_id": w.store_a, "amount": 10800, "payment_method": "cash"}
    ok(w.cashier_a.post(w.path("/credit-settlements"), settle), 201)
    answer = ok(refund(w, sale["transaction_id"]), 201)
    assert answer["refunded"] == {"cash": 10800, "bonus": 0, "credit": 0, "external": 0}
    assert answer["balances"]["cash"] == 10800 and answer["balances"]["credit_used"] == 0
    stored = ok(w.cashier_a.get(w.path(f"/transactions/{answer['transaction_id']}")))
    assert stored["paid"] == answer["refunded"]


def test_partly_settled_credit_comes_back_part_credit_part_cash_and_a_later_refund_still_adds_up(w):
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 5000), 201)
    ok(w.hq.post(w.path("/credit-limits"), {"card_no": no, "credit_limit": 50000}), 201)
    # 3 pads, 28500 due: 5000 cash, then 23500 on credit
    sale = ok(w.consume(no, [PADS], allow_credit=True), 201)
    assert sale["paid"] == {"cash": 5000, "bonus": 0, "credit": 23500, "external": 0}
    settle = {"card_no": no, "store_id": w.store_a, "amount": 20000, "payment_method": "cash"}
    ok(w.cashier_a.post(w.path("/credit-settlements"), settle), 201)  # 3500 still owed
    # one pad, 9500: refilled from the credit share; 3500 cancels what is owed, 6000 lands as cash
    first = ok(refund(w, sale["transaction_id"], lines=[{"line_no": 1, "quantity": 1}]), 201)
    assert first["refunded"] == {"cash": 6000, "bonus": 0, "credit": 3500, "external": 0}
    # the rest: 14000 left in the credit share (all lands as cash now), then 5000 back to cash
    rest = ok(refund(w, sale["transaction_id"]), 201)
    assert rest["amount"] == 19000
    assert rest["refunded"] == {"cash": 19000, "bonus": 0, "credit": 0, "external": 0}
    # every fen of the 28500 is back with the member: 6000 + 19000 as cash, 3500 off what was owed
    assert w.balances(no) == {
        "cash": 25000,
        "bonus": 0,
        "credit_limit": 50000,
        "credit_used": 0,
        "credit_available": 50000,
    }
