"""Member and wallet together: spend drives upgrades (M-7), the wallet's card
return returns the card (W-7, M-3, M-8)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from services.kit.db import make_engine
from services.kit.outbox import OutboxWriter
from services.member import cards
from services.member.models import kit as member_kit
from tests.helpers import error, ok, raw_rows, wait_for
from tests.member_helpers import enrol_with_card, member_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mw(admin):
    return member_world(admin)


def wallet(mw, rest):
    return mw.path(f"/wallet{rest}")


def test_spending_past_silver_threshold_upgrades_the_card_keeping_its_number(mw):
    _, card = enrol_with_card(mw.cashier_a, mw)
    assert (card["tier_code"], card["version"]) == ("STANDARD", 1)
    store = mw.store("A")
    ok(
        mw.cashier_a.post(
            wallet(mw, "/recharges"),
            {"card_no": card["card_no"], "store_id": store, "amount": 150000, "payment_method": "cash"},
        ),
        201,
    )
    line = {"item_code": "R01", "name": "Oil change", "category": "repair", "quantity": 1, "unit_price": 60000}
    # 60000 fen: below Silver's 100000 threshold, nothing happens
    ok(
        mw.cashier_a.post(wallet(mw, "/consumes"), {"card_no": card["card_no"], "store_id": store, "lines": [line]}),
        201,
    )
    # the second brings cumulative spend to 120000 fen: Silver (M-7), same number, new version (M-4)
    ok(
        mw.cashier_a.post(wallet(mw, "/consumes"), {"card_no": card["card_no"], "store_id": store, "lines": [line]}),
        201,
    )

    def upgraded():
        now = ok(mw.cashier_a.get(mw.path(f"/cards/{card['id']}")))
        return now if now["tier_code"] == "SILVER" else None

    now = wait_for(upgraded)
    assert (now["card_no"], now["version"], now["status"]) == (card["card_no"], 2, "active")
    log = ok(mw.cashier_a.get(mw.path(f"/cards/{card['id']}/operations")))["items"]
    assert log[0]["kind"] == "tier_change" and log[0]["operator_name"] == "system"
    assert "120000" in log[0]["reason"]


def test_the_wallets_card_return_returns_the_card(mw):
    _, card = enrol_with_card(mw.cashier_a, mw)
    store = mw.store("A")
    ok(
        mw.cashier_a.post(
            wallet(mw, "/recharges"),
            {"card_no": card["card_no"], "store_id": store, "amount": 30000, "payment_method": "cash"},
        ),
        201,
    )
    back = ok(
        mw.cashier_a.post(
            wallet(mw, "/returns"),
            {"card_no": card["card_no"], "store_id": store, "payment_method": "cash", "reason": "moving away"},
        ),
        201,
    )
    assert back["cash_paid_back"] == 30000

    def returned():
        now = ok(mw.cashier_a.get(mw.path(f"/cards/{card['id']}")))
        return now if now["status"] == "returned" else None

    wait_for(returned)
    entry = ok(mw.cashier_a.get(mw.path(f"/cards/{card['id']}/operations")))["items"][0]
    assert entry["kind"] == "return" and entry["store_id"] == store
    assert entry["operator_id"] == mw.cashier_a.principal["staff_id"]
    # the log names the cashier who did it and keeps what they said; the money is in `after`
    assert entry["operator_name"] == mw.cashier_a.principal["display_name"] == "cashier A"
    assert entry["reason"] == "moving away"
    assert (entry["before"]["status"], entry["after"]["status"]) == ("active", "returned")
    assert (entry["after"]["cash_paid_back"], entry["after"]["bonus_forfeited"]) == (30000, 0)
    assert entry["after"]["payment_method"] == "cash"
    # the card can no longer be used for money
    refused = error(
        mw.cashier_a.post(
            wallet(mw, "/recharges"),
            {"card_no": card["card_no"], "store_id": store, "amount": 100, "payment_method": "cash"},
        ),
        409,
    )
    assert refused["code"] in ("card_not_active", "invalid_state")
    # there is one way to return a card: through the wallet, so money and status agree
    gone = mw.cashier_a.post(mw.path(f"/cards/{card['id']}/return"), {})
    assert gone.status_code in (404, 405)


def test_default_silver_tier_gives_50_yuan_on_a_1000_yuan_recharge(mw):
    # W-3 with the tiers a new chain gets: Silver, >= 1000 yuan -> +50 yuan
    _, card = enrol_with_card(mw.cashier_a, mw, tier_code="SILVER")
    body = {"card_no": card["card_no"], "store_id": mw.store("A"), "amount": 100000, "payment_method": "wechat"}
    answer = ok(mw.cashier_a.post(wallet(mw, "/recharges"), body), 201)
    assert (answer["amount"], answer["bonus"]) == (100000, 5000)
    assert (answer["balances"]["cash"], answer["balances"]["bonus"]) == (100000, 5000)
    # 999.99 yuan reaches only the 500-yuan rule: +20 yuan
    body = {**body, "amount": 99999}
    assert ok(mw.cashier_a.post(wallet(mw, "/recharges"), body), 201)["bonus"] == 2000


def test_a_spend_total_arriving_after_a_newer_one_is_ignored(mw, settings):
    member, _ = enrol_with_card(mw.cashier_a, mw)
    engine = make_engine(settings.database_url("member"), pool_size=1, application_name="spend-order-test")
    events = OutboxWriter(member_kit.outbox, "member")
    newer = datetime(2026, 11, 25, 10, 0, 1, tzinfo=UTC)
    older = newer - timedelta(seconds=1)
    try:
        with Session(engine) as session, session.begin():
            assert cards.record_spend(session, events, mw.id, member["id"], 120000, newer) is not None
        # the event of the earlier consume, delivered late, does not take the total back
        with Session(engine) as session, session.begin():
            assert cards.record_spend(session, events, mw.id, member["id"], 60000, older) is None
    finally:
        engine.dispose()
    sql = "SELECT cumulative_spend FROM member.members WHERE id = :id"
    assert raw_rows(settings, sql, id=member["id"]) == [{"cumulative_spend": 120000}]


def test_a_cards_own_limit_applies_on_top_of_its_tiers(mw):
    _, card = enrol_with_card(mw.cashier_a, mw)  # Standard: no limits of its own tier
    store = mw.store("A")
    recharge = {"card_no": card["card_no"], "store_id": store, "amount": 50000, "payment_method": "cash"}
    ok(mw.cashier_a.post(wallet(mw, "/recharges"), recharge), 201)
    body = {"limits": {"per_transaction_limit": None, "daily_limit": 20000}, "reason": "parent's request"}
    assert error(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/limits"), body), 403)["code"] == "forbidden"
    limited = ok(mw.manager_a.post(mw.path(f"/cards/{card['id']}/limits"), body))
    assert limited["limits"] == {"per_transaction_limit": None, "daily_limit": 20000}
    line = {"item_code": "W01", "name": "Wash", "category": "wash", "quantity": 1, "unit_price": 12000}
    consume = {"card_no": card["card_no"], "store_id": store, "lines": [line]}
    ok(mw.cashier_a.post(wallet(mw, "/consumes"), consume), 201)  # 12000 of today's 20000
    refused = error(mw.cashier_a.post(wallet(mw, "/consumes"), consume), 409)
    assert refused["code"] == "limit_exceeded"
    assert refused["fields"] == {"amount_due": ["12000 fen from the card is over today's remaining limit of 8000."]}
    balances = ok(mw.cashier_a.get(wallet(mw, f"/cards/{card['card_no']}/balances")))["balances"]
    assert balances["cash"] == 50000 - 12000
    log = ok(mw.manager_a.get(mw.path(f"/cards/{card['id']}/operations")))["items"][0]
    assert log["kind"] == "limits" and log["after"]["limits"]["daily_limit"] == 20000
    assert log["before"]["limits"] == {"per_transaction_limit": None, "daily_limit": None}


def test_a_replacement_card_keeps_the_lost_cards_own_limits(mw):
    """M-5, W-8: the limits set on a card are the member's choice, not the plastic's."""
    _, card = enrol_with_card(mw.cashier_a, mw)
    store = mw.store("A")
    recharge = {"card_no": card["card_no"], "store_id": store, "amount": 50000, "payment_method": "cash"}
    ok(mw.cashier_a.post(wallet(mw, "/recharges"), recharge), 201)
    body = {"limits": {"per_transaction_limit": 5000, "daily_limit": 8000}, "reason": "fleet card"}
    ok(mw.manager_a.post(mw.path(f"/cards/{card['id']}/limits"), body))
    ok(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/freeze"), {"reason": "lost"}))
    new = ok(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/replace"), {"reason": "lost"}))
    assert new["limits"] == {"per_transaction_limit": 5000, "daily_limit": 8000}
    log = ok(mw.manager_a.get(mw.path(f"/cards/{new['id']}/operations")))["items"][0]
    assert log["kind"] == "issue" and log["after"]["limits"] == {"per_transaction_limit": 5000, "daily_limit": 8000}
    line = {"item_code": "W01", "name": "Wash", "category": "wash", "quantity": 1, "unit_price": 5001}
    consume = {"card_no": new["card_no"], "store_id": store, "lines": [line]}
    refused = error(mw.cashier_a.post(wallet(mw, "/consumes"), consume), 409)
    assert refused["code"] == "limit_exceeded"
    assert "per purchase" in refused["fields"]["amount_due"][0]
    ok(mw.cashier_a.post(wallet(mw, "/consumes"), {**consume, "lines": [{**line, "unit_price": 5000}]}), 201)
    # 5000 of today's 8000 spent: 3001 more is over the day's limit
    refused = error(
        mw.cashier_a.post(wallet(mw, "/consumes"), {**consume, "lines": [{**line, "unit_price": 3001}]}), 409
    )
    assert refused["fields"] == {"amount_due": ["3001 fen from the card is over today's remaining limit of 3000."]}
    balances = ok(mw.cashier_a.get(wallet(mw, f"/cards/{new['card_no']}/balances")))["balances"]
    assert balances["cash"] == 50000 - 5000


def test_a_member_who_returned_their_card_can_come_back_with_a_new_one(mw, settings):
    member, card = enrol_with_card(mw.cashier_a, mw)
    store = mw.store("A")
    body = {"card_no": card["card_no"], "store_id": store, "payment_method": "cash"}
    ok(mw.cashier_a.post(wallet(mw, "/returns"), body), 201)
    wait_for(lambda: ok(mw.cashier_a.get(mw.path(f"/cards/{card['id']}")))["status"] == "returned")
    again = ok(mw.cashier_a.post(mw.path(f"/members/{member['id']}/cards"), {}), 201)
    sql = "SELECT status FROM wallet.wallets WHERE member_id = :id"
    wait_for(lambda: raw_rows(settings, sql, id=member["id"]) == [{"status": "open"}])
    recharge = {"card_no": again["card_no"], "store_id": store, "amount": 5000, "payment_method": "cash"}
    assert ok(mw.cashier_a.post(wallet(mw, "/recharges"), recharge), 201)["balances"]["cash"] == 5000
