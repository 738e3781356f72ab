"""Sign-in, lockout, revocation and the access log (O-8)."""

import dataclasses

import pytest
from falcon import testing

from gateway.app import create_app
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import DEFAULT_PASSWORD, Api, build_chain, error, ok

pytestmark = pytest.mark.integration


def sign_in(client, chain, username, password, agent="pytest-agent/1.0"):
    """`chain`: the chain's code, or None for a platform admin."""
    body = {"username": username, "password": password, **({"chain": chain} if chain is not None else {})}
    return client.simulate_post("/api/v1/auth/sign-in", json=body, headers={"User-Agent": agent})


def test_wrong_password_five_times_locks_even_the_right_password_out(admin, client):
    world = build_chain(admin)
    cashier = world.usernames["cashier_A"]
    for _ in range(4):
        assert error(sign_in(client, world.code, cashier, "wrong-password-x"), 401)["code"] == "not_authenticated"
    fifth = error(sign_in(client, world.code, cashier, "wrong-password-x"), 403)
    assert fifth["code"] == "account_locked"
    # locked: the right password is refused too, and says why
    assert error(sign_in(client, world.code, cashier, DEFAULT_PASSWORD), 403)["code"] == "account_locked"
    staff = ok(world.hq.get(world.path("/staff"), {"role": "cashier", "store_id": world.stores["A"]["id"]}))["items"]
    assert staff[0]["locked_until"] is not None
    # the manager lifts the lock; the right password works again
    ok(world.hq.post(world.path(f"/staff/{staff[0]['id']}/unlock")))
    assert sign_in(client, world.code, cashier, DEFAULT_PASSWORD).status_code == 200


def test_a_success_resets_the_failure_count(admin, client):
    world = build_chain(admin)
    cashier = world.usernames["cashier_B"]
    for _ in range(4):
        error(sign_in(client, world.code, cashier, "wrong-password-x"), 401)
    ok(sign_in(client, world.code, cashier, DEFAULT_PASSWORD))
    for _ in range(4):
        error(sign_in(client, world.code, cashier, "wrong-password-x"), 401)
    # 4 + 4 failures with a success between: still not locked
    ok(sign_in(client, world.code, cashier, DEFAULT_PASSWORD))


REFUSED = "Wrong username or password, or the account is not active."


def test_unknown_user_and_wrong_password_look_the_same(admin, client):
    world = build_chain(admin)
    unknown = error(sign_in(client, world.code, "nobody-here", "whatever-pass"), 401)
    wrong = error(sign_in(client, world.code, world.usernames["cashier_A"], "whatever-pass"), 401)
    assert unknown == wrong == {"code": "not_authenticated", "message": REFUSED}


def test_sign_out_revokes_the_token_at_once(admin, client):
    world = build_chain(admin)
    cashier = world.hq.as_user(world.usernames["cashier_A"])
    ok(cashier.get("/auth/me"))
    assert cashier.post("/auth/sign-out", key=None).status_code == 204
    assert error(cashier.get("/auth/me"), 401)["code"] == "not_authenticated"


def test_disabling_a_staff_member_ends_their_sessions_at_once(admin):
    world = build_chain(admin)
    cashier = world.hq.as_user(world.usernames["cashier_A"])
    cashier_id = cashier.principal["staff_id"]
    manager = world.hq.as_user(world.usernames["store_manager_A"])
    disabled = ok(manager.post(world.path(f"/staff/{cashier_id}/disable")))
    assert disabled["status"] == "disabled"
    error(cashier.get("/auth/me"), 401)
    # the right password of a disabled account is answered like a wrong one: no password oracle
    right = sign_in(world.hq.client, world.code, world.usernames["cashier_A"], DEFAULT_PASSWORD)
    assert error(right, 401)["message"] == REFUSED
    reasons = [e["reason"] for e in ok(world.hq.get(world.path("/access-log"), {"staff_id": cashier_id}))["items"]]
    assert reasons[0] == "account disabled"  # the log keeps the real reason
    ok(manager.post(world.path(f"/staff/{cashier_id}/enable")))
    ok(world.hq.as_user(world.usernames["cashier_A"]).get("/auth/me"))


def test_password_change_needs_the_current_one_and_signs_out_other_devices(admin, client):
    world = build_chain(admin)
    name = world.usernames["cashier_A"]
    phone, laptop = Api.sign_in(client, name, chain=world.code), Api.sign_in(client, name, chain=world.code)
    wrong = error(
        phone.post(
            "/auth/password", {"current_password": "nope-nope-nope", "new_password": "a-new-secret-1"}, key=None
        ),
        422,
    )
    assert "current_password" in wrong["fields"]
    short = error(
        phone.post("/auth/password", {"current_password": DEFAULT_PASSWORD, "new_password": "short"}, key=None), 422
    )
    assert "new_password" in short["fields"]
    assert (
        phone.post(
            "/auth/password", {"current_password": DEFAULT_PASSWORD, "new_password": "a-new-secret-1"}, key=None
        ).status_code
        == 204
    )
    ok(phone.get("/auth/me"))  # this device stays signed in
    error(laptop.get("/auth/me"), 401)  # the other one does not
    ok(sign_in(client, world.code, name, "a-new-secret-1"))
    error(sign_in(client, world.code, name, DEFAULT_PASSWORD), 401)


def test_guessing_the_current_password_locks_like_sign_in(admin, client):
    world = build_chain(admin)
    name = world.usernames["cashier_B"]
    stolen = Api.sign_in(client, name, chain=world.code)
    guess = {"current_password": "a-wrong-guess", "new_password": "attacker-pass-1"}
    for _ in range(4):
        assert "current_password" in error(stolen.post("/auth/password", guess, key=None), 422)["fields"]
    assert error(stolen.post("/auth/password", guess, key=None), 403)["code"] == "account_locked"
    # locked: the token is revoked and even the right password does not sign in
    error(stolen.get("/auth/me"), 401)
    assert error(sign_in(client, world.code, name, DEFAULT_PASSWORD), 403)["code"] == "account_locked"


def test_access_log_records_sign_in_failure_and_sign_out_with_ip_and_agent(admin, client):
    world = build_chain(admin)
    name = world.usernames["cashier_B"]
    error(sign_in(client, world.code, name, "wrong-password-x", agent="till-7"), 401)
    token = ok(sign_in(client, world.code, name, DEFAULT_PASSWORD, agent="till-7"))["token"]
    Api(client, token).post("/auth/sign-out", key=None, headers={"User-Agent": "till-7"})
    entries = ok(world.hq.get(world.path("/access-log"), {"limit": 200}))["items"]
    mine = [e for e in entries if e["username"] == name]
    assert [e["event"] for e in mine] == ["sign_out", "sign_in", "sign_in_failed"]  # newest first
    assert all(e["user_agent"] == "till-7" and e["ip"] for e in mine)
    assert mine[2]["reason"] == "wrong password"
    # a store manager of store A sees store A's log, not store B's cashier
    manager_a = world.hq.as_user(world.usernames["store_manager_A"])
    seen = ok(manager_a.get(world.path("/access-log"), {"limit": 200}))["items"]
    assert not [e for e in seen if e["username"] == name]
    # a cashier may not read the log at all
    cashier = world.hq.as_user(name)
    assert error(cashier.get(world.path("/access-log")), 403)["code"] == "forbidden"


def test_missing_or_bad_token_is_401(anon, client):
    assert error(anon.get("/auth/me"), 401)["code"] == "not_authenticated"
    bad = client.simulate_get("/api/v1/auth/me", headers={"Authorization": "Bearer not-a-token"})
    assert error(bad, 401)["code"] == "not_authenticated"
    assert bad.headers.get("WWW-Authenticate") == "Bearer"


def test_suspending_a_chain_signs_its_staff_out(admin):
    world = build_chain(admin)
    cashier = world.hq.as_user(world.usernames["cashier_A"])
    # HQ may not suspend its own chain; the platform admin may
    assert error(world.hq.patch(world.path(), {"status": "suspended"}), 403)["fields"] == {
        "status": ["Platform admin only."]
    }
    ok(admin.patch(world.path(), {"status": "suspended"}))
    assert error(cashier.get("/auth/me"), 401)["message"] == "This chain is suspended."
    ok(admin.patch(world.path(), {"status": "active"}))
    ok(cashier.get("/auth/me"))


def test_a_forged_x_forwarded_for_does_not_change_the_logged_address(admin, client, settings, rpc_pool):
    world = build_chain(admin)
    name = world.usernames["cashier_A"]
    forged = {"User-Agent": "till-9", "X-Forwarded-For": "6.6.6.6"}
    attempt = {"chain": world.code, "username": name, "password": "nope-nope"}
    client.simulate_post("/api/v1/auth/sign-in", json=attempt, headers=forged)
    # behind one trusted proxy: the hop that proxy added is believed, what the client wrote is not
    behind_proxy = testing.TestClient(create_app(dataclasses.replace(settings, trusted_proxies=1), rpc_pool))
    proxied = {"User-Agent": "till-9", "X-Forwarded-For": "6.6.6.6, 10.1.2.3"}
    behind_proxy.simulate_post("/api/v1/auth/sign-in", json=attempt, headers=proxied)
    entries = ok(world.hq.get(world.path("/access-log"), {"event": "sign_in_failed"}))["items"]
    assert [e["ip"] for e in entries if e["username"] == name] == ["10.1.2.3", "127.0.0.1"]


def test_usernames_are_unique_per_chain_and_staff_sign_in_at_their_chain(admin, client):
    """A 409 on a username only within one chain, so no chain learns another's
    usernames; sign-in names the chain by its code, and locks count per chain."""
    first, second = build_chain(admin), build_chain(admin)
    name = first.usernames["cashier_A"]
    twin = {"username": name, "display_name": "Twin", "role": "cashier", "store_id": second.stores["A"]["id"]}
    created = ok(second.hq.post(second.path("/staff"), {**twin, "password": "twin-password-1"}), 201)
    # the same name again in the same chain is taken
    again = error(second.hq.post(second.path("/staff"), {**twin, "password": "twin-password-1"}), 409)
    assert again["fields"] == {"username": ["This username is taken in this chain."]}
    # each signs in at their own chain and is who they are there
    mine = ok(sign_in(client, first.code, name, DEFAULT_PASSWORD))["principal"]
    theirs = ok(sign_in(client, second.code, name, "twin-password-1"))["principal"]
    assert (mine["chain_id"], theirs["chain_id"]) == (first.id, second.id)
    assert theirs["staff_id"] == created["id"] != mine["staff_id"]
    # a wrong or missing chain is refused exactly like a wrong password
    refusals = [
        sign_in(client, second.code, name, DEFAULT_PASSWORD),
        sign_in(client, "NO-SUCH-CHAIN", name, DEFAULT_PASSWORD),
        sign_in(client, None, name, DEFAULT_PASSWORD),
        sign_in(client, first.code, "admin", ADMIN_PASSWORD),
    ]
    assert [error(r, 401) for r in refusals] == [{"code": "not_authenticated", "message": REFUSED}] * 4
    # the platform admin signs in without a chain
    assert ok(sign_in(client, None, "admin", ADMIN_PASSWORD))["principal"]["chain_id"] is None
    # a lock is on one chain's account: the namesake elsewhere still signs in
    for _ in range(5):
        sign_in(client, first.code, name, "wrong-password-x")
    assert error(sign_in(client, first.code, name, DEFAULT_PASSWORD), 403)["code"] == "account_locked"
    ok(sign_in(client, second.code, name, "twin-password-1"))
    # an unknown username tried at a chain is in that chain's access log
    error(sign_in(client, first.code, "nobody-at-all", "whatever-pass"), 401)
    entries = ok(first.hq.get(first.path("/access-log"), {"event": "sign_in_failed", "limit": 200}))["items"]
    assert [e["reason"] for e in entries if e["username"] == "nobody-at-all"] == ["unknown username"]
    assert not [
        e
        for e in ok(second.hq.get(second.path("/access-log"), {"limit": 200}))["items"]
        if e["username"] == "nobody-at-all"
    ]
