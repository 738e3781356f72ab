"""`make demo` seeds a chain people can sign in to at once."""

import pytest
from sqlalchemy.orm import Session

from deploy import demo
from services.kit.db import make_engine
from tests.helpers import Api, ok

pytestmark = pytest.mark.integration


def test_demo_chain_is_seeded_once_and_its_people_can_work(provisioned, client):
    engine = make_engine(provisioned.database_url("org"), pool_size=1, application_name="demo-test")
    try:
        with Session(engine) as session, session.begin():
            first = demo.seed(session)
        with Session(engine) as session, session.begin():
            second = demo.seed(session)
    finally:
        engine.dispose()
    assert (first, second) == (True, False)
    hq = Api.sign_in(client, "demo.hq", demo.PASSWORD, chain=demo.CODE)
    chain_id = hq.principal["chain_id"]
    engine = make_engine(provisioned.database_url("points"), pool_size=1, application_name="demo-test")
    try:
        with Session(engine) as session, session.begin():
            seeded = demo.seed_points(session, chain_id)
        with Session(engine) as session, session.begin():
            again = demo.seed_points(session, chain_id)
    finally:
        engine.dispose()
    assert (seeded, again) == (True, False)
    store_ids = [s["id"] for s in ok(hq.get(f"/chains/{chain_id}/stores"))["items"]]
    engine = make_engine(provisioned.database_url("gift"), pool_size=1, application_name="demo-test")
    try:
        with Session(engine) as session, session.begin():
            gifts_seeded = demo.seed_gifts(session, chain_id, store_ids)
        with Session(engine) as session, session.begin():
            gifts_again = demo.seed_gifts(session, chain_id, store_ids)
    finally:
        engine.dispose()
    assert (gifts_seeded, gifts_again) == (True, False)
    gifts = {g["name"]: g for g in ok(hq.get(f"/chains/{chain_id}/gifts"))["items"]}
    assert sorted((g["points_cost"], g["stock"]) for g in gifts.values()) == [(600, 30), (800, 30), (1000, 200)]
    rules = ok(hq.get(f"/chains/{chain_id}/points/rules"))
    assert (rules["base_rate"], rules["referral_points"], rules["expiry_months"]) == ("1", 200, 24)
    [promotion] = ok(hq.get(f"/chains/{chain_id}/points/promotions"))["items"]
    assert (promotion["multiplier"], promotion["weekdays"], promotion["categories"]) == ("2", [6, 7], ["wash"])
    stores = ok(hq.get(f"/chains/{chain_id}/stores"))["items"]
    assert sorted((s["code"], s["kind"]) for s in stores) == [
        ("east", "franchise"),
        ("north", "direct"),
        ("south", "direct"),
    ]
    assert len(ok(hq.get(f"/chains/{chain_id}/items"))["items"]) == len(demo.ITEMS)
    assert len(ok(hq.get(f"/chains/{chain_id}/payment-methods"))["items"]) == 4
    cashier = Api.sign_in(client, "demo.east.cashier", demo.PASSWORD, chain=demo.CODE)
    east = next(s["id"] for s in stores if s["code"] == "east")
    assert cashier.principal["store_ids"] == [east]
    franchisee = Api.sign_in(client, "demo.franchisee", demo.PASSWORD, chain=demo.CODE)
    assert franchisee.principal["store_ids"] == [east]
