"""Client threads driving one scenario for a fixed time, and the probe that times a
consume's downstream effect (the member's cumulative spend catching up)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Engine

# a step makes one request and returns its status ('exc' when no answer came), or None
# when it did not make a measured request (it had to prepare something first)
Step = Callable[[], int | str | None]


@dataclass
class Outcome:
    latencies: list[float]
    statuses: list[int | str]
    elapsed: float
    measured: dict[str, float] = field(default_factory=dict)


def drive(factories: list[Callable[[], Step]], seconds: float, on_start: Callable[[], None]) -> Outcome:
    """Each thread makes its step (preparing its card, its sign-in...) before the clock;
    `on_start` runs once all are ready, just before the clock starts."""
    n = len(factories)
    ready = threading.Barrier(n + 1)
    go = threading.Event()
    stop_at = [0.0]
    latencies: list[float] = []
    statuses: list[int | str] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker(factory: Callable[[], Step]) -> None:
        try:
            step = factory()
        except BaseException as exc:  # noqa: BLE001 - reported after the barrier
            failures.append(exc)
            ready.abort()
            return
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            return
        go.wait()
        mine_l: list[float] = []
        mine_s: list[int | str] = []
        while time.monotonic() < stop_at[0]:
            began = time.perf_counter()
            status = step()
            if status is None:
                continue
            mine_l.append(time.perf_counter() - began)
            mine_s.append(status)
        with lock:
            latencies.extend(mine_l)
            statuses.extend(mine_s)

    threads = [threading.Thread(target=worker, args=(f,), daemon=True) for f in factories]
    for t in threads:
        t.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        for t in threads:
            t.join()
        raise RuntimeError(f"a client could not prepare: {failures[0]!r}") from failures[0]
    on_start()
    began = time.monotonic()
    stop_at[0] = began + seconds
    go.set()
    for t in threads:
        t.join()
    return Outcome(latencies, statuses, time.monotonic() - began)


class LagProbe:
    """Every `every` seconds one consume's answer is followed to its effect: the wallet's
    cumulative spend for that member is read right after the answer (no other client uses
    that member's card, and its own client reads it before its next request, so it is
    exactly this consume's), then member.members is polled until its copy reaches it."""

    def __init__(self, engine: Engine, every: float, poll: float = 0.005, give_up: float = 30.0) -> None:
        self.engine, self.every, self.poll, self.give_up = engine, every, poll, give_up
        self.samples: list[float] = []
        self.lost = 0
        self._next = 0.0
        self._lock = threading.Lock()
        self._pending: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()

    def start(self) -> None:
        self.samples, self.lost, self._next = [], 0, time.monotonic()
        self._done.clear()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def answered(self, chain_id: str, member_id: str, at: float) -> None:
        """Called by a client after a consume answered 201 at `at` (monotonic)."""
        with self._lock:
            if at < self._next:
                return
            self._next = at + self.every
        with self.engine.connect() as conn:
            target = conn.execute(
                text("SELECT cumulative_spend FROM wallet.wallets WHERE chain_id = :c AND member_id = :m"),
                {"c": chain_id, "m": member_id},
            ).scalar_one()
        self._pending.put((member_id, target, at))

    def _watch(self) -> None:
        waiting: dict[tuple[str, int, float], None] = {}
        while not (self._done.is_set() and not waiting and self._pending.empty()):
            while not self._pending.empty():
                waiting[self._pending.get()] = None
            if not waiting:
                time.sleep(self.poll)
                continue
            ids = list({m for m, _, _ in waiting})
            with self.engine.connect() as conn:
                spend = dict(
                    conn.execute(
                        text("SELECT id, cumulative_spend FROM member.members WHERE id = ANY(:ids)"), {"ids": ids}
                    ).all()
                )
            now = time.monotonic()
            for key in list(waiting):
                member_id, target, at = key
                if spend.get(member_id, 0) >= target:
                    self.samples.append(round((now - at) * 1000, 1))
                    del waiting[key]
                elif now - at > self.give_up:
                    self.lost += 1
                    del waiting[key]
            time.sleep(self.poll)

    def finish(self) -> list[float]:
        """Wait for the samples still in flight; the lags in ms."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        return self.samples
