"""The double charge a paused wallet instance could cause (non-negotiable 11), on real processes.

Two wallet instances share the work. Instance A is paused (SIGSTOP) holding a consume under
key K: the till gets 504 and retries K; instance B answers 409 insufficient funds. The member
recharges and the cashier rings the sale again under K2: 201. Then A dies (kill -9) and the
broker delivers the original request to B, long after its deadline. It must not be charged:
B refuses it unrun, the key keeps its refusal, and the card shows one sale.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from contracts.auth import Actor
from contracts.errors import InsufficientFunds, ServiceTimeout
from gateway.rpc import RpcPool
from tests.conftest import _rabbitmqctl
from tests.helpers import ok, process_environment, raw_rows, wait_for
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 3.0  # the gateway's wait, and so each call's deadline


@pytest.fixture
def own_vhost(provisioned):
    vhost = f"huiyuan_paused_{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield replace(provisioned, amqp_uri=provisioned.amqp_uri.rsplit("/", 1)[0] + "/" + vhost, rpc_timeout=TIMEOUT)
    _rabbitmqctl("delete_vhost", vhost)


class Processes:
    def __init__(self, settings, log_dir: Path) -> None:
        self.settings, self.log_dir, self.running = settings, log_dir, {}

    def start(self, name: str, services: list[str], **env: str) -> subprocess.Popen:
        environment = process_environment(self.settings, HUIYUAN_RPC_TIMEOUT=str(TIMEOUT), HUIYUAN_LOG_JSON="0", **env)
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "services.kit.runner", *services], cwd=ROOT, env=environment, stdout=log, stderr=log
        )
        self.running[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.kill()
            process.wait(timeout=10)


def wait_until_answering(pool: RpcPool, service: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            pool.call(service, "ping")
            return
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_a_request_delivered_after_its_deadline_is_not_charged(admin, own_vhost, tmp_path):
    w = wallet_world(admin)  # set up through the in-process system, in the same database
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 5000), 201)  # 50.00 on the card; a Silver wash costs 108.00
    cashier = Actor.from_dict(w.cashier_a.principal).to_dict()

    def consume(key: str) -> dict:
        body = {"card_no": no, "store_id": w.store_a, "lines": [WASH]}
        return pool.call("wallet", "consume", cashier, w.world.id, body, key)

    processes = Processes(own_vhost, tmp_path)
    pool = RpcPool(own_vhost)
    try:
        # every consumer of the wallet's events, beside the test process's own on the other vhost:
        # the database is shared, so either relay may publish a row, and each vhost has them all
        processes.start("org-member", ["org", "member", "points", "reporting", "notification"])
        wallet_a = processes.start("wallet-a", ["wallet"], HUIYUAN_MAX_WORKERS="1")  # holds one request at a time
        for service in ("org", "member", "wallet"):
            wait_until_answering(pool, service)

        os.kill(wallet_a.pid, signal.SIGSTOP)
        key = uuid.uuid4().hex
        with pytest.raises(ServiceTimeout):  # A holds the request: the till cannot know the outcome
            consume(key)

        processes.start("wallet-b", ["wallet"])
        wait_until_answering(pool, "wallet")  # A's one slot is taken, so this is B
        with pytest.raises(InsufficientFunds):  # the retry reaches B
            consume(key)
        ok(w.recharge(no, 10000), 201)  # 150.00 now
        sale = consume(uuid.uuid4().hex)  # rung again under a new key
        assert sale["balances"]["cash"] == 15000 - 10800

        wallet_a.kill()  # A dies; the broker hands its unacknowledged request to B
        wallet_a.wait(timeout=10)
        deadline = time.monotonic() + 20
        while "after its deadline: refused" not in processes.log("wallet-b"):
            assert time.monotonic() < deadline, processes.log("wallet-b")
            time.sleep(0.2)

        with pytest.raises(InsufficientFunds):  # K keeps its first definite answer
            consume(key)
        assert w.balances(no)["cash"] == 15000 - 10800
        consumes = raw_rows(
            own_vhost,
            "SELECT count(*) AS n FROM wallet.transactions WHERE chain_id = :chain AND kind = 'consume'",
            chain=w.world.id,
        )
        assert consumes[0]["n"] == 1
        # the one sale reached the member service before these processes stop (the run's audit checks it)
        spend = "SELECT cumulative_spend AS spend FROM member.members WHERE id = :id"
        wait_for(lambda: raw_rows(own_vhost, spend, id=card["member_id"]) == [{"spend": 10800}], timeout=20)
        # and the points service earned on it (the audit checks every consume was)
        earned = "SELECT 1 FROM points.earnings WHERE consume_id = :id"
        wait_for(lambda: raw_rows(own_vhost, earned, id=sale["transaction_id"]), timeout=20)
        # and the member service heard of the points (`points.changed`): lifetime points agree
        agree = """SELECT 1 FROM points.members p JOIN member.members m ON m.id = p.member_id
                   WHERE p.member_id = :id AND p.lifetime_points > 0 AND m.lifetime_points = p.lifetime_points"""
        wait_for(lambda: raw_rows(own_vhost, agree, id=card["member_id"]), timeout=20)
        # and reporting's liability is the wallet's (the audit checks it per store)
        same = """SELECT 1 WHERE (SELECT COALESCE(SUM(amount), 0) FROM wallet.lot_moves WHERE chain_id = :c)
                             = (SELECT COALESCE(SUM(amount), 0) FROM reporting.lot_moves WHERE chain_id = :c)"""
        wait_for(lambda: raw_rows(own_vhost, same, c=w.world.id), timeout=20)
    finally:
        pool.close()
        processes.stop_all()
