"""Tiers per chain (M-6): defaults for a new chain, HQ edits, everyone reads."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.events import event_dispatcher

from contracts.events import envelope
from tests.helpers import build_chain, error, ok, raw_rows, wait_for
from tests.member_helpers import enrol, enrol_with_card, member_world, outbox

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mw(admin):
    return member_world(admin)


def test_a_new_chain_gets_default_tiers_from_the_chain_created_event(admin, settings):
    world = build_chain(admin)

    def tiers() -> list[tuple[str, int]] | None:
        rows = raw_rows(settings, "SELECT code, rank FROM member.tiers WHERE chain_id = :c ORDER BY rank", c=world.id)
        return [(r["code"], r["rank"]) for r in rows] if len(rows) == 4 else None

    # nobody has asked the member service anything about this chain: the event alone makes the tiers
    assert wait_for(tiers) == [("STANDARD", 1), ("SILVER", 2), ("GOLD", 3), ("VIP", 4)]
    assert len(outbox(settings, world.id, "tier_configuration_changed")) == 4


def test_default_tiers_on_first_use_and_their_terms(mw):
    tiers = ok(mw.cashier_a.get(mw.path("/tiers")))["items"]
    assert [
        (t["code"], t["rank"], t["default_discount_bp"], t["points_multiplier_bp"], t["upgrade_threshold"])
        for t in tiers
    ] == [
        ("STANDARD", 1, 0, 10000, 0),
        ("SILVER", 2, 500, 12000, 100000),
        ("GOLD", 3, 1000, 15000, 500000),
        ("VIP", 4, 1500, 20000, 2000000),
    ]
    silver = tiers[1]
    # W-3: recharge >= 1000 yuan -> +50 yuan bonus
    assert silver["recharge_bonus_rules"][0] == {"threshold": 100000, "bonus_fixed": 5000, "bonus_rate_bp": None}
    assert (silver["validity_months"], silver["issue_fee"], silver["renewal_fee"]) == (24, 2000, 2000)
    assert tiers[0]["issue_fee"] == 0 and tiers[3]["validity_months"] == 12
    assert ok(mw.cashier_b.get(mw.path(f"/tiers/{silver['id']}"))) == silver


def test_hq_edits_tiers_and_the_change_is_published_and_used(mw, settings, rpc_pool):
    silver = next(t for t in ok(mw.hq.get(mw.path("/tiers")))["items"] if t["code"] == "SILVER")
    path = mw.path(f"/tiers/{silver['id']}")
    error(mw.cashier_a.patch(path, {"default_discount_bp": 600}), 403)
    error(mw.manager_a.patch(path, {"default_discount_bp": 600}), 403)
    changed = ok(
        mw.hq.patch(
            path,
            {
                "default_discount_bp": 600,
                "category_discounts": {"WASH": 1000},
                "recharge_bonus_rules": [
                    {"threshold": 50000, "bonus_fixed": 2000},
                    {"threshold": 100000, "bonus_rate_bp": 800},
                ],
                "per_transaction_limit": 300000,
                "daily_limit": 500000,
            },
        )
    )
    assert changed["default_discount_bp"] == 600 and changed["category_discounts"] == {"WASH": 1000}
    assert [r["threshold"] for r in changed["recharge_bonus_rules"]] == [100000, 50000]
    events = [
        e["data"]["tier"]
        for e in outbox(settings, mw.id, "tier_configuration_changed")
        if e["data"]["tier"]["id"] == silver["id"]
    ]
    assert events[-1]["default_discount_bp"] == 600
    _, card = enrol_with_card(mw.cashier_a, mw, tier_code="SILVER")
    terms = rpc_pool.call("member", "resolve_card", mw.id, card["card_no"])["tier"]
    assert (terms["default_discount_bp"], terms["category_discounts"]) == (600, {"WASH": 1000})
    assert (terms["per_transaction_limit"], terms["daily_limit"]) == (300000, 500000)
    assert terms["recharge_bonus_rules"][0] == {"threshold": 100000, "bonus_fixed": None, "bonus_rate_bp": 800}


def test_tier_validation_and_uniqueness(mw):
    err = error(
        mw.hq.patch(
            mw.path(f"/tiers/{ok(mw.hq.get(mw.path('/tiers')))['items'][0]['id']}"),
            {"recharge_bonus_rules": [{"threshold": 100, "bonus_fixed": 1, "bonus_rate_bp": 5}]},
        ),
        422,
    )
    assert err["fields"] == {"recharge_bonus_rules": {"0": ["Give exactly one of bonus_fixed or bonus_rate_bp."]}}
    assert (
        "default_discount_bp"
        in error(
            mw.hq.post(mw.path("/tiers"), {"code": "X", "name": "X", "rank": 9, "default_discount_bp": 10001}), 422
        )["fields"]
    )
    assert "rank" in error(mw.hq.post(mw.path("/tiers"), {"code": "X", "name": "X"}), 422)["fields"]
    assert (
        "issue_fee"
        in error(mw.hq.post(mw.path("/tiers"), {"code": "X", "name": "X", "rank": 9, "issue_fee": 1.5}), 422)["fields"]
    )
    err = error(mw.hq.post(mw.path("/tiers"), {"code": "GOLD", "name": "Gold again", "rank": 9}), 409)
    assert err["code"] == "already_exists" and "code" in err["fields"]
    err = error(mw.hq.post(mw.path("/tiers"), {"code": "PLATINUM", "name": "Platinum", "rank": 3}), 409)
    assert "rank" in err["fields"]
    error(mw.cashier_a.post(mw.path("/tiers"), {"code": "PLATINUM", "name": "Platinum", "rank": 5}), 403)


def test_hq_adds_a_tier_and_retires_it(mw):
    diamond = ok(
        mw.hq.post(
            mw.path("/tiers"),
            {
                "code": "DIAMOND",
                "name": "钻石卡 Diamond",
                "rank": 5,
                "default_discount_bp": 2000,
                "points_multiplier_bp": 20000,
                "upgrade_metric": "lifetime_points",
                "upgrade_threshold": 50000,
                "validity_months": None,
                "issue_fee": 20000,
            },
        ),
        201,
    )
    assert diamond["validity_months"] is None and diamond["active"] is True
    member = enrol(mw.cashier_a, mw)
    card = ok(mw.cashier_a.post(mw.path(f"/members/{member['id']}/cards"), {"tier_code": "DIAMOND"}), 201)
    assert card["expiry_date"] is None  # a tier without validity never expires
    err = error(mw.cashier_a.post(mw.path(f"/cards/{card['id']}/renew"), {}), 409)
    assert err["code"] == "invalid_state"
    retired = ok(mw.hq.patch(mw.path(f"/tiers/{diamond['id']}"), {"active": False}))
    assert retired["active"] is False
    assert "DIAMOND" not in [t["code"] for t in ok(mw.hq.get(mw.path("/tiers")))["items"]]
    assert "DIAMOND" in [t["code"] for t in ok(mw.hq.get(mw.path("/tiers"), {"include_inactive": "true"}))["items"]]
    err = error(
        mw.cashier_a.post(mw.path(f"/members/{enrol(mw.cashier_a, mw)['id']}/cards"), {"tier_code": "DIAMOND"}), 422
    )
    assert err["fields"] == {"tier_code": ["The tier 'DIAMOND' is retired."]}


def test_other_chains_cannot_read_tiers(mw, admin):
    other = member_world(admin)
    error(other.hq.get(mw.path("/tiers")), 404)
    tier_id = ok(mw.hq.get(mw.path("/tiers")))["items"][0]["id"]
    error(other.hq.get(other.path(f"/tiers/{tier_id}")), 404)


def test_member_resources_are_in_the_openapi_document(client):
    paths = client.simulate_get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/chains/{chain_id}/members",
        "/api/v1/chains/{chain_id}/members/{member_id}/cards",
        "/api/v1/chains/{chain_id}/cards/{card_id}/replace",
        "/api/v1/chains/{chain_id}/card-lookup",
        "/api/v1/chains/{chain_id}/tiers/{tier_id}",
        "/api/v1/chains/{chain_id}/cards/{card_id}/operations",
        "/api/v1/chains/{chain_id}/stores/{store_id}/card-operations",
    ):
        assert path in paths
    assert "Idempotency-Key" in str(paths["/api/v1/chains/{chain_id}/cards/{card_id}/freeze"]["post"])


def test_the_platform_admin_reads_tiers_of_real_chains_only(mw, admin, settings):
    assert len(ok(admin.get(mw.path("/tiers")))["items"]) >= 4
    ghost = "0f0f0f0f-0000-4000-8000-000000000000"
    error(admin.get(f"/chains/{ghost}/tiers"), 404)
    assert raw_rows(settings, "SELECT 1 FROM member.tiers WHERE chain_id = :c", c=ghost) == []


def test_member_follows_the_chains_time_zone(admin, settings):
    world = member_world(admin)
    ok(world.hq.patch(world.path("/settings"), {"time_zone": "America/Los_Angeles"}))
    sql = "SELECT time_zone FROM member.chain_state WHERE chain_id = :id"
    wait_for(lambda: raw_rows(settings, sql, id=world.id) == [{"time_zone": "America/Los_Angeles"}])


def test_a_late_chain_changed_does_not_roll_the_time_zone_back(admin, settings):
    """Events may arrive out of order: a chain_changed that happened before the one member
    already applied (it says Europe/Berlin, an hour earlier) changes nothing."""
    world = member_world(admin)
    ok(world.hq.patch(world.path("/settings"), {"time_zone": "America/Los_Angeles"}))
    sql = "SELECT time_zone FROM member.chain_state WHERE chain_id = :id"
    wait_for(lambda: raw_rows(settings, sql, id=world.id) == [{"time_zone": "America/Los_Angeles"}])
    chain = ok(world.hq.get(world.path()))
    late = envelope(
        "org",
        "chain_changed",
        {"chain_id": world.id, "name": chain["name"], "status": "active", "settings": {"time_zone": "Europe/Berlin"}},
        chain_id=world.id,
        correlation_id=None,
    )
    late["occurred_at"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    event_dispatcher({"AMQP_URI": settings.amqp_uri, "serializer": "json"})("org", "chain_changed", late)
    handled = "SELECT 1 AS seen FROM member.inbox WHERE event_id = :id"
    wait_for(lambda: raw_rows(settings, handled, id=late["id"]))
    assert raw_rows(settings, sql, id=world.id) == [{"time_zone": "America/Los_Angeles"}]


def test_reading_tiers_writes_nothing(admin, settings):
    """Reads never write: listing and reading tiers adds no row (no tier, no event) for the chain."""
    world = member_world(admin)
    tiers = wait_for(lambda: ok(world.hq.get(world.path("/tiers")))["items"])  # defaults, from chain_created
    count = (
        "SELECT (SELECT count(*) FROM member.outbox WHERE chain_id = :c)"
        " + (SELECT count(*) FROM member.tiers WHERE chain_id = :c) AS n"
    )
    before = raw_rows(settings, count, c=world.id)[0]["n"]
    ok(world.hq.get(world.path("/tiers")))
    ok(world.hq.get(world.path(f"/tiers/{tiers[0]['id']}")))
    assert raw_rows(settings, count, c=world.id)[0]["n"] == before
