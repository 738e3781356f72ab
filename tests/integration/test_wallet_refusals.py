"""Every refused operation changes nothing (W-4, W-8, W-9, M-3, O-7): balances are checked after each refusal."""

import uuid

import pytest
from nameko.standalone.events import event_dispatcher

from contracts.events import envelope
from tests.helpers import build_chain, error, ok, raw_rows, wait_for
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def w(admin):
    world = wallet_world(admin)
    world.tier(code="WLIMIT", name="Limited", rank=11, per_transaction_limit=20000, daily_limit=30000)
    return world


@pytest.fixture
def funded(w):
    card = w.card()
    ok(w.recharge(card["card_no"], 100000), 201)
    return card


def test_retry_with_the_same_key_never_charges_twice(w, funded):
    no, key = funded["card_no"], uuid.uuid4().hex
    first = ok(w.consume(no, [WASH], key=key), 201)
    again = ok(w.consume(no, [WASH], key=key), 201)
    assert again == first
    assert w.balances(no)["cash"] == 100000 - 10800
    # the same key with another body is a conflict and moves nothing
    before = w.balances(no)
    w.refused(w.consume(no, [WASH, WASH], key=key), 409, "idempotency_mismatch", no, before)


def test_recharge_retry_with_the_same_key_credits_once(w, funded):
    no, key = funded["card_no"], uuid.uuid4().hex
    first = ok(w.recharge(no, 100000, key=key), 201)
    again = ok(w.recharge(no, 100000, key=key), 201)
    assert again["transaction_id"] == first["transaction_id"]
    assert w.balances(no) == {
        "cash": 200000,
        "bonus": 10000,
        "credit_limit": 0,
        "credit_used": 0,
        "credit_available": 0,
    }


def test_a_mutation_without_a_key_is_refused(w, funded):
    no = funded["card_no"]
    before = w.balances(no)
    err = w.refused(w.consume(no, [WASH], key=None), 400, "bad_request", no, before)
    assert "Idempotency-Key" in err["fields"]


def test_a_consume_the_card_cannot_cover_is_refused_whole(w):
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 5000), 201)
    before = w.balances(no)
    err = w.refused(w.consume(no, [WASH]), 409, "insufficient_funds", no, before)
    assert err["fields"] == {"amount_due": ["Short by 5800 fen."]}
    # the same request may be paid partly at the counter instead
    answer = ok(w.consume(no, [WASH], external_payment_method="wechat"), 201)
    assert answer["paid"] == {"cash": 5000, "bonus": 0, "credit": 0, "external": 5800}
    assert answer["external_payment_method"] == "wechat"
    assert w.balances(no)["cash"] == 0


def test_credit_is_used_only_when_the_request_allows_it(w):
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 5000), 201)
    ok(w.hq.post(w.path("/credit-limits"), {"card_no": no, "credit_limit": 20000}), 201)
    before = w.balances(no)
    w.refused(w.consume(no, [WASH]), 409, "insufficient_funds", no, before)
    answer = ok(w.consume(no, [WASH], allow_credit=True), 201)
    assert answer["paid"] == {"cash": 5000, "bonus": 0, "credit": 5800, "external": 0}
    assert answer["balances"] == {
        "cash": 0,
        "bonus": 0,
        "credit_limit": 20000,
        "credit_used": 5800,
        "credit_available": 14200,
    }
    # over the limit: refused, nothing moves
    before = w.balances(no)
    w.refused(w.consume(no, [WASH, WASH], allow_credit=True), 409, "insufficient_funds", no, before)
    # the limit cannot go below what is owed; settling pays it back
    err = error(w.hq.post(w.path("/credit-limits"), {"card_no": no, "credit_limit": 5000}), 422)
    assert "credit_limit" in err["fields"]
    assert w.balances(no) == before
    over = w.cashier_a.post(
        w.path("/credit-settlements"), {"card_no": no, "store_id": w.store_a, "amount": 5801, "payment_method": "cash"}
    )
    w.refused(over, 422, "validation_failed", no, before)
    settled = ok(
        w.cashier_a.post(
            w.path("/credit-settlements"),
            {"card_no": no, "store_id": w.store_a, "amount": 5800, "payment_method": "cash"},
        ),
        201,
    )
    assert settled["balances"]["credit_used"] == 0 and settled["balances"]["credit_available"] == 20000


def test_only_hq_grants_credit_and_only_managers_grant_bonus(w, funded):
    no = funded["card_no"]
    before = w.balances(no)
    w.refused(
        w.manager_a.post(w.path("/credit-limits"), {"card_no": no, "credit_limit": 100}), 403, "forbidden", no, before
    )
    w.refused(
        w.cashier_a.post(
            w.path("/bonus-grants"), {"card_no": no, "store_id": w.store_a, "amount": 100, "reason": "nice"}
        ),
        403,
        "forbidden",
        no,
        before,
    )


def test_a_frozen_card_is_refused_at_once(w, funded):
    no = funded["card_no"]
    ok(w.cashier_a.post(w.world.path(f"/cards/{funded['id']}/freeze"), {"reason": "reported lost"}))
    before = w.balances(no)
    for result in (w.consume(no, [WASH]), w.recharge(no, 1000)):
        err = w.refused(result, 409, "card_not_active", no, before)
        assert err["fields"] == {"card_no": ["The card is frozen."]}


def test_a_cashier_transacts_on_any_card_but_only_at_their_own_store(w, funded):
    no = funded["card_no"]
    before = w.balances(no)
    err = w.refused(w.consume(no, [WASH], api=w.cashier_b, store=w.store_a), 403, "forbidden", no, before)
    assert "store_id" in err["fields"]
    # the card enrolled at A works at B, with B's cashier (O-7)
    answer = ok(w.consume(no, [WASH], api=w.cashier_b, store=w.store_b), 201)
    assert answer["store_id"] == w.store_b and answer["paid"]["cash"] == 10800


def test_bad_input_is_refused_with_the_field(w, funded):
    no = funded["card_no"]
    before = w.balances(no)
    cases = [
        ([{**WASH, "unit_price": -1}], "lines"),
        ([{**WASH, "unit_price": 120.5}], "lines"),
        ([{**WASH, "quantity": 0}], "lines"),
        ([], "lines"),
    ]
    for lines, field in cases:
        err = w.refused(w.consume(no, lines), 422, "validation_failed", no, before)
        assert field in err["fields"]
    err = w.refused(w.recharge(no, 0), 422, "validation_failed", no, before)
    assert "amount" in err["fields"]
    err = w.refused(w.recharge(no, 1000, payment_method="card"), 422, "validation_failed", no, before)
    assert "payment_method" in err["fields"]


def test_unknown_card_is_not_found_and_a_typo_fails_the_check_digit(w, funded):
    no = funded["card_no"]
    before = w.balances(no)
    typo = no[:-1] + str((int(no[-1]) + 1) % 10)
    err = error(w.consume(typo, [WASH]), 422)
    assert "card_no" in err["fields"]
    assert w.balances(no) == before


def test_limits_per_purchase_and_per_day(w):
    card = w.card(tier_code="WLIMIT")
    no = card["card_no"]
    ok(w.recharge(no, 100000), 201)
    before = w.balances(no)
    big = {**WASH, "category": "other", "unit_price": 20001}
    err = w.refused(w.consume(no, [big]), 409, "limit_exceeded", no, before)
    assert "per purchase" in err["fields"]["amount_due"][0]
    ok(w.consume(no, [{**big, "unit_price": 20000}]), 201)
    before = w.balances(no)
    err = w.refused(w.consume(no, [{**big, "unit_price": 10001}]), 409, "limit_exceeded", no, before)
    assert "remaining limit of 10000" in err["fields"]["amount_due"][0]
    # what is paid at the counter does not count against the card's limits
    ok(w.consume(no, [{**big, "unit_price": 10000}]), 201)
    assert w.balances(no)["cash"] == 70000


def test_another_chain_cannot_touch_the_card(w, funded, admin):
    other = wallet_world(admin)
    no = funded["card_no"]
    before = w.balances(no)
    result = other.consume(no, [WASH], store=other.store_a)
    assert result.status_code in (404, 422)
    assert w.balances(no) == before
    error(
        w.cashier_a.post(
            f"/chains/{other.world.id}/wallet/recharges",
            {"card_no": no, "store_id": w.store_a, "amount": 100, "payment_method": "cash"},
        ),
        404,
    )
    assert w.balances(no) == before


def test_money_moves_only_at_a_real_open_store_of_the_chain(admin, settings):
    w = wallet_world(admin)
    no = w.card()["card_no"]
    before = w.balances(no)
    # HQ may work at any store of the chain, but not at one that does not exist
    err = w.refused(w.recharge(no, 10000, api=w.hq, store=str(uuid.uuid4())), 422, "validation_failed", no, before)
    assert err["fields"] == {"store_id": ["No such store in this chain."]}
    # nor at a closed one, once the wallet has heard of the closing from org
    ok(w.hq.patch(w.world.path(f"/stores/{w.store_b}"), {"status": "closed"}))
    sql = "SELECT status FROM wallet.stores WHERE store_id = :id"
    wait_for(lambda: raw_rows(settings, sql, id=w.store_b) == [{"status": "closed"}])
    err = w.refused(w.recharge(no, 10000, api=w.hq, store=w.store_b), 422, "validation_failed", no, before)
    assert err["fields"] == {"store_id": ["The store is closed."]}
    ok(w.recharge(no, 10000, api=w.hq, store=w.store_a), 201)


def test_payment_method_must_be_one_of_the_chains(admin):
    w = wallet_world(admin)
    no = w.card()["card_no"]
    before = w.balances(no)
    err = w.refused(w.recharge(no, 10000, payment_method="bitcoin"), 422, "validation_failed", no, before)
    assert err["fields"] == {"payment_method": ["Use one of: alipay, bank_card, cash, wechat."]}
    # a method HQ retired is refused too
    wechat = next(m for m in ok(w.hq.get(w.world.path("/payment-methods")))["items"] if m["code"] == "wechat")
    ok(w.hq.patch(w.world.path(f"/payment-methods/{wechat['id']}"), {"active": False}))
    w.refused(w.recharge(no, 10000, payment_method="wechat"), 422, "validation_failed", no, before)
    ok(w.recharge(no, 10000, payment_method="alipay"), 201)


def test_a_retry_gets_its_first_answer_even_after_the_store_closed(admin, settings):
    w = wallet_world(admin)
    no = w.card()["card_no"]
    key = uuid.uuid4().hex
    first = ok(w.recharge(no, 10000, api=w.hq, store=w.store_b, key=key), 201)
    ok(w.hq.patch(w.world.path(f"/stores/{w.store_b}"), {"status": "closed"}))
    sql = "SELECT status FROM wallet.stores WHERE store_id = :id"
    wait_for(lambda: raw_rows(settings, sql, id=w.store_b) == [{"status": "closed"}])
    # the till lost the first answer and retries blindly (W-9): same answer, charged once
    assert ok(w.recharge(no, 10000, api=w.hq, store=w.store_b, key=key), 201) == first
    assert w.balances(no)["cash"] == 10000
    # a new request at the closed store is refused
    before = w.balances(no)
    w.refused(w.recharge(no, 10000, api=w.hq, store=w.store_b), 422, "validation_failed", no, before)


def test_the_wallets_copy_of_a_store_keeps_the_newest_news_whatever_order_it_comes_in(settings, services):
    chain_id, store_id = str(uuid.uuid4()), str(uuid.uuid4())

    def store_event(status: str, at: str) -> dict:
        data = {
            "store_id": store_id,
            "chain_id": chain_id,
            "code": "S",
            "name": "S",
            "kind": "direct",
            "status": status,
            "franchisee_id": None,
        }
        return {**envelope("org", "store_changed", data, chain_id=chain_id, correlation_id=None), "occurred_at": at}

    newer = store_event("closed", "2026-11-25T10:00:02+00:00")
    older = store_event("active", "2026-11-25T10:00:01+00:00")
    dispatch = event_dispatcher({"AMQP_URI": settings.amqp_uri, "serializer": "json"})
    for event in (newer, older):  # the older one arrives last
        dispatch("org", "store_changed", event)
    sql = "SELECT status FROM wallet.stores WHERE store_id = :id"
    wait_for(lambda: raw_rows(settings, sql, id=store_id) == [{"status": "closed"}])
    inbox = "SELECT count(*) AS n FROM wallet.inbox WHERE event_id IN (:a, :b)"
    wait_for(lambda: raw_rows(settings, inbox, a=newer["id"], b=older["id"]) == [{"n": 2}])
    assert raw_rows(settings, sql, id=store_id) == [{"status": "closed"}]  # both handled; the older changed nothing


def test_totals_past_what_the_books_can_report_are_refused_naming_the_field(w, funded):
    """Each line's quantity and price in range, but their product or sum is not:
    a 422 naming the line or the lines, never a 500 from the event contract."""
    no = funded["card_no"]
    before = w.balances(no)
    huge = {**WASH, "quantity": 2000, "unit_price": 10**9}  # 2 * 10**12 fen on one line
    err = w.refused(w.consume(no, [WASH, huge]), 422, "validation_failed", no, before)
    assert err["fields"] == {
        "lines": {
            "1": {"unit_price": ["quantity x unit_price is 2000000000000 fen; one line comes to at most 10000000000."]}
        }
    }
    two = {**WASH, "quantity": 10000, "unit_price": 600000}  # 6 * 10**9 each: fine alone, 1.2 * 10**10 together
    err = w.refused(w.consume(no, [two, two], external_payment_method="cash"), 422, "validation_failed", no, before)
    assert err["fields"] == {"lines": ["The lines come to 12000000000 fen; one purchase comes to at most 10000000000."]}
    package = {
        "card_no": no,
        "store_id": w.store_a,
        "item_code": "WASH",
        "name": "Ten washes",
        "count": 10,
        "price": 10**10 + 1,
        "payment_method": "cash",
    }
    err = w.refused(w.cashier_a.post(w.path("/packages"), package), 422, "validation_failed", no, before)
    assert err["fields"] == {"price": ["Must be greater than or equal to 0 and less than or equal to 10000000000."]}


def test_a_balance_never_grows_past_what_an_answer_can_report(w):
    w.tier(code="WHUGE", name="Huge bonus", rank=12, recharge_bonus_rules=[{"threshold": 1, "bonus_fixed": 10**12}])
    no = w.card(tier_code="WHUGE")["card_no"]
    assert ok(w.recharge(no, 1), 201)["balances"]["bonus"] == 10**12
    before = w.balances(no)
    err = w.refused(w.recharge(no, 1), 422, "validation_failed", no, before)
    assert err["fields"] == {"amount": ["The bonus balance would exceed 1000000000000 fen; it holds 1000000000000."]}
    grant = {"card_no": no, "store_id": w.store_a, "amount": 1, "reason": "goodwill"}
    err = w.refused(w.manager_a.post(w.path("/bonus-grants"), grant), 422, "validation_failed", no, before)
    assert "amount" in err["fields"]


def test_a_consume_names_only_the_chains_own_staff_and_codes(w, funded, admin, settings):
    """Item and category codes are the chain's dictionaries' (S-2); the serving
    employee is active staff of this chain. Anything else is a 422 naming it."""
    no = funded["card_no"]
    before = w.balances(no)
    other = build_chain(admin)
    stranger = other.hq.principal["staff_id"]
    for staff_id in (stranger, str(uuid.uuid4())):
        err = w.refused(w.consume(no, [WASH], serving_employee_id=staff_id), 422, "validation_failed", no, before)
        assert err["fields"] == {"serving_employee_id": ["No such staff member in this chain."]}
    unknown = [WASH, {**WASH, "item_code": "NOPE"}, {**WASH, "category": "nope"}]
    err = w.refused(w.consume(no, unknown), 422, "validation_failed", no, before)
    assert err["fields"] == {
        "lines": {
            "1": {"item_code": ["No active item or service 'NOPE' in this chain."]},
            "2": {"category": ["No active category 'nope' in this chain."]},
        }
    }
    # staff of another store of the chain may serve; it is stored and published as given
    server = w.cashier_b.principal["staff_id"]
    sale = ok(w.consume(no, [WASH], serving_employee_id=server), 201)
    assert sale["serving_employee_id"] == server
    # the wallet keeps its own copies from org's events, and follows their changes
    wait_for(lambda: raw_rows(settings, "SELECT status FROM wallet.staff WHERE staff_id = :id", id=server))
    ok(w.hq.post(w.world.path(f"/staff/{server}/disable")))
    sql = "SELECT status FROM wallet.staff WHERE staff_id = :id"
    wait_for(lambda: raw_rows(settings, sql, id=server) == [{"status": "disabled"}])
    before = w.balances(no)
    err = w.refused(w.consume(no, [WASH], serving_employee_id=server), 422, "validation_failed", no, before)
    assert err["fields"] == {"serving_employee_id": ["The staff member is disabled."]}
    category = next(c for c in ok(w.hq.get(w.world.path("/categories")))["items"] if c["code"] == "oil")
    ok(w.hq.patch(w.world.path(f"/categories/{category['id']}"), {"active": False}))
    sql = "SELECT active FROM wallet.dictionary_entries WHERE chain_id = :chain AND code = 'oil'"
    wait_for(lambda: raw_rows(settings, sql, chain=w.world.id) == [{"active": False}])
    oil = {**WASH, "item_code": "OIL", "category": "oil"}
    err = w.refused(w.consume(no, [oil]), 422, "validation_failed", no, before)
    assert err["fields"] == {"lines": {"0": {"category": ["No active category 'oil' in this chain."]}}}
