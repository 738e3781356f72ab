"""Every service process and the gateway serve Prometheus figures that count exactly what happened.

The services run here on a database and a vhost of their own (the suite's other services
share the suite's database, and their relays would publish some of these events elsewhere),
wallet and member each with a metrics port, the rest without. A recharge, a consume, a consume
refused for want of money and a member look-up go through the gateway app; then the gateway's
`/metrics` and wallet's and member's count each exactly once, the refusal under its code.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import urllib.error
import urllib.request
import uuid

import pytest
from falcon import testing
from nameko.runners import ServiceRunner
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from contracts.errors import DeadlineExceeded
from deploy import audit
from gateway.app import create_app
from gateway.principals import Principals
from gateway.routes import all_operations
from gateway.rpc import RpcPool
from services.kit import config, provision
from services.kit.db import Database
from services.kit.deadlines import DEADLINE_KEY, deadline_after
from services.kit.health import HealthCheck
from services.kit.rpc import rpc
from services.org.bootstrap import ensure_platform_admin
from services.org.models import kit as org_kit
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, _rabbitmqctl
from tests.helpers import Api, admin_engine, error, ok, wait_for
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def samples(exposition: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }


def value(figures: dict, name: str, **labels: str) -> float:
    """The sample's value; 0 for a series not (yet) exposed, as a counter not yet moved."""
    return figures.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def system(provisioned):
    """Every service on a database and vhost of their own; wallet and member with metrics ports."""
    vhost = f"huiyuan_metrics_{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    own = dataclasses.replace(
        provisioned,
        db_name=f"{provisioned.db_name}_metrics",
        amqp_uri=provisioned.amqp_uri.rsplit("/", 1)[0] + "/" + vhost,
    )
    provision.provision(own, recreate=True)
    ensure_platform_admin(own)
    ports = {"wallet": free_port(), "member": free_port()}
    runners = []
    for names, port in ((["wallet"], ports["wallet"]), (["member"], ports["member"]), ([], None)):
        names = names or [s for s in config.SERVICES if s not in ports]
        runner = ServiceRunner(
            dataclasses.replace(own, metrics_port=port, metrics_host="127.0.0.1").nameko_config(names)
        )
        for cls in provision.service_classes(tuple(names)):
            runner.add_service(cls)
        runner.start()
        runners.append(runner)
    pool, principals = RpcPool(own), Principals(own.amqp_uri)
    client = testing.TestClient(create_app(own, pool, validate_responses=True, principals=principals))
    try:
        yield own, client, ports
        engine = admin_engine(own)
        try:  # what went through these services balances, as the suite's own audit demands of its
            assert audit.audit(engine, settle_seconds=30) == []
        finally:
            engine.dispose()
    finally:
        principals.close()
        pool.close()
        for runner in runners:
            runner.stop()
        _rabbitmqctl("delete_vhost", vhost)


def test_requests_rpcs_errors_money_and_lag_are_counted_once_each(system):
    own, client, ports = system
    admin = Api.sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    w = wallet_world(admin)
    card = w.card()
    no = card["card_no"]

    def scrape() -> tuple[dict, dict, dict]:
        gateway = client.simulate_get("/metrics")
        assert gateway.status_code == 200
        services = {}
        for service, port in ports.items():
            status, body = get(port, "/metrics")
            assert status == 200, body
            services[service] = samples(body)
        return samples(gateway.text), services["wallet"], services["member"]

    def settled() -> bool:  # the setup's events are all out
        _, wallet, member = scrape()
        return all(
            value(figures, "huiyuan_outbox_backlog_events", service=service) == 0
            and ("huiyuan_outbox_backlog_events", frozenset({("service", service)})) in figures
            for service, figures in (("wallet", wallet), ("member", member))
        )

    wait_for(settled, timeout=20, interval=0.5)
    gateway_before, wallet_before, member_before = scrape()

    ok(w.recharge(no, 50000), 201)  # 500.00 (+20.00 bonus on Silver)
    ok(w.consume(no, [WASH]), 201)  # 108.00 after the 10 % wash discount
    refused = error(w.consume(no, [{**WASH, "quantity": 10}]), 409)  # 1080.00: more than is there
    assert refused["code"] == "insufficient_funds"
    ok(w.cashier_a.get(w.world.path(f"/members/{card['member_id']}")))

    gateway_after, wallet_after, member_after = scrape()

    def moved(before: dict, after: dict, name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # the gateway: one request per route and status, each timed
    wallet_path = "/api/v1/chains/{chain_id}/wallet"
    http = "huiyuan_http_requests_total"
    g = (gateway_before, gateway_after)
    assert moved(*g, http, route=f"{wallet_path}/recharges", method="POST", status="201") == 1
    assert moved(*g, http, route=f"{wallet_path}/consumes", method="POST", status="201") == 1
    assert moved(*g, http, route=f"{wallet_path}/consumes", method="POST", status="409") == 1
    member_route = "/api/v1/chains/{chain_id}/members/{member_id}"
    assert moved(*g, http, route=member_route, method="GET", status="200") == 1
    took = "huiyuan_http_request_duration_seconds_count"
    assert moved(*g, took, route=f"{wallet_path}/consumes", method="POST") == 2
    # the health gauges the gateway already showed are still there
    assert value(gateway_after, "huiyuan_service_up", service="wallet") == 1

    # wallet: each RPC once under its answer code, the refusal too; money operations after commit
    wl = (wallet_before, wallet_after)
    calls = "huiyuan_rpc_requests_total"
    assert moved(*wl, calls, service="wallet", method="recharge", code="ok") == 1
    assert moved(*wl, calls, service="wallet", method="consume", code="ok") == 1
    assert moved(*wl, calls, service="wallet", method="consume", code="insufficient_funds") == 1
    assert moved(*wl, "huiyuan_rpc_duration_seconds_count", service="wallet", method="consume") == 2
    committed = "huiyuan_operations_committed_total"
    assert moved(*wl, committed, service="wallet", operation="recharge") == 1
    assert moved(*wl, committed, service="wallet", operation="consume") == 1  # not the refused one
    assert value(wallet_after, "huiyuan_db_pool_connections_max", service="wallet", pool="workers") == own.max_workers
    assert value(wallet_after, "huiyuan_db_pool_connections_max", service="wallet", pool="relay") == 1
    assert value(wallet_after, "huiyuan_workers_max", service="wallet") == own.max_workers
    assert value(wallet_after, "huiyuan_service_ready", service="wallet") == 1

    # member: the look-up once; the one sale's event handled once, its lag measured
    get_member = next(
        op.handler.method for op in all_operations() if (op.method, op.full_path) == ("GET", member_route)
    )
    assert moved(member_before, member_after, calls, service="member", method=get_member, code="ok") == 1

    def consumed_once() -> bool:
        _, _, member_now = scrape()
        handled = moved(
            member_before,
            member_now,
            "huiyuan_events_handled_total",
            service="member",
            handler="on_consumed",
            outcome="ok",
        )
        lag = moved(
            member_before, member_now, "huiyuan_event_lag_seconds_count", service="member", handler="on_consumed"
        )
        assert handled <= 1 and lag <= 1, (handled, lag)
        return handled == 1 and lag == 1

    wait_for(consumed_once, timeout=20, interval=0.3)

    # the relay ran: nothing left unsent, nothing parked, and it counted what it published
    def wallet_outbox_empty() -> bool:
        _, wallet_now, _ = scrape()
        return (
            value(wallet_now, "huiyuan_outbox_backlog_events", service="wallet") == 0
            and ("huiyuan_outbox_backlog_events", frozenset({("service", "wallet")})) in wallet_now
            and moved(wallet_before, wallet_now, "huiyuan_outbox_published_total", service="wallet") >= 2
        )

    wait_for(wallet_outbox_empty, timeout=20, interval=0.3)
    _, wallet_now, _ = scrape()
    assert value(wallet_now, "huiyuan_outbox_oldest_unsent_age_seconds", service="wallet") == 0
    assert ("huiyuan_outbox_parked_events", frozenset({("service", "wallet")})) in wallet_now
    assert value(wallet_now, "huiyuan_outbox_parked_events", service="wallet") == 0
    assert value(wallet_now, "huiyuan_inbox_parked_events", service="wallet") == 0
    assert value(wallet_now, "process_resident_memory_bytes") > 0  # the process's own figures too


def test_a_request_refused_unrun_after_its_deadline_is_counted_under_its_code(system):
    own, _, ports = system
    before = samples(get(ports["wallet"], "/metrics")[1])
    late = {DEADLINE_KEY: deadline_after(-5)}  # the caller gave up five seconds ago
    with ClusterRpcProxy({"AMQP_URI": own.amqp_uri, "serializer": "json"}, context_data=late, timeout=10) as cluster:
        with pytest.raises(DeadlineExceeded):
            cluster.wallet.ping()
    after = samples(get(ports["wallet"], "/metrics")[1])
    counted = "huiyuan_rpc_requests_total"
    labels = {"service": "wallet", "method": "ping"}
    assert (
        value(after, counted, code="deadline_exceeded", **labels)
        - value(before, counted, code="deadline_exceeded", **labels)
        == 1
    )
    assert value(after, counted, code="ok", **labels) == value(before, counted, code="ok", **labels)  # it never ran


def test_health_and_readiness_answer_on_the_metrics_port(system):
    _, _, ports = system
    for service, port in ports.items():
        status, body = get(port, "/health")
        assert (status, json.loads(body)) == (200, {"status": "alive", "services": [service]})
        status, body = get(port, "/ready")
        assert status == 200, body
        assert json.loads(body) == {
            "ready": True,
            "services": {service: {"ready": True, "broker": True, "database": True}},
        }
        assert get(port, "/nothing")[0] == 404


class DbAway(HealthCheck):
    """A service whose database URL points at a port where nothing listens."""

    name = "metrics_dbaway"
    db = Database()
    kit_tables = org_kit

    @rpc
    def read(self) -> int:
        return self.db.execute(text("SELECT 1")).scalar_one()


def test_a_service_without_its_database_is_alive_but_not_ready(provisioned):
    port, closed = free_port(), free_port()
    settings = dataclasses.replace(provisioned, metrics_port=port, metrics_host="127.0.0.1")
    nameko_config = settings.nameko_config([])
    nameko_config["DATABASE_URLS"] = {
        "metrics_dbaway": provisioned.database_url("org").replace(f":{provisioned.db_port}/", f":{closed}/")
    }
    runner = ServiceRunner(nameko_config)
    runner.add_service(DbAway)
    runner.start()
    try:
        assert get(port, "/health")[0] == 200
        status, body = get(port, "/ready")
        assert status == 503
        assert json.loads(body)["services"]["metrics_dbaway"] == {"ready": False, "broker": True, "database": False}
        # figures it cannot know are absent, not a false zero; what it counts is still served
        status, body = get(port, "/metrics")
        figures = samples(body)
        assert status == 200
        assert ("huiyuan_outbox_backlog_events", frozenset({("service", "metrics_dbaway")})) not in figures
        assert value(figures, "huiyuan_workers_max", service="metrics_dbaway") == provisioned.max_workers
        assert ("huiyuan_service_ready", frozenset({("service", "metrics_dbaway")})) in figures
        assert value(figures, "huiyuan_service_ready", service="metrics_dbaway") == 0
    finally:
        runner.stop()
    # the port is given back when the last service on it stops (REUSEADDR: closed connections may linger)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
