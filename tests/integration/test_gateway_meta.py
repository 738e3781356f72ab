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


def test_reference_page_is_html(client):
    page = client.simulate_get("/api/v1/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/api/v1/chains/{chain_id}/stores" in page.text
