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


@dataclass
class _Followed:
    """One consume followed to its effects: the member's copy of the spend, the points' earning."""

    member_id: str
    spend: int  # the wallet's cumulative spend right after the answer
    consume_id: str
    at: float  # monotonic time of the answer
    spend_seen: bool = False
    earned_seen: bool = False


class LagProbe:
    """Every `every` seconds one consume's answer is followed to its two downstream effects:

    - the member service's copy of the cumulative spend: the wallet's is read right after the
      answer (no other client uses that member's card, and its own client reads it before its
      next request, so it is exactly this consume's), then member.members is polled until
      its copy reaches it;
    - the points service's earning on the consume (one row per consume, whatever it earned).
    """

    def __init__(self, engine: Engine, every: float, poll: float = 0.005, give_up: float = 30.0) -> None:
        self.engine, self.every, self.poll, self.give_up = engine, every, poll, give_up
        self.samples: list[float] = []  # to the member's spend
        self.points_samples: list[float] = []  # to the points' earning
        self.lost = 0
        self._next = 0.0
        self._lock = threading.Lock()
        self._pending: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()

    def start(self) -> None:
        self.samples, self.points_samples, self.lost, self._next = [], [], 0, time.monotonic()
        self._done.clear()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def answered(self, chain_id: str, member_id: str, consume_id: str, at: float) -> None:
        """Called by a client after a consume answered 201 at `at` (monotonic)."""
        with self._lock:
            if at < self._next:
                return
            self._next = at + self.every
        with self.engine.connect() as conn:
            spend = conn.execute(
                text("SELECT cumulative_spend FROM wallet.wallets WHERE chain_id = :c AND member_id = :m"),
                {"c": chain_id, "m": member_id},
            ).scalar_one()
        self._pending.put((chain_id, _Followed(member_id, spend, consume_id, at)))

    def _watch(self) -> None:
        waiting: list[tuple[str, _Followed]] = []
        while not (self._done.is_set() and not waiting and self._pending.empty()):
            while not self._pending.empty():
                waiting.append(self._pending.get())
            if not waiting:
                time.sleep(self.poll)
                continue
            spend, earned = self._effects(waiting)
            now = time.monotonic()
            for entry in list(waiting):
                chain_id, f = entry
                lag = round((now - f.at) * 1000, 1)
                if not f.spend_seen and spend.get(f.member_id, 0) >= f.spend:
                    f.spend_seen = True
                    self.samples.append(lag)
                if not f.earned_seen and (chain_id, f.consume_id) in earned:
                    f.earned_seen = True
                    self.points_samples.append(lag)
                if f.spend_seen and f.earned_seen:
                    waiting.remove(entry)
                elif now - f.at > self.give_up:
                    self.lost += 1
                    waiting.remove(entry)
            time.sleep(self.poll)

    def _effects(self, waiting: list[tuple[str, _Followed]]) -> tuple[dict[str, int], set[tuple[str, str]]]:
        """(member id → the member service's cumulative spend, the (chain, consume) earned on)."""
        members = list({f.member_id for _, f in waiting if not f.spend_seen})
        consumes = [(c, f.consume_id) for c, f in waiting if not f.earned_seen]
        with self.engine.connect() as conn:
            spend = dict(
                conn.execute(
                    text("SELECT id, cumulative_spend FROM member.members WHERE id = ANY(:ids)"), {"ids": members}
                ).all()
            )
            earned = {
                (row.chain_id, row.consume_id)
                for row in conn.execute(
                    text(
                        "SELECT chain_id, consume_id FROM points.earnings"
                        " WHERE chain_id = ANY(:chains) AND consume_id = ANY(:consumes)"
                    ),
                    {"chains": list({c for c, _ in consumes}), "consumes": [i for _, i in consumes]},
                )
            }
        return spend, earned

    def finish(self) -> tuple[list[float], list[float]]:
        """Wait for the samples still in flight; the lags in ms to the member's spend and to
        the points' earning."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        return self.samples, self.points_samples
