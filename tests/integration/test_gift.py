"""The gift service through the HTTP API with the real services (G-1, G-2, S-3): the catalogue,
redemption that takes points and stock together or neither, cancellation, the record and
the receipt."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from tests.helpers import error, ok, raw_rows, unique
from tests.points_helpers import points_world, today

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pw(admin):
    return points_world(admin)


def gifts(pw, rest: str = "") -> str:
    return pw.wallet.world.path(f"/gifts{rest}")


def redemptions(pw, rest: str = "") -> str:
    return pw.wallet.world.path(f"/gift-redemptions{rest}")


def new_gift(pw, **fields) -> dict:
    body = {"name": unique("Umbrella "), "market_price": 5900, "points_cost": 600, "stock": 5, **fields}
    return ok(pw.hq.post(gifts(pw), body), 201)


def member_with(pw, points: int) -> dict:
    card = pw.wallet.card()
    if points:
        ok(pw.grant(card["card_no"], points), 201)
    return card


def redeem(pw, gift: dict, card: dict, api=None, key: str = "auto", **extra):
    body = {"gift_id": gift["id"], "card_no": card["card_no"], "store_id": pw.wallet.store_a, **extra}
    return (api or pw.wallet.cashier_a).post(redemptions(pw), body, key=key)


def stock_of(pw, gift: dict) -> int:
    return ok(pw.hq.get(gifts(pw, f"/{gift['id']}")))["stock"]


def test_1000_points_redeem_a_600_point_gift_then_cancelling_gives_both_back(pw, settings):
    gift = new_gift(pw)
    card = member_with(pw, 1000)
    done = ok(redeem(pw, gift, card), 201)
    assert (done["status"], done["points"], done["quantity"]) == ("completed", 600, 1)
    assert (done["store_id"], done["operator_id"]) == (pw.wallet.store_a, pw.wallet.cashier_a.principal["staff_id"])
    assert pw.balance(card["card_no"])["balance"] == 400  # 1000 - 600
    assert stock_of(pw, gift) == 4  # 5 - 1
    record = ok(pw.hq.get(redemptions(pw), {"member_id": card["member_id"]}))["items"]
    assert [(r["id"], r["gift_name"], r["operator_name"]) for r in record] == [
        (done["id"], gift["name"], pw.wallet.cashier_a.principal["display_name"])
    ]
    [points_tx] = raw_rows(
        settings, "SELECT points FROM points.transactions WHERE reference = :r", r=f"gift:{done['id']}"
    )
    assert points_tx["points"] == -600

    cancelled = ok(pw.wallet.manager_a.post(redemptions(pw, f"/{done['id']}/cancel"), {"reason": "changed mind"}), 201)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_operator_id"] == pw.wallet.manager_a.principal["staff_id"]
    assert pw.balance(card["card_no"])["balance"] == 1000
    assert stock_of(pw, gift) == 5
    again = error(pw.wallet.manager_a.post(redemptions(pw, f"/{done['id']}/cancel"), {"reason": "twice"}), 409)
    assert "status" in again["fields"]


def test_a_retry_with_the_same_key_returns_the_first_answer_and_takes_nothing_twice(pw):
    gift = new_gift(pw, points_cost=100)
    card = member_with(pw, 250)
    first = ok(redeem(pw, gift, card, key="same-key-1"), 201)
    assert ok(redeem(pw, gift, card, key="same-key-1"), 201) == first
    assert pw.balance(card["card_no"])["balance"] == 150
    assert stock_of(pw, gift) == 4
    mismatch = error(redeem(pw, gift, card, key="same-key-1", quantity=2), 409)
    assert mismatch["code"] == "idempotency_mismatch"


def test_not_enough_points_is_refused_with_the_reason_and_the_stock_released(pw):
    gift = new_gift(pw, points_cost=600, stock=1)
    card = member_with(pw, 599)
    refused = error(redeem(pw, gift, card, key="short-1"), 409)
    assert refused["code"] == "insufficient_points" and "points" in refused["fields"]
    assert stock_of(pw, gift) == 1  # released
    assert pw.balance(card["card_no"])["balance"] == 599
    assert error(redeem(pw, gift, card, key="short-1"), 409) == refused  # the key's final answer
    [record] = ok(pw.hq.get(redemptions(pw), {"gift_id": gift["id"]}))["items"]
    assert (record["status"], record["refusal"]["code"]) == ("refused", "insufficient_points")


def definite(pw, gift: dict, card: dict):
    """As a till does: retry with the same key until the answer is a success or a refusal (a
    503 on this shared machine is PostgreSQL out of connections: nothing was done)."""
    key = uuid.uuid4().hex
    for _ in range(20):
        result = redeem(pw, gift, card, key=key)
        if result.status_code < 500:
            return result
        time.sleep(0.5)
    return result


def test_ten_members_redeem_the_last_item_at_once_exactly_one_succeeds(pw):
    gift = new_gift(pw, points_cost=100, stock=1)
    cards = [member_with(pw, 300) for _ in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda card: definite(pw, gift, card), cards))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * 9, [r.text for r in results]
    assert all(r.json["error"]["code"] == "out_of_stock" for r in results if r.status_code == 409)
    assert all("quantity" in r.json["error"]["fields"] for r in results if r.status_code == 409)
    assert stock_of(pw, gift) == 0
    balances = sorted(pw.balance(card["card_no"])["balance"] for card in cards)
    assert balances == [200] + [300] * 9  # only the winner paid 100


def test_per_member_limit_and_valid_dates_are_enforced_naming_the_field(pw):
    limited = new_gift(pw, points_cost=10, stock=10, limit_quantity=2, limit_period="year")
    card = member_with(pw, 100)
    ok(redeem(pw, limited, card, quantity=2), 201)
    over = error(redeem(pw, limited, card), 409)
    assert over["code"] == "limit_exceeded" and "limit_quantity" in over["fields"]
    assert pw.balance(card["card_no"])["balance"] == 80  # 100 - 2 x 10, nothing more
    assert stock_of(pw, limited) == 8

    tomorrow = (date.fromisoformat(today()) + timedelta(days=1)).isoformat()
    yesterday = (date.fromisoformat(today()) - timedelta(days=1)).isoformat()
    early = new_gift(pw, points_cost=10, valid_from=tomorrow)
    late = new_gift(pw, points_cost=10, valid_to=yesterday)
    assert "valid_from" in error(redeem(pw, early, card), 409)["fields"]
    assert "valid_to" in error(redeem(pw, late, card), 409)["fields"]
    assert (stock_of(pw, early), stock_of(pw, late)) == (5, 5)
    assert pw.balance(card["card_no"])["balance"] == 80
    backwards = error(
        pw.hq.post(
            gifts(pw), {"name": "x", "market_price": 1, "points_cost": 1, "valid_from": today(), "valid_to": yesterday}
        ),
        422,
    )
    assert "valid_to" in backwards["fields"]


def test_receipt_prints_the_redemption_with_the_chain_footer_and_a_signature_line(pw):
    gift = new_gift(pw, points_cost=100, name="伞 <Umbrella>")
    card = member_with(pw, 100)
    done = ok(redeem(pw, gift, card), 201)
    for paper in ("80mm", "a4"):
        result = pw.wallet.cashier_a.client.simulate_get(
            f"/api/v1{redemptions(pw, '/' + done['id'] + '/receipt')}",
            params={"format": paper},
            headers=pw.wallet.cashier_a.headers(),
        )
        assert result.status_code == 200 and result.headers["content-type"].startswith("text/html")
        assert "伞 &lt;Umbrella&gt;" in result.text and "Member signature" in result.text
        assert ("80mm" if paper == "80mm" else "A4") in result.text
        assert card["card_no"] not in result.text and "********" + card["card_no"][-4:] in result.text


def outbox(settings, event_type: str, gift_id: str) -> list[dict]:
    sql = "SELECT payload FROM gift.outbox WHERE event_type = :t AND payload->'data'->>'gift_id' = :g ORDER BY seq"
    return [r["payload"]["data"] for r in raw_rows(settings, sql, t=event_type, g=gift_id)]


def test_stock_per_store_is_taken_at_the_store_and_stock_low_is_told_once_per_dip(pw, settings):
    gift = new_gift(pw, points_cost=10, stock_mode="store", stock=0, low_stock_threshold=1)
    stock = gifts(pw, f"/{gift['id']}/stock")
    needs_store = error(pw.hq.post(stock, {"change": 2}), 422)
    assert "store_id" in needs_store["fields"]
    ok(pw.hq.post(stock, {"store_id": pw.wallet.store_a, "change": 2}))
    ok(pw.hq.post(stock, {"store_id": pw.wallet.store_b, "change": 5}))
    too_many = error(pw.hq.post(stock, {"store_id": pw.wallet.store_b, "change": -6}), 409)
    assert too_many["code"] == "out_of_stock" and "change" in too_many["fields"]
    card = member_with(pw, 100)
    ok(redeem(pw, gift, card), 201)  # store A: 2 -> 1, at the threshold
    assert outbox(settings, "stock_low", gift["id"]) == [
        {
            "chain_id": pw.wallet.world.id,
            "gift_id": gift["id"],
            "gift_name": gift["name"],
            "store_id": pw.wallet.store_a,
            "quantity": 1,
            "threshold": 1,
        }
    ]
    ok(redeem(pw, gift, card), 201)  # 1 -> 0: the same dip, not told again
    assert len(outbox(settings, "stock_low", gift["id"])) == 1
    empty = error(redeem(pw, gift, card), 409)
    assert empty["code"] == "out_of_stock" and "Only 0 left at this store" in empty["fields"]["quantity"][0]
    stocks = {s["store_id"]: s["quantity"] for s in ok(pw.hq.get(gifts(pw, f"/{gift['id']}")))["stocks"]}
    assert stocks == {pw.wallet.store_a: 0, pw.wallet.store_b: 5}
    # the cashier of store A sees what their store offers, and its stock only
    shown = ok(pw.wallet.cashier_a.get(gifts(pw)))["items"]
    mine = [g for g in shown if g["id"] == gift["id"]]
    assert [(g["stock"], g["stocks"]) for g in mine] == [(0, [{"store_id": pw.wallet.store_a, "quantity": 0}])]
    assert error(pw.wallet.cashier_a.get(gifts(pw), {"store_id": pw.wallet.store_b}), 404)


def test_redeemed_events_the_record_by_store_and_a_redeemed_gift_is_retired_not_deleted(pw, settings):
    gift = new_gift(pw, points_cost=50, stock=2)
    never = new_gift(pw)
    card = member_with(pw, 100)
    done = ok(redeem(pw, gift, card, quantity=2, remark="for the boss"), 201)
    assert done["points"] == 100  # 2 x 50
    [event] = outbox(settings, "redeemed", gift["id"])
    assert (event["redemption_id"], event["points"], event["quantity"]) == (done["id"], 100, 2)
    by_store = ok(pw.hq.get(redemptions(pw), {"store_id": pw.wallet.store_a, "gift_id": gift["id"], "since": today()}))
    assert [r["id"] for r in by_store["items"]] == [done["id"]]
    tomorrow = (date.fromisoformat(today()) + timedelta(days=1)).isoformat()
    assert ok(pw.hq.get(redemptions(pw), {"gift_id": gift["id"], "since": tomorrow}))["items"] == []
    assert ok(pw.wallet.cashier_b.get(redemptions(pw), {"gift_id": gift["id"]}))["items"] == []  # not their store
    assert error(pw.wallet.cashier_b.get(redemptions(pw, f"/{done['id']}")), 404)

    assert ok(pw.hq.client.simulate_delete(f"/api/v1{gifts(pw, '/' + gift['id'])}", headers=pw.hq.headers())) == {
        "id": gift["id"],
        "outcome": "retired",
    }
    kept = ok(pw.hq.get(gifts(pw, f"/{gift['id']}")))
    assert (kept["retired"], kept["active"]) == (True, False)
    assert error(pw.hq.patch(gifts(pw, f"/{gift['id']}"), {"points_cost": 1}), 409)["code"] == "invalid_state"
    removed = pw.hq.client.simulate_delete(f"/api/v1{gifts(pw, '/' + never['id'])}", headers=pw.hq.headers())
    assert ok(removed)["outcome"] == "deleted"
    assert error(pw.hq.get(gifts(pw, f"/{never['id']}")), 404)


def test_cancelling_is_for_the_stores_manager_or_hq_within_the_chains_hours(pw, settings):
    gift = new_gift(pw, points_cost=10, stock=3)
    card = member_with(pw, 100)
    done = ok(redeem(pw, gift, card), 201)
    cancel = redemptions(pw, f"/{done['id']}/cancel")
    assert error(pw.wallet.cashier_a.post(cancel, {"reason": "x"}), 403)
    manager_b = pw.hq.as_user(pw.wallet.world.usernames["store_manager_B"])
    assert error(manager_b.post(cancel, {"reason": "x"}), 404)  # redeemed at another store
    ok(pw.hq.post(pw.wallet.world.path("/gift-settings"), {"cancel_hours": 0}))
    try:
        late = error(pw.wallet.manager_a.post(cancel, {"reason": "too late"}), 409)
        assert "cancel_hours" in late["fields"]
    finally:
        ok(pw.hq.post(pw.wallet.world.path("/gift-settings"), {"cancel_hours": 72}))
    assert pw.balance(card["card_no"])["balance"] == 90 and stock_of(pw, gift) == 2  # nothing moved
    ok(pw.hq.post(cancel, {"reason": "HQ may"}), 201)
    assert pw.balance(card["card_no"])["balance"] == 100 and stock_of(pw, gift) == 3
    [event] = outbox(settings, "redemption_cancelled", gift["id"])
    assert (event["reason"], event["operator_id"]) == ("HQ may", pw.hq.principal["staff_id"])


def test_bad_catalogue_input_is_refused_naming_the_field_and_changes_nothing(pw):
    before = ok(pw.hq.get(gifts(pw), {"include_inactive": "true", "limit": "200"}))["items"]
    base = {"name": "Cap", "market_price": 100, "points_cost": 10}
    for body, field in (
        ({**base, "points_cost": 0}, "points_cost"),
        ({**base, "market_price": -1}, "market_price"),
        ({**base, "picture_url": "ftp://x/y.png"}, "picture_url"),
        ({**base, "limit_quantity": 2}, "limit_period"),
        ({**base, "stock_mode": "store", "stock": 3}, "stock"),
        ({**base, "store_ids": ["00000000-0000-4000-8000-000000000000"]}, "store_ids"),
        ({**base, "name": "  "}, "name"),
    ):
        assert field in error(pw.hq.post(gifts(pw), body), 422)["fields"], body
    assert error(pw.wallet.cashier_a.post(gifts(pw), base), 403)
    assert ok(pw.hq.get(gifts(pw), {"include_inactive": "true", "limit": "200"}))["items"] == before


def test_one_member_redeeming_at_once_on_five_tills_gets_only_their_limit_of_two(pw):
    gift = new_gift(pw, points_cost=10, stock=10, limit_quantity=2, limit_period="ever")
    card = member_with(pw, 100)
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(lambda _: definite(pw, gift, card), range(5)))
    assert sorted(r.status_code for r in results) == [201, 201, 409, 409, 409], [r.text for r in results]
    assert all(r.json["error"]["code"] == "limit_exceeded" for r in results if r.status_code == 409)
    assert pw.balance(card["card_no"])["balance"] == 80  # 100 - 2 x 10
    assert stock_of(pw, gift) == 8
