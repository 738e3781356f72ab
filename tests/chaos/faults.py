"""The faults, one function each, and what is recorded about every injection.

A fault ends with the harness undoing only what it did itself: starting the
broker or PostgreSQL it stopped, resuming the process it paused (or killing
it). A killed service is never restarted here: that is run_all's job, and the
recovery wait shows whether it was done.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.chaos.servers import Postgres, Rabbit, ServerError
from tests.chaos.system import System, probe
from tests.chaos.tills import Http, KeyBook, KeyRecord, send_until_definite
from tests.chaos.workload import World

KINDS = (
    "kill -9 org",
    "kill -9 member",
    "kill -9 wallet",
    "kill -9 gateway worker",
    "rabbitmq stop",
    "rabbitmq kill -9",
    "postgres stop -m immediate",
    "wallet SIGSTOP (2 instances)",
)
SCENARIO_PRICE = 8000
SCENARIO_START = 10000
GOODS = {"item_code": "GOODS", "name": "Goods", "category": "goods", "quantity": 1}


@dataclass
class Injection:
    kind: str
    started: float
    ended: float | None = None  # when the harness's part of the fault was over
    recovered: float | None = None
    detail: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # parts of the system whose process the fault itself ends (a kill): they may change
    targets: set[str] = field(default_factory=set)

    @property
    def recovery_seconds(self) -> float | None:
        if self.recovered is None or self.ended is None:
            return None
        return self.recovered - self.ended


@dataclass
class Context:
    system: System
    pg: Postgres
    rabbit: Rabbit
    world: World
    book: KeyBook
    rng: random.Random
    recovery_timeout: float
    scenario_cards: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    # set while the tills may sell; a fault clears it for a moment when it needs a quiet start
    tills_gate: threading.Event = field(default_factory=threading.Event)


def _sleep(ctx: Context, seconds: float) -> None:
    ctx.stop.wait(seconds)


def _nth(ctx: Context, kind: str) -> int:
    ctx.counts[kind] = ctx.counts.get(kind, 0) + 1
    return ctx.counts[kind]


# ---- the faults ----------------------------------------------------------------------


def kill_service(service: str) -> Callable[[Context, Injection], Callable[[], bool]]:
    def inject(ctx: Context, run: Injection) -> Callable[[], bool]:
        pid = ctx.system.service_pid(service)
        if pid is None:
            raise ServerError(f"no {service} process under run_all to kill")
        os.kill(pid, signal.SIGKILL)
        run.targets.add(service)
        run.detail.append(f"killed {service} pid {pid}")
        run.ended = time.monotonic()
        # recovered when another process of that service runs under run_all
        return lambda: ctx.system.service_pid(service) not in (None, pid)

    return inject


def kill_gateway_worker(ctx: Context, run: Injection) -> Callable[[], bool]:
    workers = ctx.system.gateway_workers_pids()
    if not workers:
        raise ServerError("no gateway worker to kill")
    pid = ctx.rng.choice(workers)
    os.kill(pid, signal.SIGKILL)
    run.targets.add("gateway workers")
    run.detail.append(f"killed gateway worker pid {pid}")
    run.ended = time.monotonic()

    def back() -> bool:
        now = ctx.system.gateway_workers_pids()
        return pid not in now and len(now) >= ctx.system.gateway_workers

    return back


def rabbit_stop(ctx: Context, run: Injection) -> Callable[[], bool]:
    # alternate the two ways an operator stops it: the application alone, the whole node
    whole = _nth(ctx, run.kind) % 2 == 0
    hold = ctx.rng.uniform(4, 8)
    if whole:
        ctx.rabbit.stop()
        run.detail.append(f"rabbitmqctl stop, {hold:.0f} s, start")
        _sleep(ctx, hold)
        ctx.rabbit.start()
    else:
        ctx.rabbit.stop_app()
        run.detail.append(f"rabbitmqctl stop_app, {hold:.0f} s, start_app")
        _sleep(ctx, hold)
        ctx.rabbit.start_app()
    run.ended = time.monotonic()
    return lambda: True


def rabbit_kill(ctx: Context, run: Injection) -> Callable[[], bool]:
    hold = ctx.rng.uniform(3, 6)
    ctx.rabbit.kill()
    run.detail.append(f"kill -9 beam, {hold:.0f} s, start")
    _sleep(ctx, hold)
    ctx.rabbit.start()
    run.ended = time.monotonic()
    return lambda: True


def postgres_stop(ctx: Context, run: Injection) -> Callable[[], bool]:
    hold = ctx.rng.uniform(6, 10)
    ctx.pg.stop("immediate")
    down_at = time.monotonic()
    run.detail.append(f"pg_ctl stop -m immediate, {hold:.0f} s, start")
    # while it is down, /ready must say so (503) and quickly (within 2 s)
    answers = []
    _sleep(ctx, 1.0)
    while time.monotonic() - down_at < hold:
        status, took = probe(f"{ctx.system.url}/ready", timeout=5)
        answers.append((status, took))
        _sleep(ctx, 1.0)
    honest = [a for a in answers if a[0] == 503 and a[1] <= 2.0]
    seen = ", ".join(f"{s} in {t:.1f}s" for s, t in answers[:4])
    run.detail.append(f"/ready while down: {seen}")
    if not honest:
        run.problems.append(f"/ready never answered 503 within 2 s while PostgreSQL was down ({seen})")
    ctx.pg.start()
    run.ended = time.monotonic()
    return lambda: True


def wallet_pause(ctx: Context, run: Injection) -> Callable[[], bool]:
    """SIGSTOP one of two wallet instances, play the double-charge scenario of issue 8
    against the other, then SIGCONT or kill -9 the paused one (alternately)."""
    n = _nth(ctx, run.kind)
    candidates = [("wallet", ctx.system.service_pid("wallet")), ("wallet-2", ctx.system.extra_wallet_pid())]
    candidates = [(name, pid) for name, pid in candidates if pid is not None]
    if len(candidates) < 2:
        raise ServerError(f"need two wallet instances to pause one, found {candidates}")
    name, pid = ctx.rng.choice(candidates)
    # the tills hold back a moment, or their requests fill the paused instance's prefetch
    # window before the scenario's first request can land there
    ctx.tills_gate.clear()
    _sleep(ctx, 1.0)
    os.kill(pid, signal.SIGSTOP)
    run.detail.append(f"SIGSTOP {name} pid {pid}")
    paused_at = time.monotonic()
    try:
        card = ctx.scenario_cards[(n - 1) % len(ctx.scenario_cards)]
        run.detail.extend(double_charge_scenario(ctx, run, card, ctx.system.rpc_timeout))
        # hold it well past the gateway's RPC timeout in any case
        _sleep(ctx, max(0.0, 2 * ctx.system.rpc_timeout + 1 - (time.monotonic() - paused_at)))
    finally:
        ctx.tills_gate.set()
        kill = n % 2 == 0
        os.kill(pid, signal.SIGKILL if kill else signal.SIGCONT)
        if kill:
            run.targets.add(name)
        run.detail.append(f"{'kill -9' if kill else 'SIGCONT'} after {time.monotonic() - paused_at:.0f} s")
        run.ended = time.monotonic()
    if kill and name == "wallet-2":
        # the harness's own instance: it brings it back, as that instance's process manager would
        ctx.system.extra_wallet.wait(timeout=10)
        ctx.system.start_extra_wallet()
        return lambda: True
    if kill:
        return lambda: ctx.system.service_pid("wallet") not in (None, pid)
    return lambda: True


def double_charge_scenario(ctx: Context, run: Injection, card_no: str, rpc_timeout: float) -> list[str]:
    """K reaches the paused instance (504); K is retried and refused by the other (409,
    insufficient funds, after a drain); the member recharges and the sale is rung
    again under K2. Whatever the paused instance later does with K must not change
    K's answer or charge the card twice: the key book and the database checks judge."""
    world = ctx.world
    store = world.stores[0]
    till = Http(ctx.system.gateway_port, rpc_timeout + 7, world.cashier_tokens[store])
    notes = []

    def send(op: str, rest: str, body: dict, key: str | None = None, bound: float = 20) -> KeyRecord:
        key = key or f"chaos-pause-{op}-{uuid.uuid4().hex[:10]}"
        record = ctx.book.open(KeyRecord(key, op, world.path(rest), body, card_no, till.token or ""))
        result = send_until_definite(till, ctx.book, record, give_up_after=bound, rng=ctx.rng)
        if result is not None:
            world.apply(record)
        return record

    def consume_body(price: int) -> dict:
        return {"card_no": card_no, "store_id": store, "lines": [{**GOODS, "unit_price": price}]}

    # 1. find a request the paused instance holds: K answered without a definite answer
    stuck = None
    tries = []
    for _ in range(8):
        key = f"chaos-pause-K-{uuid.uuid4().hex[:10]}"
        record = ctx.book.open(
            KeyRecord(key, "consume", world.path("/wallet/consumes"), consume_body(SCENARIO_PRICE), card_no, till.token)
        )
        result = send_until_definite(till, ctx.book, record, give_up_after=0.1)
        tries.append(record.attempts[-1].answer)
        if result is None:
            stuck = record
            break
        world.apply(record)
        if 200 <= result[0] < 300:  # the live instance sold it: put the money back and try again
            send("recharge", "/wallet/recharges", _recharge(card_no, store, SCENARIO_PRICE))
    ctx.tills_gate.set()
    if stuck is None:
        run.problems.append(f"double-charge scenario inconclusive: no request reached the paused instance ({tries})")
        return []
    notes.append(f"scenario: K={stuck.key} held by the paused instance (tries: {', '.join(tries)})")
    # 2. the balance is drained by another sale, then K is retried until a definite answer
    drain = send("consume", "/wallet/consumes", consume_body(SCENARIO_START - SCENARIO_PRICE // 2 - 1000))
    result = send_until_definite(till, ctx.book, stuck, give_up_after=20, rng=ctx.rng)
    if result is not None:
        world.apply(stuck)
    notes.append(f"drain {drain.attempts[-1].answer}; K retried: {stuck.attempts[-1].answer}")
    if not drain.acknowledged:
        run.problems.append(f"double-charge scenario inconclusive: the drain was answered {drain.attempts[-1].answer}")
    if result is None:
        run.problems.append(f"K got no definite answer in 20 s while the other wallet instance ran ({stuck.key})")
    # 3. the member recharges, the cashier rings the sale again under a new key
    top_up = send("recharge", "/wallet/recharges", _recharge(card_no, store, 20000))
    again = send("consume", "/wallet/consumes", consume_body(SCENARIO_PRICE))
    notes.append(f"recharge {top_up.attempts[-1].answer}; K2 {again.attempts[-1].answer}")
    return notes


def _recharge(card_no: str, store: str, amount: int) -> dict:
    return {"card_no": card_no, "store_id": store, "amount": amount, "payment_method": "cash"}


INJECT = {
    "kill -9 org": kill_service("org"),
    "kill -9 member": kill_service("member"),
    "kill -9 wallet": kill_service("wallet"),
    "kill -9 gateway worker": kill_gateway_worker,
    "rabbitmq stop": rabbit_stop,
    "rabbitmq kill -9": rabbit_kill,
    "postgres stop -m immediate": postgres_stop,
    "wallet SIGSTOP (2 instances)": wallet_pause,
}


def schedule(rng: random.Random, repeats: int) -> list[str]:
    """Every kind `repeats` times, shuffled, never the same kind twice in a row."""
    for _ in range(200):
        order = [k for k in KINDS for _ in range(repeats)]
        rng.shuffle(order)
        if all(a != b for a, b in zip(order, order[1:], strict=False)):
            return order
    return order
