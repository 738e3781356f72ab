"""Cards (M-2..M-5, M-7, M-8) through the HTTP API and the shared RPC interface."""

import time
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from kombu import Connection, Queue
from nameko.standalone.events import event_dispatcher, get_event_exchange

from contracts.errors import NotFound, ValidationFailed
from services.member import card_numbers
from services.member.rules import add_months
from tests.helpers import build_chain, error, ok, raw_rows, unique, wait_for
from tests.member_helpers import enrol, enrol_with_card, member_world, outbox

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mw(admin):
    return member_world(admin)


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def typo(card_no: str) -> str:
    digit = str((int(card_no[5]) + 1) % 10)
    return card_no[:5] + digit + card_no[6:]


def fees(settings, chain_id: str, card_id: str) -> list[dict]:
    return [e["data"] for e in outbox(settings, chain_id, "fee_charged") if e["data"]["card_id"] == card_id]


def test_issue_gives_a_checked_number_dates_from_the_tier_and_publishes_fees(mw, settings):
    member, card = enrol_with_card(mw.cashier_a, mw)
    assert card["tier_code"] == "STANDARD" and card["status"] == "active" and card["version"] == 1
    assert len(card["card_no"]) == 12 and card_numbers.luhn_valid(card["card_no"])
    assert card["issued_store_id"] == mw.store("A")
    assert card["effective_date"] == today().isoformat()
    assert card["expiry_date"] == add_months(today(), 24).isoformat()
    assert fees(settings, mw.id, card["id"]) == []  # Standard: issue fee 0, nothing to book
    issued = [e["data"] for e in outbox(settings, mw.id, "card_issued") if e["data"]["card_id"] == card["id"]]
    assert issued[0]["card_no"] == card["card_no"] and issued[0]["tier_code"] == "STANDARD"

    silver_member = enrol(mw.cashier_a, mw)
    silver = ok(
        mw.cashier_a.post(
            mw.path(f"/members/{silver_member['id']}/cards"), {"tier_code": "SILVER", "payment_method": "wechat"}
        ),
        201,
    )
    assert int(silver["card_no"][1:11]) > int(card["card_no"][1:11])  # the chain's sequence only grows
    [fee] = fees(settings, mw.id, silver["id"])
    assert fee == {
        **fee,
        "kind": "issue",
        "amount": 2000,
        "payment_method": "wechat",
        "store_id": mw.store("A"),
        "member_id": silver_member["id"],
        "chain_id": mw.id,
        "operator_id": mw.cashier_a.principal["staff_id"],
    }

    err = error(mw.cashier_a.post(mw.path(f"/members/{member['id']}/cards"), {}), 409)
    assert err["code"] == "invalid_state"
    fresh = enrol(mw.cashier_a, mw)
    err = error(mw.cashier_a.post(mw.path(f"/members/{fresh['id']}/cards"), {"tier_code": "NOPE"}), 422)
    assert err["fields"] == {"tier_code": ["No tier 'NOPE' in this chain."]}
    # store B cannot issue a card to a store-A member it cannot see
    error(mw.cashier_b.post(mw.path(f"/members/{member['id']}/cards"), {}), 404)
    # HQ must say at which store the card is issued
    err = error(mw.hq.post(mw.path(f"/members/{enrol(mw.cashier_a, mw)['id']}/cards"), {}), 422)
    assert err["fields"] == {"store_id": ["Required for HQ."]}


def test_a_mistyped_card_number_is_refused_naming_card_no(mw, rpc_pool):
    _, card = enrol_with_card(mw.cashier_a, mw)
    wrong = typo(card["card_no"])
    err = error(mw.cashier_b.get(mw.path("/card-lookup"), {"card_no": wrong}), 422)
    assert err["fields"] == {"card_no": ["Check digit does not match; re-enter the number."]}
    err = error(mw.cashier_b.get(mw.path("/members"), {"card_no": wrong}), 422)
    assert err["fields"] == {"card_no": ["Check digit does not match; re-enter the number."]}
    with pytest.raises(ValidationFailed) as exc:
        rpc_pool.call("member", "resolve_card", mw.id, wrong)
    assert exc.value.fields == {"card_no": ["Check digit does not match; re-enter the number."]}
    unknown = card_numbers.format_card_no(9_999_999_998)
    with pytest.raises(NotFound) as exc:
        rpc_pool.call("member", "resolve_card", mw.id, unknown)
    assert "card_no" in exc.value.fields
    error(mw.cashier_b.get(mw.path("/card-lookup"), {"card_no": unknown}), 404)


def test_resolve_card_rpc_gives_the_card_context(mw, rpc_pool, admin):
    member, card = enrol_with_card(mw.cashier_a, mw, tier_code="SILVER", plates=["沪A 55555"])
    ctx = rpc_pool.call("member", "resolve_card", mw.id, card["card_no"])
    phone = member["phone"]
    assert ctx == {
        "card_id": card["id"],
        "card_no": card["card_no"],
        "chain_id": mw.id,
        "member_id": member["id"],
        "member_name": member["name"],
        "masked_phone": f"{phone[:3]}****{phone[-4:]}",
        "status": "active",
        "version": 1,
        "home_store_id": mw.store("A"),
        "plates": ["沪A55555"],
        "tier": ctx["tier"],
        "limits": {"per_transaction_limit": None, "daily_limit": None},
        "as_of": ctx["as_of"],
    }
    # when the card last changed: a copy kept by another service takes the newest (non-negotiable 12)
    assert datetime.fromisoformat(ctx["as_of"]).tzinfo is not None
    assert ctx["tier"]["code"] == "SILVER" and ctx["tier"]["default_discount_bp"] == 500
    assert ctx["tier"]["points_multiplier_bp"] == 12000
    assert ctx["tier"]["recharge_bonus_rules"][0] == {"threshold": 100000, "bonus_fixed": 5000, "bonus_rate_bp": None}
    assert ctx["tier"]["per_transaction_limit"] is None and ctx["tier"]["daily_limit"] is None
    assert rpc_pool.call("member", "resolve_card_by_id", mw.id, card["id"]) == ctx
    # the same card number means nothing in another chain
    other = member_world(admin)
    with pytest.raises(NotFound):
        rpc_pool.call("member", "resolve_card", other.id, card["card_no"])
    with pytest.raises(NotFound):
        rpc_pool.call("member", "resolve_card_by_id", other.id, card["id"])
    # staff see the same context through the gateway, masked, from any store
    assert ok(mw.cashier_b.get(mw.path("/card-lookup"), {"card_no": card["card_no"]})) == ctx


def test_tier_change_keeps_the_number_bumps_the_version_and_needs_a_manager(mw, settings):
    member, card = enrol_with_card(mw.cashier_a, mw)
    path = mw.path(f"/cards/{card['id']}/tier")
    error(mw.cashier_a.post(path, {"tier_code": "GOLD"}), 403)
    err = error(mw.manager_a.post(path, {"tier_code": "STANDARD"}), 422)
    assert err["fields"] == {"tier_code": ["The card is already STANDARD."]}
    changed = ok(mw.manager_a.post(path, {"tier_code": "GOLD", "payment_method": "alipay", "reason": "asked for gold"}))
    assert changed["card_no"] == card["card_no"] and changed["id"] == card["id"]
    assert changed["version"] == 2 and changed["tier_code"] == "GOLD"
    assert changed["expiry_date"] == add_months(today(), 24).isoformat()
    [fee] = fees(settings, mw.id, card["id"])
    assert (fee["kind"], fee["amount"], fee["payment_method"]) == ("reissue", 1000, "alipay")
    [event] = [e["data"] for e in outbox(settings, mw.id, "tier_changed") if e["data"]["card_id"] == card["id"]]
    assert event == {**event, "previous_tier_code": "STANDARD", "tier_code": "GOLD", "version": 2, "automatic": False}
    # a waived fee is not published; HQ changes tiers too, naming its store
    again = ok(mw.hq.post(path, {"tier_code": "VIP", "waive_fee": True, "store_id": mw.store("B")}))
    assert again["version"] == 3 and again["card_no"] == card["card_no"]
    assert len(fees(settings, mw.id, card["id"])) == 1


def test_replacement_issues_a_new_number_and_retires_the_old(mw, settings, rpc_pool):
    member, card = enrol_with_card(mw.cashier_a, mw, tier_code="GOLD")
    new = ok(mw.cashier_b.post(mw.path(f"/cards/{card['id']}/replace"), {"reason": "lost on the bus"}))
    assert new["card_no"] != card["card_no"] and card_numbers.luhn_valid(new["card_no"])
    assert new["member_id"] == member["id"] and new["tier_code"] == "GOLD" and new["status"] == "active"
    assert new["replaces_card_id"] == card["id"] and new["issued_store_id"] == mw.store("B")
    assert new["expiry_date"] == card["expiry_date"]  # the validity carries on
    old = ok(mw.hq.get(mw.path(f"/cards/{card['id']}")))
    assert old["status"] == "replaced" and old["replaced_by_card_id"] == new["id"]
    # the old number can no longer be used: reported as replaced, refused for any operation
    assert rpc_pool.call("member", "resolve_card", mw.id, card["card_no"])["status"] == "replaced"
    assert error(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/freeze"), {}), 409)["code"] == "card_not_active"
    assert error(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/replace"), {}), 409)["code"] == "invalid_state"
    assert error(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/renew"), {}), 409)["code"] == "invalid_state"
    # the new one resolves to the same member
    assert rpc_pool.call("member", "resolve_card", mw.id, new["card_no"])["member_id"] == member["id"]
    [fee] = fees(settings, mw.id, new["id"])
    assert (fee["kind"], fee["amount"], fee["store_id"]) == ("replacement", 1000, mw.store("B"))
    status = [e["data"] for e in outbox(settings, mw.id, "card_status_changed") if e["data"]["card_id"] == card["id"]]
    assert status[-1] == {
        "card_id": card["id"],
        "member_id": member["id"],
        "card_no": card["card_no"],
        "status": "replaced",
        "previous_status": "active",
        "reason": "lost on the bus",
    }
    shown = ok(mw.cashier_a.get(mw.path(f"/members/{member['id']}")))
    assert [(c["card_no"], c["status"]) for c in shown["cards"]] == [
        (card["card_no"], "replaced"),
        (new["card_no"], "active"),
    ]


def test_a_frozen_card_is_reported_frozen_to_anyone_and_the_event_is_published(mw, settings, rpc_pool):
    member, card = enrol_with_card(mw.cashier_a, mw)
    exchange = get_event_exchange("member", settings.nameko_config())
    with Connection(settings.amqp_uri) as conn:
        queue = Queue(
            f"test-member-status-{card['id']}",
            exchange=exchange,
            routing_key="card_status_changed",
            exclusive=True,
            auto_delete=True,
        )
        received = []
        with conn.Consumer(queue, callbacks=[lambda body, message: (received.append(body), message.ack())]):
            frozen = ok(
                mw.cashier_b.post(
                    mw.path(f"/cards/{card['id']}/freeze"), {"reason": "reported lost"}, key="freeze-once-" + card["id"]
                )
            )
            assert frozen["status"] == "frozen"
            deadline = time.monotonic() + 15
            while not any(b["data"]["card_id"] == card["id"] for b in received) and time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
    [event] = [b for b in received if b["data"]["card_id"] == card["id"]]
    assert event["source"] == "member" and event["type"] == "card_status_changed" and event["chain_id"] == mw.id
    assert event["data"]["status"] == "frozen" and event["data"]["previous_status"] == "active"
    # a retry with the same key replays the answer instead of failing on "already frozen"
    assert (
        ok(
            mw.cashier_b.post(
                mw.path(f"/cards/{card['id']}/freeze"), {"reason": "reported lost"}, key="freeze-once-" + card["id"]
            )
        )["status"]
        == "frozen"
    )
    assert rpc_pool.call("member", "resolve_card", mw.id, card["card_no"])["status"] == "frozen"
    assert ok(mw.cashier_a.get(mw.path("/card-lookup"), {"card_no": card["card_no"]}))["status"] == "frozen"
    found = ok(mw.cashier_b.get(mw.path("/members"), {"card_no": card["card_no"]}))["items"]
    assert found[0]["cards"][0]["status"] == "frozen"
    assert ok(mw.hq.get(mw.path(f"/cards/{card['id']}")))["status"] == "frozen"
    error(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/tier"), {"tier_code": "GOLD"}), 403)
    err = error(mw.manager_a.post(mw.path(f"/cards/{card['id']}/tier"), {"tier_code": "GOLD"}), 409)
    assert err["code"] == "card_not_active"
    # unfreezing is a manager's call
    error(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/unfreeze"), {}), 403)
    assert ok(mw.manager_a.post(mw.path(f"/cards/{card['id']}/unfreeze"), {}))["status"] == "active"
    assert error(mw.manager_a.post(mw.path(f"/cards/{card['id']}/unfreeze"), {}), 409)["code"] == "invalid_state"


def test_renewal_and_no_renewal_once_returned(mw, settings):
    _, card = enrol_with_card(mw.cashier_a, mw, tier_code="SILVER")
    renewed = ok(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/renew"), {"payment_method": "cash"}))
    # renewing early extends from the current end
    assert renewed["expiry_date"] == add_months(add_months(today(), 24), 24).isoformat()
    assert [(f["kind"], f["amount"]) for f in fees(settings, mw.id, card["id"])] == [("issue", 2000), ("renewal", 2000)]
    # a returned card (returned through the wallet, see test_member_wallet_flow) cannot be renewed
    raw_rows(settings, "UPDATE member.cards SET status = 'returned' WHERE id = :id RETURNING id", id=card["id"])
    assert error(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/renew"), {}), 409)["code"] == "invalid_state"


def test_an_expired_card_is_reported_expired_and_renewal_revives_it(mw, settings, rpc_pool):
    _, card = enrol_with_card(mw.cashier_a, mw, tier_code="SILVER")
    raw_rows(settings, "UPDATE member.cards SET expiry_date = '2020-01-31' WHERE id = :id RETURNING id", id=card["id"])
    assert rpc_pool.call("member", "resolve_card", mw.id, card["card_no"])["status"] == "expired"
    assert error(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/freeze"), {}), 409)["code"] == "card_not_active"
    renewed = ok(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/renew"), {}))
    assert renewed["status"] == "active" and renewed["expiry_date"] == add_months(today(), 24).isoformat()
    log = ok(mw.cashier_a.get(mw.path(f"/cards/{card['id']}/operations")))["items"]
    assert [e["kind"] for e in log] == ["renew", "expire", "issue"]
    assert log[1]["operator_id"] is None and log[1]["operator_name"] == "system"
    assert log[0]["before"]["status"] == "expired" and log[0]["after"]["status"] == "active"
    assert log[0]["fee"] == 2000 and log[0]["payment_method"] == "cash"
    status = [e["data"] for e in outbox(settings, mw.id, "card_status_changed") if e["data"]["card_id"] == card["id"]]
    assert [(s["previous_status"], s["status"]) for s in status] == [("active", "expired"), ("expired", "active")]


def test_operation_log_per_card_and_per_store(mw):
    _, card = enrol_with_card(mw.cashier_a, mw)
    cid = card["id"]
    ok(mw.manager_a.post(mw.path(f"/cards/{cid}/tier"), {"tier_code": "SILVER"}))
    ok(mw.cashier_b.post(mw.path(f"/cards/{cid}/freeze"), {"reason": "lost"}))
    ok(mw.manager_a.post(mw.path(f"/cards/{cid}/unfreeze"), {}))
    new = ok(mw.cashier_b.post(mw.path(f"/cards/{cid}/replace"), {"payment_method": "bank_card"}))
    log = ok(mw.manager_a.get(mw.path(f"/cards/{cid}/operations")))["items"]
    assert [e["kind"] for e in log] == ["replace", "unfreeze", "freeze", "tier_change", "issue"]
    replace, unfreeze, freeze, tier, issue = log
    assert issue["operator_id"] == mw.cashier_a.principal["staff_id"] and issue["store_id"] == mw.store("A")
    assert tier["before"]["tier_code"] == "STANDARD" and tier["after"]["tier_code"] == "SILVER"
    assert (tier["before"]["version"], tier["after"]["version"]) == (1, 2)
    assert tier["fee"] == 1000 and tier["payment_method"] == "cash"
    assert freeze["operator_id"] == mw.cashier_b.principal["staff_id"] and freeze["store_id"] == mw.store("B")
    assert (freeze["before"]["status"], freeze["after"]["status"], freeze["reason"]) == ("active", "frozen", "lost")
    assert unfreeze["operator_id"] == mw.manager_a.principal["staff_id"]
    assert replace["after"]["new_card_no"] == new["card_no"] and replace["after"]["status"] == "replaced"
    assert replace["fee"] == 1000 and replace["payment_method"] == "bank_card" and replace["at"]
    # paged, newest first
    first = ok(mw.manager_a.get(mw.path(f"/cards/{cid}/operations"), {"limit": 2}))
    rest = ok(mw.manager_a.get(mw.path(f"/cards/{cid}/operations"), {"limit": 10, "after": first["next_cursor"]}))
    assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in log]
    # per store: what happened at store B, for store B and HQ only
    at_b = ok(mw.cashier_b.get(mw.path(f"/stores/{mw.store('B')}/card-operations"), {"limit": 200}))["items"]
    mine = [(e["kind"], e["card_no"]) for e in at_b if e["card_id"] in (cid, new["id"])]
    assert mine == [("issue", new["card_no"]), ("replace", card["card_no"]), ("freeze", card["card_no"])]
    frozen_only = ok(mw.hq.get(mw.path(f"/stores/{mw.store('B')}/card-operations"), {"kind": "freeze"}))["items"]
    assert frozen_only and all(e["kind"] == "freeze" for e in frozen_only)
    error(mw.cashier_a.get(mw.path(f"/stores/{mw.store('B')}/card-operations")), 404)
    # the card's log belongs to the member's home store and HQ
    error(mw.cashier_b.get(mw.path(f"/cards/{cid}/operations")), 404)
    assert ok(mw.hq.get(mw.path(f"/cards/{cid}/operations")))["items"][0]["kind"] == "replace"


def test_hq_acts_at_a_named_store_and_bad_stores_are_refused(mw):
    _, card = enrol_with_card(mw.cashier_a, mw)
    err = error(mw.hq.post(mw.path(f"/cards/{card['id']}/freeze"), {}), 422)
    assert err["fields"] == {"store_id": ["Required for HQ."]}
    err = error(
        mw.hq.post(mw.path(f"/cards/{card['id']}/freeze"), {"store_id": "00000000-0000-0000-0000-000000000000"}), 422
    )
    assert err["fields"] == {"store_id": ["No such store in this chain."]}
    err = error(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/freeze"), {"store_id": mw.store("B")}), 422)
    assert err["fields"] == {"store_id": ["Not one of your stores."]}
    assert ok(mw.hq.post(mw.path(f"/cards/{card['id']}/freeze"), {"store_id": mw.store("B")}))["status"] == "frozen"
    error(mw.hq.post(mw.path("/cards/00000000-0000-0000-0000-000000000000/freeze"), {"store_id": mw.store("A")}), 404)
    error(mw.hq.post(mw.path(f"/cards/{card['id']}/freeze"), {"store_id": mw.store("A"), "colour": "red"}), 422)


def _points_changed(settings, chain_id: str, member_id: str, lifetime_points: int, version: int) -> None:
    """What the points service publishes after every move of a member's points (P-7)."""
    from contracts.events import envelope

    data = {
        "chain_id": chain_id,
        "member_id": member_id,
        "kind": "gift",
        "points": 1,
        "balance": lifetime_points,
        "lifetime_points": lifetime_points,
        "year_spend": 0,
        "version": version,
    }
    dispatch = event_dispatcher(settings.nameko_config())
    dispatch("points", "changed", envelope("points", "changed", data, chain_id=chain_id, correlation_id=None))


def test_automatic_upgrade_from_the_points_services_lifetime_points(mw, settings):
    """M-7: a tier whose threshold is lifetime points is reached through `points.changed`;
    the newest report wins whatever the order, and a repeat changes nothing."""
    body = {"code": unique("PTS"), "name": "Points tier", "rank": 40, "upgrade_metric": "lifetime_points"}
    tier = ok(mw.hq.post(mw.path("/tiers"), {**body, "upgrade_threshold": 5000}), 201)
    member, card = enrol_with_card(mw.cashier_a, mw)

    def shown() -> dict:
        return ok(mw.cashier_a.get(mw.path(f"/members/{member['id']}")))

    _points_changed(settings, mw.id, member["id"], 4999, 2)
    wait_for(lambda: shown()["lifetime_points"] == 4999)
    assert ok(mw.cashier_a.get(mw.path(f"/cards/{card['id']}")))["tier_code"] == "STANDARD"
    _points_changed(settings, mw.id, member["id"], 5000, 3)
    now = wait_for(
        lambda: (c := ok(mw.cashier_a.get(mw.path(f"/cards/{card['id']}"))))["tier_code"] != "STANDARD" and c
    )
    assert (now["card_no"], now["version"], now["tier_code"]) == (card["card_no"], 2, tier["code"])
    # an older total arriving late, and the same total again, change nothing
    _points_changed(settings, mw.id, member["id"], 10, 1)
    _points_changed(settings, mw.id, member["id"], 5000, 3)
    time.sleep(1.0)
    assert shown()["lifetime_points"] == 5000
    [event] = [e["data"] for e in outbox(settings, mw.id, "tier_changed") if e["data"]["card_id"] == card["id"]]
    assert event["automatic"] is True and (event["previous_tier_code"], event["tier_code"]) == (
        "STANDARD",
        tier["code"],
    )
    log = ok(mw.cashier_a.get(mw.path(f"/cards/{card['id']}/operations")))["items"]
    assert log[0]["kind"] == "tier_change" and log[0]["operator_name"] == "system"
    assert fees(settings, mw.id, card["id"]) == []  # an automatic upgrade is not charged
    ok(mw.hq.patch(mw.path(f"/tiers/{tier['id']}"), {"active": False}))  # leave the chain's tiers as they were


def test_concurrent_issues_get_distinct_numbers(mw):
    import eventlet

    members = [enrol(mw.cashier_a, mw) for _ in range(6)]
    pool = eventlet.GreenPool(6)

    def issue(member: dict) -> dict:
        return ok(mw.cashier_a.post(mw.path(f"/members/{member['id']}/cards"), {}), 201)

    issued = list(pool.imap(issue, members))
    numbers = [c["card_no"] for c in issued]
    assert len(set(numbers)) == 6 and all(card_numbers.luhn_valid(n) for n in numbers)


def test_only_hq_or_the_home_stores_manager_changes_a_tier(mw):
    _, card = enrol_with_card(mw.cashier_a, mw)  # home store A
    manager_b = mw.hq.as_user(mw.world.usernames["store_manager_B"])
    body = {"tier_code": "VIP", "waive_fee": True, "store_id": mw.store("B")}
    refused = error(manager_b.post(mw.path(f"/cards/{card['id']}/tier"), body), 403)
    assert refused["code"] == "forbidden"
    assert ok(mw.cashier_a.get(mw.path(f"/cards/{card['id']}")))["tier_code"] == "STANDARD"
    changed = ok(mw.manager_a.post(mw.path(f"/cards/{card['id']}/tier"), {**body, "store_id": mw.store("A")}))
    assert (changed["tier_code"], changed["version"]) == ("VIP", 2)


def test_an_expired_card_is_renewed_not_replaced(mw, settings):
    _, card = enrol_with_card(mw.cashier_a, mw, tier_code="SILVER")
    raw_rows(settings, "UPDATE member.cards SET expiry_date = '2020-01-31' WHERE id = :id RETURNING id", id=card["id"])
    refused = error(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/replace"), {}), 409)
    assert refused["fields"] == {"card_id": ["The card is expired."]}


def test_a_frozen_card_can_still_be_returned_for_its_cash(mw):
    _, card = enrol_with_card(mw.cashier_a, mw)
    store = mw.store("A")
    recharge = {"card_no": card["card_no"], "store_id": store, "amount": 8800, "payment_method": "cash"}
    ok(mw.cashier_a.post(mw.path("/wallet/recharges"), recharge), 201)
    ok(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/freeze"), {"reason": "lost"}))
    body = {"card_no": card["card_no"], "store_id": store, "payment_method": "cash"}
    assert ok(mw.cashier_a.post(mw.path("/wallet/returns"), body), 201)["cash_paid_back"] == 8800
    wait_for(lambda: ok(mw.cashier_a.get(mw.path(f"/cards/{card['id']}")))["status"] == "returned")


def test_another_chains_store_is_not_found_through_ones_own_chain(mw, admin):
    """Tenancy (non-negotiable 8): HQ sees every store of its chain, and no other."""
    other = build_chain(admin)
    foreign = other.stores["A"]["id"]
    err = error(mw.hq.get(mw.path(f"/stores/{foreign}/card-operations")), 404)
    assert err["code"] == "not_found"
    error(mw.hq.get(mw.path(f"/stores/{uuid.uuid4()}/card-operations")), 404)
    assert ok(mw.hq.get(mw.path(f"/stores/{mw.store('A')}/card-operations")))["next_cursor"] is None
