"""The points service through the HTTP API with the real services (P-1..P-7): earning from
the wallet's consumes and refunds, staff grants, cash points, redemption, expiry, referral."""

import random
import uuid

import eventlet
import pytest
from nameko.standalone.events import event_dispatcher
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.kit.outbox import OutboxWriter
from services.points import jobs
from services.points.models import kit
from tests.helpers import error, ok, raw_rows, unique, wait_for
from tests.points_helpers import RULES, oil, points_world, today, transactions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pw(admin):
    return points_world(admin)


def paid_consume(pw, card: dict, lines: list[dict], recharge: int) -> dict:
    ok(pw.wallet.recharge(card["card_no"], recharge), 201)
    return ok(pw.wallet.consume(card["card_no"], lines), 201)


def sql(settings, statement: str, **params) -> list[dict]:
    return raw_rows(settings, statement, **params)


def test_gold_member_paying_200_yuan_in_double_points_earns_600_and_half_a_refund_reverses_300(pw, settings):
    promotion = ok(
        pw.hq.post(
            pw.path("/promotions"),
            {"name": "Double points", "starts_on": today(), "ends_on": today(), "multiplier": "2"},
        ),
        201,
    )
    try:
        card = pw.wallet.card("PGOLD")
        receipt = paid_consume(pw, card, [oil(2, 10000)], 30000)
        assert receipt["paid"]["cash"] == 20000
        # 200 yuan x base 1 x Gold 1.5 x double 2 = 600
        shown = pw.wait_balance(card["card_no"], 600)
        assert (shown["lifetime_points"], [lot["remaining"] for lot in shown["lots"]]) == (600, [600])
        refund = {"transaction_id": receipt["transaction_id"], "store_id": pw.wallet.store_a, "reason": "one back"}
        ok(
            pw.wallet.cashier_a.post(pw.wallet.path("/refunds"), {**refund, "lines": [{"line_no": 1, "quantity": 1}]}),
            201,
        )
        pw.wait_balance(card["card_no"], 300)
        [reverse] = transactions(settings, card["member_id"], "reverse")
        assert (reverse["points"], reverse["shortfall"]) == (-300, 0)
        history = ok(pw.wallet.cashier_a.get(pw.path(f"/cards/{card['card_no']}/history")))["items"]
        assert [(h["kind"], h["points"], h["balance_after"]) for h in history] == [
            ("reverse", -300, 300),
            ("earn", 600, 600),
        ]
        only_earns = ok(pw.wallet.cashier_a.get(pw.path(f"/cards/{card['card_no']}/history"), {"kind": "earn"}))
        assert [h["kind"] for h in only_earns["items"]] == ["earn"]
    finally:
        ok(pw.hq.patch(pw.path(f"/promotions/{promotion['id']}"), {"active": False}))


def _outbox_event(settings, event_type: str, transaction_id: str) -> dict:
    rows = sql(
        settings,
        "SELECT payload FROM wallet.outbox WHERE event_type = :t AND payload->'data'->>'transaction_id' = :x",
        t=event_type,
        x=transaction_id,
    )
    return rows[0]["payload"]


def test_the_same_consume_twice_earns_once_and_a_refund_before_its_consume_still_reverses(pw, settings):
    card = pw.wallet.card("PGOLD")
    receipt = paid_consume(pw, card, [oil(1, 10000)], 10000)
    pw.wait_balance(card["card_no"], 150)  # 100 yuan x 1.5
    consumed = _outbox_event(settings, "consumed", receipt["transaction_id"])
    dispatch = event_dispatcher(settings.nameko_config())
    dispatch("wallet", "consumed", consumed)  # redelivered as it was
    dispatch("wallet", "consumed", {**consumed, "id": str(uuid.uuid4())})  # the same consume, another envelope
    # out of order: a refund of half a consume arrives before the consume itself
    ok(
        pw.wallet.cashier_a.post(
            pw.wallet.path("/refunds"),
            {"transaction_id": receipt["transaction_id"], "store_id": pw.wallet.store_a, "reason": "x"},
        ),
        201,
    )
    refunded = wait_for(lambda: _outbox_event(settings, "refunded", _refund_id(settings, receipt["transaction_id"])))
    pw.wait_balance(card["card_no"], 0)
    twin = str(uuid.uuid4())
    early = {
        **refunded,
        "id": str(uuid.uuid4()),
        "data": {**refunded["data"], "consume_id": twin, "transaction_id": str(uuid.uuid4())},
    }
    early["data"]["lines"] = [{**early["data"]["lines"][0], "amount": 5000}]
    early["data"]["amount"] = 5000
    dispatch("wallet", "refunded", early)
    wait_for(lambda: sql(settings, "SELECT 1 FROM points.early_refunds WHERE consume_id = :c", c=twin))
    dispatch(
        "wallet",
        "consumed",
        {**consumed, "id": str(uuid.uuid4()), "data": {**consumed["data"], "transaction_id": twin}},
    )
    pw.wait_balance(card["card_no"], 75)  # the twin earns 150, and its early refund of half reverses 75
    earns = transactions(settings, card["member_id"], "earn")
    assert sorted((t["reference"], t["points"]) for t in earns) == sorted(
        [(receipt["transaction_id"], 150), (twin, 150)]
    )
    assert [t["points"] for t in transactions(settings, card["member_id"], "reverse")] == [-150, -75]
    assert sql(settings, "SELECT 1 FROM points.early_refunds WHERE consume_id = :c", c=twin) == []


def _refund_id(settings, consume_id: str) -> str | None:
    rows = sql(settings, "SELECT id FROM wallet.transactions WHERE ref_tx_id = :c AND kind = 'refund'", c=consume_id)
    return rows[0]["id"] if rows else None


def test_a_consume_paid_half_from_bonus_earns_on_the_cash_half_only(pw):
    card = pw.wallet.card()
    ok(pw.wallet.recharge(card["card_no"], 10000), 201)
    bonus = {"card_no": card["card_no"], "store_id": pw.wallet.store_a, "amount": 10000, "reason": "welcome"}
    ok(pw.wallet.manager_a.post(pw.wallet.path("/bonus-grants"), bonus), 201)
    receipt = ok(pw.wallet.consume(card["card_no"], [oil(1, 20000)]), 201)
    assert (receipt["paid"]["cash"], receipt["paid"]["bonus"]) == (10000, 10000)
    assert pw.wait_balance(card["card_no"], 100)["year_spend"] == 20000


def test_a_reversal_meeting_spent_points_takes_what_is_there_and_records_the_shortfall(pw, settings):
    card = pw.wallet.card("PGOLD")
    receipt = paid_consume(pw, card, [oil(1, 10000)], 10000)
    pw.wait_balance(card["card_no"], 150)
    redeem = {"card_no": card["card_no"], "store_id": pw.wallet.store_a, "points": 100, "reference": unique("gift")}
    ok(pw.wallet.cashier_a.post(pw.path("/redemptions"), redeem), 201)
    ok(
        pw.wallet.cashier_a.post(
            pw.wallet.path("/refunds"),
            {"transaction_id": receipt["transaction_id"], "store_id": pw.wallet.store_a, "reason": "x"},
        ),
        201,
    )
    wait_for(lambda: transactions(settings, card["member_id"], "reverse"))
    [reverse] = transactions(settings, card["member_id"], "reverse")
    assert (reverse["points"], reverse["shortfall"], reverse["balance_after"]) == (-50, 100, 0)


def test_redeeming_more_than_the_balance_is_refused_and_cancelling_restores_exactly(pw, settings):
    card = pw.wallet.card()
    ok(pw.grant(card["card_no"], 500), 201)
    ok(pw.grant(card["card_no"], 200, kind="rebate"), 201)
    body = {"card_no": card["card_no"], "store_id": pw.wallet.store_a, "points": 800, "reference": unique("gift")}
    pw.refused(pw.wallet.cashier_a.post(pw.path("/redemptions"), body), 409, "insufficient_points", "points")
    assert pw.balance(card["card_no"])["balance"] == 700
    key = uuid.uuid4().hex
    first = ok(pw.wallet.cashier_a.post(pw.path("/redemptions"), {**body, "points": 600}, key=key), 201)
    again = ok(pw.wallet.cashier_a.post(pw.path("/redemptions"), {**body, "points": 600}, key=key), 201)
    assert again == first and first["balance"] == 100
    assert [lot["remaining"] for lot in pw.balance(card["card_no"])["lots"]] == [100]  # oldest lot first
    cancel = {"store_id": pw.wallet.store_a, "reason": "gift out of stock"}
    done = ok(pw.wallet.cashier_a.post(pw.path(f"/redemptions/{first['redemption_id']}/cancel"), cancel), 201)
    assert (done["status"], done["points"], done["balance"]) == ("cancelled", 600, 700)
    assert [lot["remaining"] for lot in pw.balance(card["card_no"])["lots"]] == [500, 200]
    err = error(pw.wallet.cashier_a.post(pw.path(f"/redemptions/{first['redemption_id']}/cancel"), cancel), 409)
    assert err["code"] == "invalid_state"
    # a lot that expired since the redemption: its points come back in a fresh lot
    second = ok(
        pw.wallet.cashier_a.post(pw.path("/redemptions"), {**body, "points": 500, "reference": unique("g")}), 201
    )
    first_lot = pw.balance(card["card_no"])["lots"][0]
    assert first_lot["remaining"] == 200
    sql(
        settings,
        "UPDATE points.lots SET expires_at = now() - interval '1 day'"
        " WHERE tx_id IN (SELECT id FROM points.transactions WHERE member_id = :m AND kind = 'gift') RETURNING id",
        m=card["member_id"],
    )
    ok(pw.wallet.cashier_a.post(pw.path(f"/redemptions/{second['redemption_id']}/cancel"), cancel), 201)
    lots = pw.balance(card["card_no"])["lots"]
    assert pw.balance(card["card_no"])["balance"] == 700
    assert sorted(lot["remaining"] for lot in lots) == [200, 500] and all(lot["points"] in (200, 500) for lot in lots)


def _run_job(settings) -> dict:
    engine = create_engine(settings.database_url("points"))
    try:
        with Session(engine) as session:
            return jobs.run(session, OutboxWriter(kit.outbox, "points"))
    finally:
        engine.dispose()


def test_the_job_reminds_before_expiry_then_expires_once_even_on_two_instances(pw, settings):
    card = pw.wallet.card()
    ok(pw.grant(card["card_no"], 100), 201)
    member = card["member_id"]
    sql(
        settings,
        "UPDATE points.lots SET expires_at = now() + interval '2 days' WHERE member_id = :m RETURNING id",
        m=member,
    )
    _run_job(settings)
    _run_job(settings)
    reminders = sql(
        settings,
        "SELECT payload FROM points.outbox WHERE event_type = 'expiring_soon' AND payload->'data'->>'member_id' = :m",
        m=member,
    )
    assert [r["payload"]["data"]["points"] for r in reminders] == [100]  # once, however many runs
    sql(
        settings,
        "UPDATE points.lots SET expires_at = now() - interval '1 minute' WHERE member_id = :m RETURNING id",
        m=member,
    )
    runs = [eventlet.spawn(_run_job, settings) for _ in range(2)]  # two instances at once
    [run.wait() for run in runs]
    _run_job(settings)  # and once more
    [expired] = transactions(settings, member, "expire")
    assert (expired["points"], expired["balance_after"]) == (-100, 0)
    assert pw.balance(card["card_no"])["balance"] == 0 and pw.balance(card["card_no"])["lots"] == []


def test_the_yearly_reset_takes_points_earned_before_it(pw, settings):
    card = pw.wallet.card()
    ok(pw.grant(card["card_no"], 40), 201)
    ok(pw.grant(card["card_no"], 2), 201)
    member = card["member_id"]
    sql(
        settings,
        "UPDATE points.lots SET earned_at = earned_at - interval '400 days'"
        " WHERE member_id = :m AND points = 40 RETURNING id",
        m=member,
    )
    month, day = (int(x) for x in today().split("-")[1:])
    ok(pw.hq.post(pw.path("/rules"), {**RULES, "reset_month": month, "reset_day": min(day, 28)}))
    try:
        _run_job(settings)
    finally:
        ok(pw.hq.post(pw.path("/rules"), RULES))
    [reset] = transactions(settings, member, "reset")
    assert (reset["points"], reset["balance_after"]) == (-40, 2)


def test_staff_grants_adjustments_and_cash_points(pw, settings):
    card = pw.wallet.card("PGOLD")
    moved = ok(pw.grant(card["card_no"], 30, kind="rebate"), 201)
    assert (moved["kind"], moved["points"], moved["balance"], moved["operator_id"]) == (
        "rebate",
        30,
        30,
        pw.wallet.manager_a.principal["staff_id"],
    )
    pw.refused(pw.grant(card["card_no"], -31, kind="adjust"), 409, "insufficient_points", "points")
    assert ok(pw.grant(card["card_no"], -30, kind="adjust"), 201)["balance"] == 0
    pw.refused(pw.grant(card["card_no"], -5), 422, "validation_failed", "points")  # only an adjustment takes away
    assert error(
        pw.wallet.cashier_a.post(
            pw.path("/grants"),
            {"card_no": card["card_no"], "store_id": pw.wallet.store_a, "kind": "gift", "points": 5, "reason": "x"},
        ),
        403,
    )
    receipt = {"card_no": card["card_no"], "store_id": pw.wallet.store_a, "amount": 15000, "receipt_no": unique("R")}
    cash = ok(pw.wallet.cashier_a.post(pw.path("/cash-points"), receipt), 201)
    assert (cash["kind"], cash["points"], cash["reference"]) == ("cash", 225, receipt["receipt_no"])  # 150 x 1.5
    pw.refused(pw.wallet.cashier_a.post(pw.path("/cash-points"), receipt), 409, "already_exists", "receipt_no")
    assert pw.balance(card["card_no"])["balance"] == 225


def test_rules_and_promotions_are_validated_and_belong_to_hq(pw):
    shown = ok(pw.wallet.cashier_a.get(pw.path("/rules")))
    assert (shown["base_rate"], shown["tier_multipliers"]) == ("1", [{"tier_code": "PGOLD", "multiplier": "1.5"}])
    error(pw.wallet.cashier_a.post(pw.path("/rules"), RULES), 403)
    for bad, field in (
        ({"base_rate": "1.23456"}, "base_rate"),
        ({"base_rate": 1.5}, "base_rate"),
        ({"category_rates": [{"category": "oil", "rate": "2"}, {"category": "oil", "rate": "3"}]}, "category_rates"),
        ({"reset_month": 2}, "reset_day"),
    ):
        assert field in error(pw.hq.post(pw.path("/rules"), {**RULES, **bad}), 422)["fields"], bad
    assert ok(pw.wallet.cashier_a.get(pw.path("/rules")))["base_rate"] == "1"
    promo = {"name": "P", "starts_on": today(), "ends_on": today()}
    assert (
        "multiplier"
        in error(pw.hq.post(pw.path("/promotions"), {**promo, "multiplier": "2", "extra_points": 5}), 422)["fields"]
    )
    assert (
        "ends_on"
        in error(
            pw.hq.post(
                pw.path("/promotions"), {**promo, "starts_on": "2030-01-02", "ends_on": "2030-01-01", "multiplier": "2"}
            ),
            422,
        )["fields"]
    )
    assert (
        "categories"
        in error(pw.hq.post(pw.path("/promotions"), {**promo, "multiplier": "2", "categories": ["nosuch"]}), 422)[
            "fields"
        ]
    )
    assert ok(pw.wallet.cashier_a.get(pw.path("/promotions")))["items"] == []


def test_the_referrer_earns_once_when_the_referred_member_first_consumes(pw, settings):
    ok(pw.hq.post(pw.path("/rules"), {**RULES, "referral_points": 50}))
    try:
        referrer = pw.wallet.card()
        phone = f"137{random.randint(0, 99999999):08d}"
        member = ok(
            pw.wallet.cashier_a.post(
                pw.wallet.world.path("/members"),
                {"name": "Referred", "phone": phone, "referrer_id": referrer["member_id"]},
            ),
            201,
        )
        card = ok(
            pw.wallet.cashier_a.post(pw.wallet.world.path(f"/members/{member['id']}/cards"), {"tier_code": "WSILVER"}),
            201,
        )
        paid_consume(pw, card, [oil(1, 1000)], 2000)
        ok(pw.wallet.consume(card["card_no"], [oil(1, 1000)]), 201)  # a second consume pays no more
        pw.wait_balance(referrer["card_no"], 50)
        pw.wait_balance(card["card_no"], 20)
        listing = ok(pw.wallet.cashier_a.get(pw.path(f"/cards/{referrer['card_no']}/referrals")))
        assert listing["items"] == [{"member_id": member["id"], "rewarded": True, "points": 50}]
        assert len(transactions(settings, referrer["member_id"], "referral")) == 1
    finally:
        ok(pw.hq.post(pw.path("/rules"), RULES))


def test_crossing_the_silver_points_threshold_makes_the_member_silver_with_the_same_card(pw):
    tiers = ok(pw.hq.get(pw.wallet.world.path("/tiers")))["items"]
    [silver] = [t for t in tiers if t["code"] == "SILVER"]
    ok(
        pw.hq.patch(
            pw.wallet.world.path(f"/tiers/{silver['id']}"),
            {"upgrade_metric": "lifetime_points", "upgrade_threshold": 1000},
        )
    )
    card = pw.wallet.card("STANDARD")
    ok(pw.grant(card["card_no"], 999), 201)
    pw.wait_balance(card["card_no"], 999)

    def tier() -> dict:
        return ok(pw.hq.get(pw.wallet.world.path(f"/cards/{card['id']}")))

    eventlet.sleep(1.0)
    assert tier()["tier_code"] == "STANDARD"
    ok(pw.grant(card["card_no"], 1), 201)
    now = wait_for(lambda: (t := tier())["tier_code"] == "SILVER" and t, timeout=15)
    assert (now["card_no"], now["version"]) == (card["card_no"], 2)


def test_another_chains_staff_see_nothing_of_this_chains_points(pw, admin):
    card = pw.wallet.card()
    other = points_world(admin)
    assert error(other.wallet.cashier_a.get(pw.path(f"/cards/{card['card_no']}/balance")), 404)["code"] == "not_found"
    body = {"card_no": card["card_no"], "store_id": pw.wallet.store_a, "points": 1, "reference": unique("gift")}
    assert error(other.hq.post(pw.path("/redemptions"), body), 404)["code"] == "not_found"
