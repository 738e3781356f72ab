"""Statements (W-10), liability per store (W-11), settlement between stores (R-8), fees (W-12),
return card (W-7), and the wallet's part of the OpenAPI document."""

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from tests.helpers import admin_engine, error, ok, wait_for
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration


def test_statement_lists_every_transaction_with_running_balances(admin):
    w = wallet_world(admin)
    no = w.card()["card_no"]
    ok(w.recharge(no, 100000), 201)
    sale = ok(w.consume(no, [WASH]), 201)
    ok(
        w.cashier_a.post(
            w.path("/refunds"),
            {
                "transaction_id": sale["transaction_id"],
                "store_id": w.store_a,
                "reason": "wrong item",
                "lines": [{"line_no": 1, "quantity": 1}],
            },
        ),
        201,
    )
    first = ok(w.cashier_a.get(w.path(f"/cards/{no}/statement"), {"limit": 2}))
    rest = ok(w.cashier_a.get(w.path(f"/cards/{no}/statement"), {"limit": 2, "after": first["next_cursor"]}))
    entries = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [e["kind"] for e in entries] == ["recharge", "consume", "refund"]
    assert [(e["cash_change"], e["bonus_change"]) for e in entries] == [(100000, 5000), (-10800, 0), (10800, 0)]
    assert [(e["cash_after"], e["bonus_after"]) for e in entries] == [(100000, 5000), (89200, 5000), (100000, 5000)]


def test_liability_per_store_and_settlement_between_stores(admin):
    w = wallet_world(admin)
    no = w.card()["card_no"]
    ok(w.recharge(no, 100000), 201)  # at A: 1000 yuan + 50 bonus
    ok(w.recharge(no, 20000, api=w.cashier_b, store=w.store_b), 201)
    ok(w.consume(no, [WASH], api=w.cashier_b, store=w.store_b), 201)  # spends A's older cash first
    books = ok(w.hq.get(w.path("/liability")))
    by_store = {s["store_id"]: (s["cash"], s["bonus"]) for s in books["stores"]}
    assert by_store == {w.store_a: (89200, 5000), w.store_b: (20000, 0)}
    assert books["chain"] == {"cash": 109200, "bonus": 5000}
    assert books["time_zone"] == "Asia/Shanghai"
    balances = w.balances(no)
    assert (balances["cash"], balances["bonus"]) == (109200, 5000)
    long_ago = ok(w.hq.get(w.path("/liability"), {"as_of": "2020-01-01"}))
    assert long_ago["stores"] == [] and long_ago["chain"] == {"cash": 0, "bonus": 0}
    today = date.today()
    span = {"since": (today - timedelta(days=1)).isoformat(), "until": (today + timedelta(days=1)).isoformat()}
    owed = ok(w.hq.get(w.path("/settlement"), span))
    assert owed["rows"] == [{"received_store_id": w.store_a, "spent_store_id": w.store_b, "amount": 10800}]
    error(w.cashier_a.get(w.path("/liability")), 403)


def test_book_dates_outside_the_calendar_or_backwards_are_refused(admin):
    """W-11, R-8: a date the day arithmetic cannot reach is a 422 naming it, never a 500."""
    w = wallet_world(admin)
    no = w.card()["card_no"]
    bound = ["Must be between 2000-01-01 and 2999-12-31."]
    for day in ("9999-12-31", "0001-01-01", "1999-12-31", "3000-01-01"):
        assert error(w.hq.get(w.path("/liability"), {"as_of": day}), 422)["fields"] == {"as_of": bound}
        span = {"since": day, "until": "2020-01-01"} if day < "2000" else {"since": "2020-01-01", "until": day}
        field = "since" if day < "2000" else "until"
        assert error(w.hq.get(w.path("/settlement"), span), 422)["fields"] == {field: bound}
    # the ends of the calendar themselves are fine
    assert ok(w.hq.get(w.path("/liability"), {"as_of": "2999-12-31"}))["as_of"] == "2999-12-31"
    edges = ok(w.hq.get(w.path("/settlement"), {"since": "2000-01-01", "until": "2999-12-31"}))
    assert edges["rows"] == []
    # a span that ends before it starts is a mistake, not an empty report
    backwards = error(w.hq.get(w.path("/settlement"), {"since": "2024-02-02", "until": "2024-02-01"}), 422)
    assert backwards["fields"] == {"until": ["Must not be before `since`."]}
    backwards = error(
        w.cashier_a.get(
            w.path(f"/cards/{no}/statement"),
            {"since": "2024-02-02T00:00:00+08:00", "until": "2024-02-01T00:00:00+08:00"},
        ),
        422,
    )
    assert backwards["fields"] == {"until": ["Must not be before `since`."]}


def test_return_card_pays_back_cash_forfeits_bonus_and_closes(admin):
    w = wallet_world(admin)
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 100000), 201)
    ok(w.consume(no, [WASH]), 201)
    body = {"card_no": no, "store_id": w.store_a, "payment_method": "cash", "reason": "moving away"}
    answer = ok(w.cashier_a.post(w.path("/returns"), body), 201)
    assert (answer["cash_paid_back"], answer["bonus_forfeited"]) == (89200, 5000)
    assert answer["balances"]["cash"] == 0 and answer["balances"]["bonus"] == 0
    before = w.balances(no)
    # in force at once, before the member service has heard of it (the wallet's own copy)
    w.refused(w.recharge(no, 1000), 409, "card_not_active", no, before)
    # the member service follows the wallet's card_returned event: the card is returned
    card_path = w.world.path(f"/cards/{card['id']}")
    wait_for(lambda: ok(w.cashier_a.get(card_path))["status"] == "returned")
    w.refused(w.recharge(no, 1000), 409, "card_not_active", no, before)
    w.refused(w.cashier_a.post(w.path("/returns"), body), 409, "card_not_active", no, before)
    assert ok(w.hq.get(w.path("/liability")))["chain"] == {"cash": 0, "bonus": 0}


def test_return_is_refused_while_credit_is_owed(admin):
    w = wallet_world(admin)
    no = w.card()["card_no"]
    ok(w.hq.post(w.path("/credit-limits"), {"card_no": no, "credit_limit": 20000}), 201)
    ok(w.consume(no, [WASH], allow_credit=True), 201)
    before = w.balances(no)
    body = {"card_no": no, "store_id": w.store_a, "payment_method": "cash"}
    w.refused(w.cashier_a.post(w.path("/returns"), body), 409, "invalid_state", no, before)


def test_a_card_fee_is_booked_as_store_money_and_fee_revenue(admin, settings):
    w = wallet_world(admin)
    card = w.card(tier_code="SILVER", payment_method="wechat")  # Silver's issue fee is 20 yuan
    engine = admin_engine(settings)
    try:

        def booked():
            with engine.connect() as conn:
                return conn.execute(
                    text(
                        "SELECT id, amount, payment_method, store_id FROM wallet.transactions "
                        "WHERE chain_id = :c AND kind = 'fee' AND card_id = :card"
                    ),
                    {"c": w.world.id, "card": card["id"]},
                ).first()

        row = wait_for(booked)  # the fee reaches the wallet as an event
        assert (row.amount, row.payment_method, row.store_id) == (2000, "wechat", w.store_a)
        with engine.connect() as conn:
            legs = conn.execute(
                text(
                    "SELECT a.kind, a.method, p.amount FROM wallet.postings p JOIN wallet.accounts a "
                    "ON a.id = p.account_id WHERE p.tx_id = :t ORDER BY p.amount"
                ),
                {"t": row.id},
            ).all()
        assert [tuple(leg) for leg in legs] == [("store_received", "wechat", -2000), ("fee_revenue", None, 2000)]
    finally:
        engine.dispose()
    # a card fee is not stored value: the member's balances do not move
    assert w.balances(card["card_no"])["cash"] == 0
    # but it is on the member's statement (W-10, W-12), before the recharge that follows
    ok(w.recharge(card["card_no"], 5000), 201)
    lines = ok(w.cashier_a.get(w.path(f"/cards/{card['card_no']}/statement")))["items"]
    assert [(e["kind"], e["amount"], e["cash_change"], e["cash_after"]) for e in lines] == [
        ("fee", 2000, 0, 0),
        ("recharge", 5000, 5000, 5000),
    ]
    assert lines[0]["remark"] == "issue"
    # the fee names the card it was paid for, as every other entry does
    assert [e["card_no"] for e in lines] == [card["card_no"], card["card_no"]]


def test_cash_paid_back_on_return_goes_over_the_counter_not_onto_the_card(admin):
    w = wallet_world(admin)
    no = w.card()["card_no"]
    ok(w.recharge(no, 1000), 201)
    before = w.balances(no)
    body = {"card_no": no, "store_id": w.store_a, "payment_method": "card"}
    err = w.refused(w.cashier_a.post(w.path("/returns"), body), 422, "validation_failed", no, before)
    assert err["fields"] == {"payment_method": ["The cash goes back at the counter, not onto the card."]}


def test_openapi_describes_the_wallet_with_idempotency_keys(client):
    spec = client.simulate_get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path in ("recharges", "consumes", "refunds", "packages", "returns", "credit-limits", "credit-settlements"):
        operation = paths[f"/api/v1/chains/{{chain_id}}/wallet/{path}"]["post"]
        names = [p.get("name") for p in operation.get("parameters", [])]
        assert "Idempotency-Key" in names, (path, names)
    assert "/api/v1/chains/{chain_id}/wallet/cards/{card_no}/statement" in paths
    assert "/api/v1/chains/{chain_id}/wallet/cards/{card_no}/balances" in paths
