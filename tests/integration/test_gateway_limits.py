"""What the gateway refuses before any service acts: too deep, too big, in the wrong order."""

import json

import pytest

from gateway import limits
from tests.helpers import build_chain, error, ok

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def world(admin):
    return build_chain(admin)


@pytest.mark.parametrize("depth", [limits.MAX_JSON_DEPTH + 1, 2000, 100_000])
def test_deeply_nested_json_is_400_on_sign_in_and_everywhere(client, world, depth):
    body = "[" * depth + "]" * depth
    answer = client.simulate_post("/api/v1/auth/sign-in", body=body, headers=JSON)
    err = error(answer, 400)
    assert err["code"] == "bad_request" and "nested more than 32 levels" in err["message"]
    nested = '{"name": ' + "[" * depth + "]" * depth + "}"
    answer = client.simulate_patch(f"/api/v1{world.path()}", body=nested, headers={**JSON, **world.hq.headers()})
    assert error(answer, 400)["code"] == "bad_request"


def test_json_at_the_depth_limit_is_read(client):
    inner = "[" * (limits.MAX_JSON_DEPTH - 1) + "]" * (limits.MAX_JSON_DEPTH - 1)
    answer = client.simulate_post("/api/v1/auth/sign-in", body='{"username": ' + inner + "}", headers=JSON)
    assert error(answer, 422)["fields"]["username"]  # read, then refused by the contract: not a string


def test_a_body_over_one_mib_is_413_before_it_is_read(client, world):
    big = json.dumps({"name": "x" * limits.MAX_BODY_BYTES})
    answer = client.simulate_patch(f"/api/v1{world.path()}", body=big, headers={**JSON, **world.hq.headers()})
    err = error(answer, 413)
    assert err["code"] == "payload_too_large" and str(limits.MAX_BODY_BYTES) in err["message"]
    assert answer.headers["connection"] == "close"
    just_under = json.dumps({"name": "x" * 100})
    ok(client.simulate_patch(f"/api/v1{world.path()}", body=just_under, headers={**JSON, **world.hq.headers()}))


def test_patch_without_a_body_is_400(world):
    answer = world.hq.client.simulate_patch(f"/api/v1{world.path()}", headers=world.hq.headers())
    assert error(answer, 400)["fields"] == {"_schema": ["A body is required."]}


def test_role_is_judged_before_the_input(world):
    cashier = world.hq.as_user(world.usernames["cashier_A"])
    # an HQ-only operation with a body that breaks its contract: 403, not the validation details
    answer = cashier.post(world.path("/categories"), {"code": "bad code!", "name": ""})
    assert error(answer, 403)["code"] == "forbidden"
    answer = cashier.client.simulate_patch(
        f"/api/v1{world.path('/settings')}", json={"time_zone": "Mars/Base"}, headers=cashier.headers()
    )
    assert error(answer, 403)["code"] == "forbidden"


def test_a_repeated_query_parameter_is_400(world):
    answer = world.hq.client.simulate_get(
        f"/api/v1{world.path('/stores')}", query_string="status=bogus&status=active", headers=world.hq.headers()
    )
    assert error(answer, 400)["fields"] == {"status": ["Given more than once."]}


def test_query_integers_and_booleans_are_what_the_document_says(world):
    for query in ("limit=%205", "limit=%2B5", "limit=%EF%BC%95"):  # " 5", "+5", a full-width 5
        answer = world.hq.client.simulate_get(
            f"/api/v1{world.path('/stores')}", query_string=query, headers=world.hq.headers()
        )
        assert error(answer, 422)["fields"] == {"limit": ["Not a valid integer."]}
    answer = world.hq.client.simulate_get(
        f"/api/v1{world.path('/categories')}", query_string="include_inactive=yes", headers=world.hq.headers()
    )
    assert error(answer, 422)["fields"]["include_inactive"]
    ok(world.hq.get(world.path("/categories"), {"include_inactive": "true"}))


def test_a_json_boolean_is_true_or_false_only(world):
    answer = world.hq.client.simulate_patch(
        f"/api/v1{world.path()}", json={"requires_store_approval": 1}, headers=world.hq.headers()
    )
    assert error(answer, 422)["fields"] == {"requires_store_approval": ["Not a valid boolean."]}


def test_timestamps_with_any_valid_offset_are_read(world):
    log = world.path("/access-log")
    # +16:00 is valid RFC 3339 but beyond what PostgreSQL stores: converted to UTC, not a 500;
    # the ends of the calendar, beyond Python's range once in UTC, are the earliest and latest instants
    for since in (
        "2026-01-01T00:00:00+16:00",
        "2026-01-01T00:00:00-23:59",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ):
        ok(world.hq.get(log, {"since": since}))
        ok(world.hq.get(log, {"until": since}))
    everything = ok(world.hq.get(log, {"since": "0001-01-01T00:00:00+01:00", "until": "9999-12-31T23:59:59-23:59"}))
    assert everything["items"]  # the chain's sign-ins, all of them between the two ends
    for since in ("2026-01-01T00:00:00", "2026-01-01", "2026-01-01T00:00:00+24:00", "2026-02-30T00:00:00Z"):
        reason = "Not a date-time: give it as 2026-01-31T09:30:00+08:00 (or ...Z for UTC)."
        assert error(world.hq.get(log, {"since": since}), 422)["fields"] == {"since": [reason]}


def test_a_malformed_idempotency_key_is_400(world):
    answer = world.hq.post(world.path("/categories"), {"code": "k1", "name": "K"}, key="caf\u00e9")
    assert error(answer, 400)["fields"]["Idempotency-Key"]


def test_card_numbers_in_the_path_are_checked_by_the_gateway(world):
    answer = world.hq.get(world.path("/wallet/cards/abc/balances"))
    assert error(answer, 422)["fields"] == {"card_no": ["A card number has 12 digits."]}
