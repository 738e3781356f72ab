"""Tenancy and store scoping (O-3, O-4, O-7; non-negotiable 8): 404 or 403, never data."""

import pytest

from tests.helpers import DEFAULT_PASSWORD, build_chain, error, ok, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def two_chains(admin):
    return build_chain(admin), build_chain(admin)


def test_chain_a_cannot_see_chain_b(two_chains):
    a, b = two_chains
    assert error(a.hq.get(b.path()), 404)["code"] == "not_found"
    assert error(a.hq.get(b.path("/stores")), 404)["code"] == "not_found"
    assert error(a.hq.get(b.path("/staff")), 404)["code"] == "not_found"
    assert error(a.hq.get(b.path(f"/stores/{b.stores['A']['id']}")), 404)["code"] == "not_found"
    assert error(a.hq.get(b.path("/categories")), 404)["code"] == "not_found"
    # a chain's own store id under its own chain works; under another chain it does not exist
    assert error(a.hq.get(a.path(f"/stores/{b.stores['A']['id']}")), 404)["code"] == "not_found"
    # listing chains shows only one's own
    assert [c["id"] for c in ok(a.hq.get("/chains"))["items"]] == [a.id]
    # and nothing can be created in the other chain
    body = {"code": unique("X"), "name": "Intruder", "kind": "direct"}
    assert error(a.hq.post(b.path("/stores"), body), 404)["code"] == "not_found"


def test_store_manager_of_a_cannot_list_store_b_staff(two_chains):
    world, _ = two_chains
    manager_a = world.hq.as_user(world.usernames["store_manager_A"])
    store_a, store_b = world.stores["A"]["id"], world.stores["B"]["id"]
    assert error(manager_a.get(world.path("/staff"), {"store_id": store_b}), 404)["code"] == "not_found"
    listed = ok(manager_a.get(world.path("/staff")))["items"]
    assert {s["store_id"] for s in listed} == {store_a}
    assert {s["username"] for s in listed} == {world.usernames["store_manager_A"], world.usernames["cashier_A"]}
    # nor fetch one of them directly
    staff_b = ok(world.hq.get(world.path("/staff"), {"store_id": store_b}))["items"]
    assert error(manager_a.get(world.path(f"/staff/{staff_b[0]['id']}")), 404)["code"] == "not_found"
    # nor see store B
    assert error(manager_a.get(world.path(f"/stores/{store_b}")), 404)["code"] == "not_found"
    assert [s["id"] for s in ok(manager_a.get(world.path("/stores")))["items"]] == [store_a]


def test_hq_sees_every_store_and_all_staff(two_chains):
    world, _ = two_chains
    stores = ok(world.hq.get(world.path("/stores")))["items"]
    assert {s["id"] for s in stores} == {world.stores[k]["id"] for k in "ABF"}
    staff = ok(world.hq.get(world.path("/staff"), {"limit": 200}))["items"]
    # HQ + 2 managers + 2 cashiers + the franchisee
    assert len(staff) == 6


def test_store_manager_can_hire_cashiers_for_their_store_only(two_chains):
    world, _ = two_chains
    manager_a = world.hq.as_user(world.usernames["store_manager_A"])

    def hire(role, store):
        return manager_a.post(
            world.path("/staff"),
            {
                "username": unique("new"),
                "display_name": "New hire",
                "role": role,
                "store_id": world.stores[store]["id"],
                "password": DEFAULT_PASSWORD,
            },
        )

    assert ok(hire("cashier", "A"), 201)["store_id"] == world.stores["A"]["id"]
    assert error(hire("cashier", "B"), 404)["code"] == "not_found"  # store B is out of scope
    assert error(hire("store_manager", "A"), 403)["code"] == "forbidden"


def test_cashier_cannot_manage_anyone(two_chains):
    world, _ = two_chains
    cashier = world.hq.as_user(world.usernames["cashier_A"])
    body = {
        "username": unique("x"),
        "display_name": "X",
        "role": "cashier",
        "store_id": world.stores["A"]["id"],
        "password": DEFAULT_PASSWORD,
    }
    assert error(cashier.post(world.path("/staff"), body), 403)["code"] == "forbidden"
    assert error(cashier.post(world.path("/categories"), {"code": "wash", "name": "Wash"}), 403)["code"] == "forbidden"


def test_franchisee_opens_stores_without_hq_and_manages_only_their_own(two_chains):
    world, _ = two_chains
    franchisee = world.hq.as_user(world.usernames["franchisee"])
    assert world.stores["F"]["status"] == "active"
    assert world.stores["F"]["franchisee_id"] == franchisee.principal["staff_id"]
    second = ok(
        franchisee.post(world.path("/stores"), {"code": unique("F2"), "name": "Second", "kind": "franchise"}), 201
    )
    assert second["status"] == "active"
    # a direct store is HQ's to open
    assert error(franchisee.post(world.path("/stores"), {"code": unique("D"), "name": "D", "kind": "direct"}), 403)
    # hires for an own store; not for a direct store
    franchisee = world.hq.as_user(world.usernames["franchisee"])  # the new store is in the fresh token's scope
    body = {"username": unique("fc"), "display_name": "F cashier", "role": "cashier", "password": DEFAULT_PASSWORD}
    ok(franchisee.post(world.path("/staff"), {**body, "store_id": second["id"]}), 201)
    assert error(
        franchisee.post(world.path("/staff"), {**body, "username": unique("fc"), "store_id": world.stores["A"]["id"]}),
        404,
    )
    assert {s["id"] for s in ok(franchisee.get(world.path("/stores")))["items"]} == {
        world.stores["F"]["id"],
        second["id"],
    }


def test_store_opened_by_franchisee_waits_for_approval_when_the_chain_requires_it(admin):
    world = build_chain(admin, requires_store_approval=True)
    assert world.stores["F"]["status"] == "pending_approval"
    franchisee = world.hq.as_user(world.usernames["franchisee"])
    # the franchisee cannot approve their own store
    assert error(franchisee.post(world.path(f"/stores/{world.stores['F']['id']}/decision"), {"approve": True}), 403)
    approved = ok(world.hq.post(world.path(f"/stores/{world.stores['F']['id']}/decision"), {"approve": True}))
    assert approved["status"] == "active"
    again = error(world.hq.post(world.path(f"/stores/{world.stores['F']['id']}/decision"), {"approve": False}), 409)
    assert again["code"] == "invalid_state"
    # HQ's own stores never wait
    assert world.stores["A"]["status"] == "active"
