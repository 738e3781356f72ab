"""Throughput and latency through the real stack: `make bench`.

Starts the whole system as `make run` does (deploy/run_all.py) against its own
database (`huiyuan_bench`, recreated) and RabbitMQ vhost, seeds a chain, then
drives the HTTP API from client threads and reports requests per second and
latency percentiles per scenario. Nothing runs against a `make run` system.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import services  # noqa: F401 - quiets eventlet's import-time notice
from services.kit import config, provision

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("HUIYUAN_BENCH_PORT", "18765"))
DURATION = float(os.environ.get("HUIYUAN_BENCH_SECONDS", "10"))
THREADS = int(os.environ.get("HUIYUAN_BENCH_THREADS", "16"))
ADMIN_PASSWORD = "bench-admin-password"


class Client:
    def __init__(self, token: str | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key:
            headers["Idempotency-Key"] = key
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = self.conn.getresponse()
        return response.status, json.loads(response.read() or b"null")


class Failure:
    """A falsy answer that says what went wrong."""

    def __init__(self, status: int, body: dict) -> None:
        self.status, self.body = status, body

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"{self.status} {self.body}"


def expect(status: int, answer: tuple[int, dict]) -> bool | Failure:
    return True if answer[0] == status else Failure(*answer)


def run_scenario(name: str, make_request, threads: int = THREADS, duration: float = DURATION) -> dict | None:
    only = os.environ.get("HUIYUAN_BENCH_ONLY")
    if only and only not in name:
        return None
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    # each thread's client (and its card) is made before the clock starts
    states = [make_request() for _ in range(threads)]
    stop_at = time.monotonic() + duration

    def worker(state) -> None:
        mine: list[float] = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            ok = state()
            mine.append(time.perf_counter() - started)
            if not ok:
                if not failures[0]:
                    print(f"first failure in {name}: {ok!r}", file=sys.stderr)
                failures[0] += 1
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(state,)) for state in states]
    began = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    took = time.monotonic() - began
    latencies.sort()
    result = {
        "scenario": name,
        "threads": threads,
        "requests": len(latencies),
        "failures": failures[0],
        "req_per_s": round(len(latencies) / took, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
    }
    print(json.dumps(result))
    return result


def start_system(settings: config.Settings) -> subprocess.Popen:
    env = {
        **os.environ,
        "HUIYUAN_DB_NAME": settings.db_name,
        "HUIYUAN_AMQP_URI": settings.amqp_uri,
        "HUIYUAN_PII_KEY": settings.pii_key,
        "HUIYUAN_PII_INDEX_KEY": settings.pii_index_key,
        "HUIYUAN_GATEWAY_BIND": f"127.0.0.1:{PORT}",
        "HUIYUAN_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen([sys.executable, "deploy/run_all.py"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if Client().call("GET", "/ready")[0] == 200:
                return process
        except OSError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the system did not become ready")


def main() -> None:
    vhost = f"huiyuan_bench_{uuid.uuid4().hex[:6]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True)
    base = config.load()
    settings = dataclasses.replace(
        base,
        db_name="huiyuan_bench",
        amqp_uri=f"{base.amqp_uri.rstrip('/')}/{vhost}",
        pii_key=base.pii_key or "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        pii_index_key=base.pii_index_key or "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
    )
    provision.provision(settings, recreate=True)
    os.environ["HUIYUAN_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    from services.org.bootstrap import ensure_platform_admin

    ensure_platform_admin(settings)
    process = start_system(settings)
    try:
        admin = Client()
        status, signed = admin.call("POST", "/api/v1/auth/sign-in", {"username": "admin", "password": ADMIN_PASSWORD})
        admin.token = signed["token"]
        _, chain = admin.call("POST", "/api/v1/chains", {"code": "BENCH", "name": "Bench"}, key="bench-chain")
        for n in range(20):
            admin.call(
                "POST",
                f"/api/v1/chains/{chain['id']}/stores",
                {"code": f"S{n:02d}", "name": f"Store {n}", "kind": "direct"},
                key=f"bench-store-{n}",
            )
        token = admin.token

        def authenticated_read():
            client = Client(token)
            return lambda: client.call("GET", f"/api/v1/chains/{chain['id']}/stores?limit=20")[0] == 200

        def who_am_i():
            client = Client(token)
            return lambda: client.call("GET", "/api/v1/auth/me")[0] == 200

        def create_store():
            client = Client(token)
            return lambda: (
                client.call(
                    "POST",
                    f"/api/v1/chains/{chain['id']}/stores",
                    {"code": uuid.uuid4().hex[:12], "name": "B", "kind": "direct"},
                    key=uuid.uuid4().hex,
                )[0]
                == 201
            )

        def sign_in():
            client = Client()
            return lambda: (
                client.call("POST", "/api/v1/auth/sign-in", {"username": "admin", "password": ADMIN_PASSWORD})[0] == 200
            )

        chain_path = f"/api/v1/chains/{chain['id']}"
        store_id = admin.call("GET", f"{chain_path}/stores?limit=1")[1]["items"][0]["id"]
        # money moves at the counter: a cashier of the store does it
        admin.call(
            "POST",
            f"{chain_path}/staff",
            {
                "username": "bench.cashier",
                "display_name": "Cashier",
                "role": "cashier",
                "store_id": store_id,
                "password": ADMIN_PASSWORD,
            },
            key="bench-cashier",
        )
        cashier = Client()
        signing = {"chain": "BENCH", "username": "bench.cashier", "password": ADMIN_PASSWORD}
        cashier.token = cashier.call("POST", "/api/v1/auth/sign-in", signing)[1]["token"]
        # a consume line's codes must be in the chain's dictionaries (S-2)
        admin.call("POST", f"{chain_path}/categories", {"code": "wash", "name": "Wash"}, key="bench-category")
        item = {"code": "W01", "name": "Wash", "category_code": "wash", "price": 100}
        admin.call("POST", f"{chain_path}/items", item, key="bench-item")
        counter_token = cashier.token

        def new_card(client: Client) -> str:
            phone = f"139{uuid.uuid4().int % 10**8:08d}"
            _, member = client.call(
                "POST",
                f"{chain_path}/members",
                {"name": "Bench", "phone": phone, "home_store_id": store_id},
                key=uuid.uuid4().hex,
            )
            _, card = client.call(
                "POST", f"{chain_path}/members/{member['id']}/cards", {"store_id": store_id}, key=uuid.uuid4().hex
            )
            client.call(
                "POST",
                f"{chain_path}/wallet/recharges",
                {"card_no": card["card_no"], "store_id": store_id, "amount": 10**9, "payment_method": "cash"},
                key=uuid.uuid4().hex,
            )
            return card["card_no"]

        wash = {"item_code": "W01", "name": "Wash", "category": "wash", "quantity": 1, "unit_price": 100}
        shared_card = new_card(cashier)

        def consume(card_no: str | None = None):
            client = Client(counter_token)
            own = card_no or new_card(client)  # one card per client thread, unless shared
            body = {"card_no": own, "store_id": store_id, "lines": [wash]}
            path = f"{chain_path}/wallet/consumes"
            return lambda: expect(201, client.call("POST", path, body, key=uuid.uuid4().hex))

        def recharge():
            client = Client(counter_token)
            own = new_card(client)
            body = {"card_no": own, "store_id": store_id, "amount": 100, "payment_method": "cash"}
            path = f"{chain_path}/wallet/recharges"
            return lambda: expect(201, client.call("POST", path, body, key=uuid.uuid4().hex))

        run_scenario("GET /auth/me (1 RPC)", who_am_i)
        run_scenario("GET stores page of 20 (2 RPCs)", authenticated_read)
        run_scenario("POST store, idempotent, with outbox event (2 RPCs)", create_store)
        run_scenario("POST sign-in (argon2id)", sign_in, threads=4)
        run_scenario("POST recharge, a card per thread (4 RPCs)", recharge)
        run_scenario("POST consume, a card per thread (3 RPCs)", consume)
        run_scenario("POST consume, all threads on one card (3 RPCs)", lambda: consume(shared_card))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=40)
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)


if __name__ == "__main__":
    main()
