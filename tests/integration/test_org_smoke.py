import pytest

from tests.helpers import build_chain, ok

pytestmark = pytest.mark.integration


def test_platform_admin_builds_a_chain_and_its_cashier_signs_in(admin):
    world = build_chain(admin)
    cashier = world.hq.as_user(world.usernames["cashier_A"])
    me = ok(cashier.get("/auth/me"))
    assert me["role"] == "cashier"
    assert me["chain_id"] == world.id
    assert me["store_ids"] == [world.stores["A"]["id"]]
