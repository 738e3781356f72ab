"""Two instances each of wallet and member on one machine (issue 17): both take work from the
same queues; one of each is killed (SIGKILL) mid-load and the survivors carry on. Every till
retries its request with the same key until the answer is definite (README: the client
contract); each key then has exactly one outcome, the balances are what the definite answers
add up to, and the books audit clean.

The system runs as it would on a cluster: quorum queues, every service a process of its own
(`python -m services.kit.runner`), the gateway's app in this process on its own vhost and
database.
"""

import dataclasses
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import eventlet
import pytest
from falcon import testing

from gateway.app import create_app
from gateway.principals import Principals
from gateway.rpc import RpcPool
from tests.helpers import Api, ok, process_environment, raw_rows, wait_for
from tests.own_system import admin_credentials, audit_problems, own_system, settled
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 3.0  # the gateway's wait: a request held by a killed instance is a 504 after this
CARDS = 4
CLIENTS = 6  # tills, each on card (its number mod CARDS)
OPERATIONS = 12  # per till: a recharge of 100.00 every fourth, else a 108.00 wash
FIRST_CASH = 200000  # on each card before the load (its 50.00 bonus is never reached)
RETRY_FOR = 60.0  # seconds a till keeps retrying one key
KILL_AFTER = 15  # definite answers before the kill, once both instances of each took work
EARNED = """SELECT count(*) AS n FROM points.earnings e JOIN wallet.transactions t ON t.id = e.consume_id
            WHERE t.chain_id = :chain"""
SPEND = "SELECT cumulative_spend AS s FROM member.members WHERE id = :id"  # kept from the wallet's events


# the work the load gives each service: the wallet's money operations (RPC), member's handling
# of the wallet's and points' events (spend, lifetime points)
LOAD_WORK = {"wallet": ("consume", "recharge"), "member": ("on_consumed", "on_points_changed")}


def worker_count(log: str, service: str) -> int:
    """Workers a process ran for the load's work (nameko logs each worker it spawns at DEBUG)."""
    methods = re.findall(rf"spawning <WorkerContext \[{service}\.(\w+)\]", log)
    return len([m for m in methods if m in LOAD_WORK[service]])


def in_flight(log: str, service: str) -> int:
    """The load's workers a process had started and not finished (spawned, not torn down)."""
    work = "|".join(LOAD_WORK[service])
    started = re.findall(rf"spawning <WorkerContext \[{service}\.(?:{work})\]", log)
    finished = re.findall(rf"tore down worker <WorkerContext \[{service}\.(?:{work})\]", log)
    return len(started) - len(finished)


class Processes:
    def __init__(self, settings, log_dir: Path) -> None:
        self.settings, self.log_dir, self.running = settings, log_dir, {}

    def start(self, name: str, services: list[str]) -> None:
        environment = process_environment(
            self.settings,
            HUIYUAN_RPC_TIMEOUT=str(TIMEOUT),
            HUIYUAN_LOG_JSON="0",
            HUIYUAN_LOG_LEVEL="DEBUG",  # nameko's line per worker is what counts each instance's work
            HUIYUAN_QUEUE_TYPE=self.settings.queue_type,
            HUIYUAN_MAX_WORKERS="4",
        )
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        self.running[name] = subprocess.Popen(
            [sys.executable, "-m", "services.kit.runner", *services], cwd=ROOT, env=environment, stdout=log, stderr=log
        )

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        self.running[name].send_signal(signal.SIGKILL)
        self.running[name].wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.terminate()
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_answering(pool: RpcPool, service: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            pool.call(service, "health")
            return
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def sender(w, kind: str, card_no: str, api: Api, store: str, key: str):
    """The request a till sends (and sends again) under `key`."""
    if kind == "recharge":
        return lambda: w.recharge(card_no, 10000, api=api, store=store, key=key)
    return lambda: w.consume(card_no, [WASH], api=api, store=store, key=key)


def definite(post) -> tuple[int, dict, int]:
    """`post()` again and again (the same key) until the answer is definite: not a 503 or a
    504. Returns the status, the body and how many attempts it took."""
    deadline = time.monotonic() + RETRY_FOR
    attempts = 0
    while True:
        attempts += 1
        result = post()
        if result.status_code not in (503, 504):
            return result.status_code, result.json, attempts
        assert time.monotonic() < deadline, f"no definite answer in {RETRY_FOR} s: {result.text}"
        eventlet.sleep(0.2)


def test_two_wallets_and_two_members_one_of_each_killed_mid_load(settings, tmp_path):
    with own_system(settings, "scale", queue_type="quorum") as system:
        system = dataclasses.replace(system, rpc_timeout=TIMEOUT)
        processes = Processes(system, tmp_path)
        pool = RpcPool(system)
        principals = Principals(system.amqp_uri)
        try:
            processes.start("others", ["org", "points", "gift", "reporting", "notification"])
            for name in ("wallet-1", "wallet-2", "member-1", "member-2"):
                processes.start(name, [name.split("-")[0]])
            for service in ("org", "member", "wallet", "points", "reporting"):
                wait_until_answering(pool, service)
            client = testing.TestClient(create_app(system, pool, principals=principals))
            w = wallet_world(Api.sign_in(client, *admin_credentials()))
            cards = [w.card() for _ in range(CARDS)]
            for card in cards:
                ok(w.recharge(card["card_no"], FIRST_CASH), 201)

            answers: list[dict] = []  # one per key: how to send it again, and its definite answer

            def till(number: int) -> None:
                api = w.cashier_a if number % 2 == 0 else w.cashier_b
                store = w.store_a if number % 2 == 0 else w.store_b
                card_no = cards[number % CARDS]["card_no"]
                for op in range(OPERATIONS):
                    key = f"till{number}-{op}-{uuid.uuid4().hex[:8]}"
                    kind = "recharge" if op % 4 == 3 else "consume"
                    post = sender(w, kind, card_no, api, store, key)
                    status, body, tries = definite(post)
                    answers.append({"card_no": card_no, "kind": kind, "send": post, "status": status, "body": body})
                    answers[-1]["tries"] = tries
                    eventlet.sleep(0.05)  # the tills go on through the kill: the survivors take over

            def work() -> dict[str, int]:
                return {n: worker_count(processes.log(n), n.split("-")[0]) for n in processes.running if "-" in n}

            at_start = work()
            load = eventlet.GreenPool(CLIENTS)
            threads = [load.spawn(till, n) for n in range(CLIENTS)]

            # kill one wallet and one member once both instances of each have taken work, at a
            # moment the wallet is holding a money operation
            deadline = time.monotonic() + 60
            while True:
                counts = {n: done - at_start[n] for n, done in work().items()}
                busy = in_flight(processes.log("wallet-1"), "wallet") > 0
                if len(answers) >= KILL_AFTER and all(counts.values()) and busy:
                    break
                assert time.monotonic() < deadline and len(answers) < CLIENTS * OPERATIONS, counts
                eventlet.sleep(0.05)  # often enough to catch the wallet mid-operation
            before_kill = dict(counts)
            answered_before_kill = len(answers)
            processes.kill("wallet-1")
            processes.kill("member-1")
            died_with = {n: in_flight(processes.log(n), n.split("-")[0]) for n in ("wallet-1", "member-1")}
            for thread in threads:
                thread.wait()

            # every key got a definite answer, and a success: the survivors did the rest
            assert len(answers) == CLIENTS * OPERATIONS
            assert answered_before_kill < len(answers)
            assert [a for a in answers if a["status"] != 201] == []
            after_kill = {n: done - at_start[n] for n, done in work().items() if n in ("wallet-2", "member-2")}
            assert after_kill["wallet-2"] > before_kill["wallet-2"], (before_kill, after_kill)
            assert after_kill["member-2"] > before_kill["member-2"], (before_kill, after_kill)
            # a retry with its key gets the first answer: one outcome per key
            for answer in answers:
                retried = answer["send"]()
                assert (retried.status_code, retried.json) == (201, answer["body"])
            # the balances are exactly what the answers add up to: nothing charged twice or lost
            for card in cards:
                mine = [a for a in answers if a["card_no"] == card["card_no"]]
                recharged = sum(10000 for a in mine if a["kind"] == "recharge")
                spent = sum(a["body"]["paid"]["cash"] for a in mine if a["kind"] == "consume")
                assert w.balances(card["card_no"])["cash"] == FIRST_CASH + recharged - spent
                consumes = raw_rows(
                    system,
                    "SELECT count(*) AS n FROM wallet.transactions WHERE member_id = :m AND kind = 'consume'",
                    m=card["member_id"],
                )
                assert consumes[0]["n"] == len([a for a in mine if a["kind"] == "consume"])
                wait_for(lambda c=card, s=spent: raw_rows(system, SPEND, id=c["member_id"]) == [{"s": s}], timeout=30)
            # the slower consumers catch up (points earns on each consume, member hears of the points)
            consumes = len([a for a in answers if a["kind"] == "consume"])
            wait_for(lambda: raw_rows(system, EARNED, chain=w.world.id) == [{"n": consumes}], timeout=45)
            for card in cards:
                settled(system, card["member_id"])
            assert audit_problems(system) == []  # while the survivors run: events in flight land
            print(f"work before the kill: {before_kill}; survivors after: {after_kill}")
            print(f"in flight at the kill (by the logs): {died_with}")
            print(
                f"tries per key: max {max(a['tries'] for a in answers)}, "
                f"keys retried {len([a for a in answers if a['tries'] > 1])} of {len(answers)}"
            )
        finally:
            principals.close()
            pool.close()
            processes.stop_all()
