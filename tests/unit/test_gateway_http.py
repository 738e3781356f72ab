"""Pure HTTP behaviour of the gateway, on a fake RPC pool (no broker, no services): what it
refuses itself, and what it forwards."""

import uuid

from falcon import testing

from contracts.auth import CASHIER
from gateway.app import create_app
from services.kit.config import Settings

CHAIN, STORE_A, STORE_B = (str(uuid.uuid4()) for _ in range(3))
CARD_NO = "100000000009"


class FakePool:
    """Answers `org.authenticate` with a cashier of store A; records every other call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def call(self, service: str, method: str, *args, correlation_id=None, timeout=None):
        if (service, method) == ("org", "authenticate"):
            return {
                "staff_id": str(uuid.uuid4()),
                "chain_id": CHAIN,
                "role": CASHIER,
                "store_ids": [STORE_A],
                "username": "cashier-a",
                "display_name": "Cashier A",
            }
        self.calls.append((service, method, *args))
        return {"forwarded": method}


def _gateway() -> tuple[testing.TestClient, FakePool]:
    pool = FakePool()
    return testing.TestClient(create_app(Settings(), pool, keep_principals=False)), pool


def _consume(client: testing.TestClient, store_id: str, key: str = "k-1"):
    body = {
        "card_no": CARD_NO,
        "store_id": store_id,
        "lines": [{"item_code": "W", "category": "wash", "quantity": 1, "unit_price": 100}],
    }
    headers = {"Authorization": "Bearer t", "Idempotency-Key": key}
    return client.simulate_post(f"/api/v1/chains/{CHAIN}/wallet/consumes", json=body, headers=headers)


def test_a_cashier_of_store_a_cannot_ring_up_a_sale_at_store_b():
    client, pool = _gateway()
    refused = _consume(client, STORE_B)
    assert refused.status_code == 403
    assert refused.json["error"]["fields"] == {"store_id": ["Not one of your stores."]}
    assert pool.calls == []  # refused at the gateway: the wallet never heard of it


def test_a_sale_at_ones_own_store_is_forwarded_with_its_key():
    client, pool = _gateway()
    answered = _consume(client, STORE_A, key="sale-7")
    assert answered.status_code == 201
    [(service, method, actor, chain_id, body, key)] = pool.calls
    assert (service, method, chain_id, key) == ("wallet", "consume", CHAIN, "sale-7")
    assert actor["store_ids"] == [STORE_A] and body["store_id"] == STORE_A


def test_a_mutation_without_a_key_is_refused_before_any_rpc():
    client, pool = _gateway()
    body = {"card_no": CARD_NO, "store_id": STORE_A, "amount": 100, "payment_method": "cash"}
    refused = client.simulate_post(
        f"/api/v1/chains/{CHAIN}/wallet/recharges", json=body, headers={"Authorization": "Bearer t"}
    )
    assert refused.status_code == 400
    assert pool.calls == []
