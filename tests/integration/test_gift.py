"""The gift service through the HTTP API with the real services (G-1, G-2, S-3): the catalogue,
redemption that takes points and stock together or neither, cancellation, the record and
the receipt."""

from __future__ import annotations

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


def test_ten_members_redeem_the_last_item_at_once_exactly_one_succeeds(pw):
    gift = new_gift(pw, points_cost=100, stock=1)
    cards = [member_with(pw, 300) for _ in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda card: redeem(pw, gift, card), cards))
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
