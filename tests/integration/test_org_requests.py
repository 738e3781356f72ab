"""What every endpoint does with bad input and retries (non-negotiables 5 and 9)."""

import base64
import json
import uuid

import pytest

from tests.helpers import build_chain, error, ok, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared_world(admin):
    return build_chain(admin)


def test_same_key_same_body_returns_the_first_answer_and_creates_once(admin):
    world = build_chain(admin)
    key = uuid.uuid4().hex
    body = {"code": unique("S"), "name": "Retry store", "kind": "direct"}
    first = ok(world.hq.post(world.path("/stores"), body, key=key), 201)
    second = ok(world.hq.post(world.path("/stores"), body, key=key), 201)
    assert first == second
    codes = [s["code"] for s in ok(world.hq.get(world.path("/stores"), {"limit": 200}))["items"]]
    assert codes.count(body["code"]) == 1


def test_same_key_different_body_is_a_conflict_and_changes_nothing(admin):
    world = build_chain(admin)
    key = uuid.uuid4().hex
    ok(world.hq.post(world.path("/stores"), {"code": unique("S"), "name": "One", "kind": "direct"}, key=key), 201)
    other = {"code": unique("S"), "name": "Two", "kind": "direct"}
    clash = error(world.hq.post(world.path("/stores"), other, key=key), 409)
    assert clash["code"] == "idempotency_mismatch"
    assert "idempotency_key" in clash["fields"]
    codes = [s["code"] for s in ok(world.hq.get(world.path("/stores"), {"limit": 200}))["items"]]
    assert other["code"] not in codes


def test_a_refused_request_can_be_retried_with_its_key_once_fixed(admin):
    world = build_chain(admin)
    key = uuid.uuid4().hex
    code = unique("S")
    error(world.hq.post(world.path("/stores"), {"code": code, "name": "X", "kind": "chainsaw"}, key=key), 422)
    ok(world.hq.post(world.path("/stores"), {"code": code, "name": "X", "kind": "direct"}, key=key), 201)


def test_state_changing_post_without_idempotency_key_is_refused(admin):
    world = build_chain(admin)
    refused = error(
        world.hq.post(world.path("/stores"), {"code": unique("S"), "name": "X", "kind": "direct"}, key=None), 400
    )
    assert refused["fields"] == {"Idempotency-Key": ["Required: 1 to 200 visible ASCII characters."]}
    assert len(ok(world.hq.get(world.path("/stores")))["items"]) == 3  # A, B and F only


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/stores", {"name": "No code", "kind": "direct"}, "code"),
        ("/stores", {"code": "has space", "name": "X", "kind": "direct"}, "code"),
        ("/stores", {"code": "OK1", "name": "", "kind": "direct"}, "name"),
        ("/stores", {"code": "OK2", "name": "X", "kind": "direct", "franchisee_id": "not-an-id"}, "franchisee_id"),
        (
            "/staff",
            {"username": "UPPER case", "display_name": "X", "role": "cashier", "password": "long-enough-pw"},
            "username",
        ),
        (
            "/staff",
            {"username": "someone", "display_name": "X", "role": "emperor", "password": "long-enough-pw"},
            "role",
        ),
        ("/staff", {"username": "someone", "display_name": "X", "role": "hq_admin", "password": "short"}, "password"),
        ("/categories", {"code": "c1"}, "name"),
        ("/payment-methods", {"code": "x" * 41, "name": "X"}, "code"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(shared_world, path, body, field):
    world = shared_world
    failure = error(world.hq.post(world.path(path), body), 422)
    assert failure["code"] == "validation_failed"
    assert field in failure["fields"], failure


def test_malformed_json_and_non_object_bodies_are_400(admin, client):
    world = build_chain(admin)
    headers = {"Authorization": f"Bearer {world.hq.token}", "Idempotency-Key": "k1", "Content-Type": "application/json"}
    broken = client.simulate_post(f"/api/v1{world.path('/stores')}", body="{not json", headers=headers)
    assert error(broken, 400)["code"] == "bad_request"
    listed = client.simulate_post(f"/api/v1{world.path('/stores')}", body="[1, 2]", headers=headers)
    assert error(listed, 400)["fields"] == {"_schema": ["Expected a JSON object."]}


def test_bad_query_parameters_and_ids(admin):
    world = build_chain(admin)
    assert "limit" in error(world.hq.get(world.path("/stores"), {"limit": "0"}), 422)["fields"]
    assert "after" in error(world.hq.get(world.path("/stores"), {"after": "garbage!"}), 422)["fields"]
    assert "colour" in error(world.hq.get(world.path("/stores"), {"colour": "red"}), 422)["fields"]
    assert error(world.hq.get("/chains/not-a-uuid/stores"), 404)["fields"] == {"chain_id": ["Not a valid id."]}
    assert error(world.hq.get(world.path(f"/stores/{uuid.uuid4()}")), 404)["code"] == "not_found"


def test_unknown_route_and_method_answer_in_the_error_shape(admin, client):
    assert error(client.simulate_get("/api/v1/nowhere"), 404)["code"] == "not_found"
    wrong_method = client.simulate_delete("/api/v1/chains", headers={"Authorization": f"Bearer {admin.token}"})
    assert error(wrong_method, 405)["code"] == "method_not_allowed"


def test_cursor_pages_walk_every_store_once(admin):
    world = build_chain(admin)
    for n in range(5):
        ok(world.hq.post(world.path("/stores"), {"code": f"P{n}", "name": f"Page {n}", "kind": "direct"}), 201)
    seen, after = [], None
    while True:
        page = ok(world.hq.get(world.path("/stores"), {"limit": 3, **({"after": after} if after else {})}))
        seen += [s["code"] for s in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert len(seen) == 8 and len(set(seen)) == 8 and seen == sorted(seen)


def test_request_id_is_echoed_and_made_when_missing(admin, client):
    given = client.simulate_get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {admin.token}", "X-Request-Id": "till-42-abc"}
    )
    assert given.headers["X-Request-Id"] == "till-42-abc"
    made = client.simulate_get("/health")
    assert len(made.headers["X-Request-Id"]) == 32


def test_nul_characters_and_forged_cursors_are_refused_not_500(shared_world, client):
    world = shared_world
    nul = error(world.hq.post(world.path("/stores"), {"code": "N1", "name": "a\x00b", "kind": "direct"}), 422)
    assert nul["fields"] == {"name": ["Must not contain the NUL character."]}
    nested = error(
        world.hq.post(
            world.path("/staff"),
            {"username": "x\x00", "display_name": "X", "role": "hq_admin", "password": "long-enough-pw"},
        ),
        422,
    )
    assert nested["fields"] == {"username": ["Must not contain the NUL character."]}
    signin = client.simulate_post("/api/v1/auth/sign-in", json={"username": "ab\x00c", "password": "x"})
    assert error(signin, 422)["fields"] == {"username": ["Must not contain the NUL character."]}
    # a cursor is client input: well-formed base64 JSON of the wrong types is still refused
    # stores and staff page by a text column, the access log by an integer one
    forged_for = {
        "/stores": ([5], [{"a": 1}], ["\x00"], [True]),
        "/staff": ([5], [{"a": 1}], ["\x00"], [True]),
        "/access-log": (["abc"], [{"a": 1}], [True], [1.5]),
    }
    for path, cursors in forged_for.items():
        for forged in cursors:
            after = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
            answer = world.hq.get(world.path(path), {"after": after})
            assert error(answer, 422)["fields"] == {"after": ["Not a cursor this list returned."]}, (path, forged)
