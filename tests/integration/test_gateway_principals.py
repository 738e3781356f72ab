"""The gateway keeps who holds a token, so a request signs in without an RPC, and drops it the
moment org says the token was revoked (non-negotiable 12; issue: one RPC per consume). A second
gateway process (its own app, its own cache) sees revocations made through the first within 1 s."""

import time

import pytest
from falcon import testing

from gateway.app import create_app
from gateway.principals import Principals
from tests.helpers import Api, build_chain, error, ok

pytestmark = pytest.mark.integration


class CountingPool:
    """The real pool, counting the sign-in checks it is asked for."""

    def __init__(self, pool) -> None:
        self.pool, self.authentications = pool, 0

    def call(self, service, method, *args, **kwargs):
        if (service, method) == ("org", "authenticate"):
            self.authentications += 1
        return self.pool.call(service, method, *args, **kwargs)


@pytest.fixture
def second_gateway(settings, rpc_pool):
    principals = Principals(settings.amqp_uri)
    pool = CountingPool(rpc_pool)
    client = testing.TestClient(create_app(settings, pool, principals=principals))
    assert principals.wait_listening(10), "the gateway never started listening to org's revocations"
    yield client, pool
    principals.close()


def refused_within(client: testing.TestClient, token: str, seconds: float = 1.0) -> float:
    """Seconds until `token` is refused (401) by `client`; fails the test past `seconds`."""
    started = time.monotonic()
    while True:
        status = client.simulate_get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        if status == 401:
            return time.monotonic() - started
        assert status == 200, status
        assert time.monotonic() - started < seconds, f"still accepted after {seconds} s"
        time.sleep(0.02)


def test_a_kept_token_needs_no_rpc_and_a_disabled_account_is_refused_within_a_second(admin, second_gateway):
    client, pool = second_gateway
    world = build_chain(admin)
    cashier = world.hq.as_user(world.usernames["cashier_A"])
    me = {"Authorization": f"Bearer {cashier.token}"}
    ok(client.simulate_get("/api/v1/auth/me", headers=me))
    ok(client.simulate_get("/api/v1/auth/me", headers=me))
    ok(client.simulate_get("/api/v1/auth/me", headers=me))
    assert pool.authentications == 1  # asked once, then kept
    staff_id = cashier.principal["staff_id"]
    ok(world.hq.post(world.path(f"/staff/{staff_id}/disable"), {}))  # through the other gateway
    assert refused_within(client, cashier.token) < 1.0


def test_a_sign_out_elsewhere_is_in_force_here_within_a_second(admin, second_gateway):
    client, _ = second_gateway
    world = build_chain(admin)
    cashier = world.hq.as_user(world.usernames["cashier_B"])
    ok(client.simulate_get("/api/v1/auth/me", headers={"Authorization": f"Bearer {cashier.token}"}))
    assert (
        cashier.client.simulate_post(
            "/api/v1/auth/sign-out", headers={"Authorization": f"Bearer {cashier.token}"}
        ).status_code
        == 204
    )
    assert refused_within(client, cashier.token) < 1.0


def test_a_password_change_signs_out_the_other_devices_only(admin, second_gateway):
    client, _ = second_gateway
    world = build_chain(admin)
    name = world.usernames["store_manager_A"]
    phone, till = world.hq.as_user(name), world.hq.as_user(name)
    for device in (phone, till):
        ok(client.simulate_get("/api/v1/auth/me", headers={"Authorization": f"Bearer {device.token}"}))
    changed = till.client.simulate_post(
        "/api/v1/auth/password",
        json={"current_password": "correct-horse-battery", "new_password": "a-new-long-passphrase"},
        headers={"Authorization": f"Bearer {till.token}"},
    )
    assert changed.status_code in (200, 204), changed.text
    assert refused_within(client, phone.token) < 1.0
    ok(client.simulate_get("/api/v1/auth/me", headers={"Authorization": f"Bearer {till.token}"}))


def test_a_sign_out_through_this_gateway_is_in_force_at_once(admin, second_gateway):
    client, _ = second_gateway
    world = build_chain(admin)
    cashier = Api.sign_in(client, world.usernames["cashier_A"], chain=world.chain["code"])
    ok(client.simulate_get("/api/v1/auth/me", headers={"Authorization": f"Bearer {cashier.token}"}))
    assert (
        client.simulate_post("/api/v1/auth/sign-out", headers={"Authorization": f"Bearer {cashier.token}"}).status_code
        == 204
    )
    error(client.simulate_get("/api/v1/auth/me", headers={"Authorization": f"Bearer {cashier.token}"}), 401)
