"""Chain settings (S-1), dictionaries (S-2), store and staff edits."""

import pytest

from tests.helpers import build_chain, error, ok, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(admin):
    return build_chain(admin)


def test_new_chain_has_default_settings_and_payment_methods(world):
    settings = ok(world.hq.get(world.path("/settings")))
    assert settings == {"currency": "CNY", "time_zone": "Asia/Shanghai", "receipt_footer": "", "sms_signature": ""}
    codes = [m["code"] for m in ok(world.hq.get(world.path("/payment-methods")))["items"]]
    assert codes == ["alipay", "bank_card", "cash", "wechat"]


def test_hq_changes_settings_and_a_cashier_reads_them(world):
    changed = ok(
        world.hq.patch(world.path("/settings"), {"receipt_footer": "谢谢惠顾 Thank you", "sms_signature": "【洗车】"})
    )
    assert changed["receipt_footer"] == "谢谢惠顾 Thank you"
    cashier = world.hq.as_user(world.usernames["cashier_A"])
    assert ok(cashier.get(world.path("/settings")))["sms_signature"] == "【洗车】"
    assert error(cashier.patch(world.path("/settings"), {"receipt_footer": "x"}), 403)["code"] == "forbidden"
    bad = error(world.hq.patch(world.path("/settings"), {"time_zone": "Mars/Olympus", "currency": "XXX"}), 422)
    assert set(bad["fields"]) == {"time_zone", "currency"}
    assert ok(world.hq.get(world.path("/settings")))["time_zone"] == "Asia/Shanghai"  # nothing changed


def test_items_belong_to_an_existing_category(world):
    category = ok(world.hq.post(world.path("/categories"), {"code": "wash", "name": "洗车 Wash"}), 201)
    assert category["active"] is True
    item = ok(
        world.hq.post(
            world.path("/items"), {"code": "W01", "name": "Standard wash", "category_code": "wash", "price": 12000}
        ),
        201,
    )
    assert (item["price"], item["kind"]) == (12000, "service")
    missing = error(
        world.hq.post(world.path("/items"), {"code": "W02", "name": "X", "category_code": "nope", "price": 100}), 422
    )
    assert missing["fields"] == {"category_code": ["No active category with this code in the chain."]}
    duplicate = error(world.hq.post(world.path("/categories"), {"code": "wash", "name": "Again"}), 409)
    assert duplicate["code"] == "already_exists"
    # float prices, negative prices and unknown fields are refused with the field named
    for body, field in (({"price": 12.5}, "price"), ({"price": -1}, "price"), ({"colour": "red"}, "colour")):
        bad = error(
            world.hq.post(
                world.path("/items"), {"code": unique("I"), "name": "X", "category_code": "wash", "price": 1, **body}
            ),
            422,
        )
        assert field in bad["fields"]
    # retiring hides it from the default list
    ok(world.hq.patch(world.path(f"/items/{item['id']}"), {"active": False, "price": 13000}))
    assert [i["code"] for i in ok(world.hq.get(world.path("/items")))["items"]] == []
    retired = ok(world.hq.get(world.path("/items"), {"include_inactive": "true"}))["items"]
    assert [(i["code"], i["price"], i["active"]) for i in retired] == [("W01", 13000, False)]


def test_store_edit_by_hq_and_by_its_franchisee(world):
    franchisee = world.hq.as_user(world.usernames["franchisee"])
    store_f = world.stores["F"]["id"]
    assert ok(franchisee.patch(world.path(f"/stores/{store_f}"), {"phone": "0755-1234567"}))["phone"] == "0755-1234567"
    assert error(franchisee.patch(world.path(f"/stores/{store_f}"), {"status": "closed"}), 403)["code"] == "forbidden"
    assert error(franchisee.patch(world.path(f"/stores/{world.stores['A']['id']}"), {"name": "Mine"}), 404)
    closed = ok(world.hq.patch(world.path(f"/stores/{world.stores['B']['id']}"), {"status": "closed"}))
    assert closed["status"] == "closed"
    # nobody can be hired into a closed store
    body = {
        "username": unique("z"),
        "display_name": "Z",
        "role": "cashier",
        "store_id": closed["id"],
        "password": "long-enough-pw",
    }
    assert error(world.hq.post(world.path("/staff"), body), 422)["fields"] == {"store_id": ["The store is closed."]}


def test_moving_a_cashier_to_another_store_revokes_their_tokens(admin):
    world = build_chain(admin)
    cashier = world.hq.as_user(world.usernames["cashier_A"])
    moved = ok(
        world.hq.patch(
            world.path(f"/staff/{cashier.principal['staff_id']}"),
            {"store_id": world.stores["B"]["id"], "level": "senior"},
        )
    )
    assert (moved["store_id"], moved["level"]) == (world.stores["B"]["id"], "senior")
    error(cashier.get("/auth/me"), 401)
    assert world.hq.as_user(world.usernames["cashier_A"]).principal["store_ids"] == [world.stores["B"]["id"]]
    # a cashier without a store is not a thing
    bad = error(world.hq.patch(world.path(f"/staff/{moved['id']}"), {"store_id": None}), 422)
    assert "store_id" in bad["fields"]


def test_hq_resets_a_password_and_no_one_manages_themselves(admin):
    world = build_chain(admin)
    cashier_id = world.hq.as_user(world.usernames["cashier_A"]).principal["staff_id"]
    ok(world.hq.post(world.path(f"/staff/{cashier_id}/password"), {"new_password": "brand-new-pass-1"}))
    world.hq.as_user(world.usernames["cashier_A"], "brand-new-pass-1")
    hq_id = world.hq.principal["staff_id"]
    assert error(world.hq.post(world.path(f"/staff/{hq_id}/disable")), 403)["code"] == "forbidden"
