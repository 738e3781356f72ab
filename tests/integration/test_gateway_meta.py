"""Health, readiness and the API description."""

import pytest

from gateway.app import create_app
from gateway.routes import all_operations
from tests.helpers import ok

pytestmark = pytest.mark.integration


def test_health_and_ready(client):
    assert ok(client.simulate_get("/health")) == {"status": "ok"}
    ready = ok(client.simulate_get("/ready"))
    assert ready["status"] == "ready"
    assert set(ready["services"]) >= {"org"} and {s["status"] for s in ready["services"].values()} == {"ok"}


def test_ready_reports_a_service_that_does_not_answer(settings, rpc_pool):
    from falcon import testing

    from services.kit import config

    # a service name nobody serves stands in for one that is down
    app = create_app(settings, rpc_pool, services=(*config.SERVICES, "absent"))
    answer = testing.TestClient(app).simulate_get("/ready")
    assert answer.status_code == 503
    assert answer.json["services"]["absent"]["status"] in ("service_unavailable", "timeout")


def test_openapi_lists_every_operation_with_its_contracts(client):
    document = ok(client.simulate_get("/api/v1/openapi.json"))
    assert document["openapi"] == "3.0.3"
    for op in all_operations():
        entry = document["paths"][op.full_path][op.method.lower()]
        if op.body is not None:
            assert "requestBody" in entry
        if op.needs_key:
            assert any(p["name"] == "Idempotency-Key" and p["required"] for p in entry["parameters"])
        assert str(op.status) in entry["responses"]
    create_store = document["paths"]["/api/v1/chains/{chain_id}/stores"]["post"]
    schema = create_store["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(document["components"]["schemas"][schema]["required"]) == {"code", "name", "kind"}


def test_openapi_describes_the_wallet_receipt_as_an_html_page_on_two_papers(client):
    document = ok(client.simulate_get("/api/v1/openapi.json"))
    entry = document["paths"]["/api/v1/chains/{chain_id}/wallet/transactions/{transaction_id}/receipt"]["get"]
    assert entry["operationId"] == "wallet_receipt" and entry["tags"] == ["wallet"]
    assert entry["responses"]["200"]["content"] == {"text/html": {"schema": {"type": "string"}}}
    paper = next(p for p in entry["parameters"] if p["in"] == "query")
    assert paper == {
        "in": "query",
        "name": "format",
        "required": False,
        "schema": {"type": "string", "default": "80mm", "enum": ["80mm", "a4"]},
    }
    path_names = [p["name"] for p in entry["parameters"] if p["in"] == "path"]
    assert path_names == ["chain_id", "transaction_id"]
    assert {"401", "403", "404", "422"} <= set(entry["responses"]) and "409" not in entry["responses"]
    assert entry["x-roles"] == ["hq_admin", "franchisee", "store_manager", "cashier"]
    # the same paper contract as gift's receipt
    gift = document["paths"]["/api/v1/chains/{chain_id}/gift-redemptions/{redemption_id}/receipt"]["get"]
    assert next(p for p in gift["parameters"] if p["in"] == "query") == paper


def test_reference_page_is_html(client):
    page = client.simulate_get("/api/v1/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/api/v1/chains/{chain_id}/stores" in page.text
