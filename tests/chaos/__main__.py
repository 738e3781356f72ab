"""`python -m tests.chaos [--short]`: the fault suite (see tests/chaos/__init__.py and the README, "Faults").

Environment: CHAOS_SEED (the fault schedule and the tills' choices),
CHAOS_MINUTES (the fault phase's budget), CHAOS_REPEATS (injections per fault
kind), CHAOS_THREADS, CHAOS_PORT_BASE, CHAOS_RPC_TIMEOUT, CHAOS_KEEP=1 (keep
the servers' data directory), CHAOS_REVIVE=1 (diagnosis only: when the system
does not recover, restart run_all by hand and go on; the run still fails).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine

from tests.chaos import checks
from tests.chaos.faults import INJECT, SCENARIO_START, Context, Injection, schedule
from tests.chaos.servers import Postgres, Rabbit, require_free
from tests.chaos.system import DB_NAME, ROOT, System
from tests.chaos.tills import DEFINITE, Http, KeyBook, send_until_definite
from tests.chaos.workload import Till, build_world, enrol


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


class Plan:
    def __init__(self, short: bool) -> None:
        self.short = short
        self.seed = _env_int("CHAOS_SEED", random.SystemRandom().randrange(10**6))
        self.minutes = float(os.environ.get("CHAOS_MINUTES") or (2 if short else 11))
        self.repeats = _env_int("CHAOS_REPEATS", 1 if short else 3)
        self.threads = _env_int("CHAOS_THREADS", 4 if short else 6)
        self.cards = 6 if short else 12
        self.recovery_timeout = float(os.environ.get("CHAOS_RECOVERY_TIMEOUT") or 90)
        self.give_up_after = 150.0  # a till's patience with one key before it is left for the re-ask
        base = _env_int("CHAOS_PORT_BASE", 55432)
        self.pg_port, self.amqp_port, self.dist_port, self.gateway_port = base, base + 1, base + 2, base + 3
        self.revive = os.environ.get("CHAOS_REVIVE") == "1"
        self.keep = os.environ.get("CHAOS_KEEP") == "1"


def say(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Run:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.base = Path(tempfile.mkdtemp(prefix="huiyuan-chaos-", dir="/tmp"))
        self.base.chmod(0o755)  # the postgres user must reach its data directory
        self.logs = ROOT / "var" / "chaos" / datetime.now().strftime("%Y%m%d-%H%M%S")
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pg = Postgres(self.base, plan.pg_port, self.logs / "postgres.log")
        self.rabbit = Rabbit(self.base, plan.amqp_port, plan.dist_port, f"huiyuan-chaos-{plan.pg_port}@localhost")
        self.system = System(
            pg_port=plan.pg_port,
            admin_url=self.pg.admin_url,
            amqp_uri=self.rabbit.amqp_uri,
            gateway_port=plan.gateway_port,
            logs=self.logs,
        )
        self.book = KeyBook()
        self.injections: list[Injection] = []
        self.failures: list[str] = []
        self.notes: list[str] = []
        self.phase_end = float("inf")
        self.last_seen: dict[str, object] | None = None  # the processes after the last recovery

    # ---- setting up ---------------------------------------------------------------------

    def start_servers(self) -> None:
        require_free(self.plan.pg_port, self.plan.amqp_port, self.plan.dist_port, self.plan.gateway_port)
        say(f"PostgreSQL on 127.0.0.1:{self.plan.pg_port}, RabbitMQ {self.rabbit.node} on {self.plan.amqp_port}")
        self.pg.init()
        self.pg.start()
        self.rabbit.init()
        self.rabbit.start()

    def start_system(self) -> None:
        say("provisioning")
        self.system.provision()
        say(f"starting deploy/run_all.py (gateway on {self.system.url}) and a second wallet instance")
        self.system.start()
        self.system.start_extra_wallet()
        if not self.system.wait_ready(150):
            raise RuntimeError(f"the system did not become ready; see {self.logs}")

    # ---- faults -------------------------------------------------------------------------

    def recovered(self, condition, world) -> bool:
        card = world.till_cards[0]
        reader = Http(self.plan.gateway_port, 5, world.cashier_tokens[world.stores[0]])
        status, _ = reader.call("GET", world.path(f"/wallet/cards/{card}/balances"))
        reader.close()
        return condition() and status == 200 and self.system.ready()[0] == 200

    def inject(self, ctx: Context, kind: str) -> bool:
        """One fault and the wait for recovery; False if the system did not come back."""
        before = self.check_calm()
        run = Injection(kind, time.monotonic())
        self.injections.append(run)
        say(f"fault {len(self.injections)}: {kind}")
        try:
            condition = INJECT[kind](ctx, run)
        except Exception as exc:  # noqa: BLE001 - recorded as the fault's problem
            run.ended = run.ended or time.monotonic()
            run.problems.append(f"could not inject: {exc}")
            condition = lambda: True  # noqa: E731
        deadline = run.ended + self.plan.recovery_timeout
        while time.monotonic() < deadline and self.system.run_all_alive():  # nothing brings back run_all itself
            if self.recovered(condition, ctx.world):
                run.recovered = time.monotonic()
                break
            time.sleep(0.5)
        for line in run.detail:
            say(f"  {line}")
        if run.recovered is None and not self.system.run_all_alive():
            code = self.system.run_all.returncode
            run.problems.append(f"run_all exited (status {code}): nothing restarts the system")
        elif run.recovered is None:
            run.problems.append(
                f"not recovered within {self.plan.recovery_timeout:.0f} s (/ready: {self.system.ready_detail()[:200]})"
            )
        else:
            say(f"  recovered {run.recovery_seconds:.1f} s after the fault ended")
        if run.recovered is not None:
            self.last_seen = self.system.processes()
            for change in died(before, self.last_seen, run.targets):
                run.problems.append(f"{change} during the fault: a process the fault did not aim at")
        else:
            self.last_seen = None
        for problem in run.problems:
            say(f"  PROBLEM: {problem}")
        return run.recovered is not None

    def check_calm(self) -> dict[str, object]:
        """The processes now; a process that died since the last recovery is the last fault's problem."""
        now = self.system.processes()
        if self.last_seen is not None and self.injections:
            for change in died(self.last_seen, now, set()):
                self.injections[-1].problems.append(f"{change} after the system had recovered")
                say(f"  PROBLEM: {change} after the system had recovered from {self.injections[-1].kind}")
        return now

    def revive(self) -> bool:
        say("CHAOS_REVIVE: restarting run_all by hand (a manual restart: the run fails)")
        self.failures.append("the harness had to restart run_all by hand (CHAOS_REVIVE)")
        self.system.stop_run_all()
        self.system.start()
        ok = self.system.wait_ready(120)
        self.last_seen = self.system.processes() if ok else None
        return ok

    def fault_phase(self, ctx: Context, order: list[str]) -> None:
        budget = self.plan.minutes * 60
        began = time.monotonic()
        hard_stop = began + budget * 1.5
        for i, kind in enumerate(order):
            if time.monotonic() > hard_stop:
                self.failures.append(f"out of time: {len(order) - i} fault(s) not injected")
                return
            if not self.inject(ctx, kind):
                if not (self.plan.revive and self.revive()):
                    left = len(order) - i - 1
                    self.failures.append(f"the system stayed down after '{kind}'; {left} fault(s) not injected")
                    return
            left = len(order) - i - 1
            if left:
                per_fault = (began + budget - time.monotonic()) / left
                time.sleep(min(40.0, max(2.0, per_fault - 15)))

    # ---- after --------------------------------------------------------------------------

    def reask(self, world) -> None:
        """Ask again, with the same key and body, every key that was refused, left open or
        answered after a doubt, and a sample of the rest: the answer must not have changed."""
        records = [r for r in self.book.all() if r.op in ("recharge", "consume", "refund")]
        doubtful = [r for r in records if r.first is None or not r.acknowledged or r.had_doubt]
        others = [r for r in records if r not in doubtful]
        sample = doubtful + self.rng.sample(others, min(len(others), 100))
        say(f"asking again {len(sample)} keys ({len(doubtful)} refused, open or answered after a doubt)")
        deadline = time.monotonic() + 180
        clients: dict[str, Http] = {}
        for record in sample:
            if time.monotonic() > deadline:
                self.failures.append("re-asking the keys took longer than 180 s")
                return
            token = record.token or world.cashier_tokens[world.stores[0]]
            client = clients.setdefault(token, Http(self.plan.gateway_port, self.system.rpc_timeout + 7, token))
            was_open = record.first is None
            result = send_until_definite(client, self.book, record, give_up_after=30, rng=self.rng)
            if result is not None and was_open:
                world.apply(record)

    def settle(self, engine, world, patience: float) -> dict[str, int]:
        deadline = time.monotonic() + patience
        while True:
            pending = {k: v for k, v in checks.settled(engine).items() if v}
            if (not pending and not checks.spend_mismatches(engine, world)) or time.monotonic() > deadline:
                return pending
            time.sleep(2)

    def verify(self, world, tills: list[Till]) -> None:
        engine = create_engine(self.pg.admin_url.rsplit("/", 1)[0] + f"/{DB_NAME}")
        try:
            if not self.system.run_all_alive():
                self.failures.append("run_all had exited: the keys are not asked again, the database is read as left")
            elif not self.system.wait_ready(120):
                self.failures.append(f"the system was not ready at the end: {self.system.ready_detail()[:200]}")
            else:
                self.reask(world)
            pending = self.settle(engine, world, 90 if self.system.run_all_alive() else 0)
            if pending:
                self.failures.append(f"not drained at the end: {pending}")
            unresolved = [r.key for r in self.book.all() if r.op != "setup" and r.first is None]
            if unresolved:
                self.failures.append(f"{len(unresolved)} key(s) never got a definite answer: {unresolved[:5]}")
            for name, problems in (
                ("balances", checks.balance_mismatches(engine, world)),
                ("ledger", checks.ledger(engine, world)),
                ("transactions", checks.unacknowledged_transactions(engine, world, self.book, self.system.rpc_timeout)),
                ("spend", checks.spend_mismatches(engine, world)),
                ("parked", checks.parked(engine)),
            ):
                for problem in problems[:20]:
                    self.failures.append(f"{name}: {problem}")
                if len(problems) > 20:
                    self.failures.append(f"{name}: ... {len(problems) - 20} more")
        finally:
            engine.dispose()
        for record in self.book.conflicting():
            answers = " then ".join(dict.fromkeys(a.answer for a in record.definite))
            self.failures.append(f"key {record.key} ({record.op}) answered differently: {answers}")
        errors = [a for a in self.book.attempts() if a.outcome == "500"]
        if errors:
            self.failures.append(f"{len(errors)} answer(s) were a 5xx other than 503/504 (first: {errors[0].answer})")
        for run in self.injections:
            for problem in run.problems:
                self.failures.append(f"{run.kind}: {problem}")
        for kind in INJECT:
            done = sum(1 for r in self.injections if r.kind == kind and not any("could not" in p for p in r.problems))
            if done < self.plan.repeats:
                self.failures.append(f"'{kind}' injected {done} time(s), wanted {self.plan.repeats}")
        acked = sum(t.stats.acknowledged for t in tills)
        refused = sum(t.stats.refused for t in tills)
        self.notes.append(
            f"tills: {sum(t.stats.started for t in tills)} operations, {acked} acknowledged, {refused} refused"
        )

    # ---- the whole run ------------------------------------------------------------------

    def run(self) -> int:
        plan = self.plan
        say(f"seed {plan.seed} (CHAOS_SEED={plan.seed} repeats this schedule); logs in {self.logs}")
        self.start_servers()
        self.start_system()
        world = build_world(plan.gateway_port, self.system.rpc_timeout + 7, self.book, plan.cards, self.rng)
        order = schedule(self.rng, plan.repeats)
        pauses = order.count("wallet SIGSTOP (2 instances)")
        scenario_cards = [enrol(world, self.book, 100 + n, SCENARIO_START, self.rng) for n in range(max(1, pauses))]
        say(f"chain {world.chain_code}: {len(world.till_cards)} cards for {plan.threads} tills; faults: {order}")
        stop = threading.Event()
        gate = threading.Event()
        gate.set()
        tills = [
            Till(
                n,
                world,
                self.book,
                plan.gateway_port,
                self.system.rpc_timeout + 7,
                plan.seed,
                stop,
                plan.give_up_after,
                gate,
            )
            for n in range(plan.threads)
        ]
        for till in tills:
            till.start()
        time.sleep(10 if not plan.short else 5)  # a calm start: the "no fault" row of the table
        ctx = Context(
            self.system,
            self.pg,
            self.rabbit,
            world,
            self.book,
            self.rng,
            plan.recovery_timeout,
            scenario_cards,
            tills_gate=gate,
        )
        try:
            self.fault_phase(ctx, order)
        except BaseException:
            stop.set()  # interrupted: the till threads are daemons and go with the process
            raise
        self.check_calm()
        say("faults over; the tills finish their open keys")
        self.book.stopped_at = time.monotonic()
        self.phase_end = self.book.stopped_at
        stop.set()
        for till in tills:
            till.join(timeout=plan.give_up_after + 10)
        self.verify(world, tills)
        return self.report()

    def report(self) -> int:
        print()
        print(checks.table(self.injections, self.book, self.plan.recovery_timeout, self.phase_end))
        print()
        for note in self.notes:
            print(note)
        outcome_counts = {}
        for attempt in self.book.attempts():
            outcome_counts[attempt.outcome] = outcome_counts.get(attempt.outcome, 0) + 1
        definite = sum(v for k, v in outcome_counts.items() if k in DEFINITE)
        print(
            f"answers: {definite} definite of {sum(outcome_counts.values())} ({outcome_counts}); seed {self.plan.seed}"
        )
        print(f"logs: {self.logs}")
        if self.failures:
            print("\nFAIL")
            for failure in self.failures:
                print(f"  - {failure}")
            return 1
        print("\nPASS")
        return 0

    def cleanup(self) -> None:
        say("stopping the system and the suite's servers")
        self.system.stop()
        self.rabbit.shutdown()
        self.pg.shutdown()
        if self.plan.keep:
            say(f"kept {self.base}")
        else:
            shutil.rmtree(self.base, ignore_errors=True)


def died(before: dict[str, object], after: dict[str, object], allowed: set[str]) -> list[str]:
    """Parts of the system whose process changed or vanished, other than `allowed`."""
    changes = []
    for part, pid in before.items():
        if part in allowed or after.get(part) == pid:
            continue
        if part == "gateway workers":
            changes.append(f"gateway workers {sorted(pid)} became {sorted(after.get(part) or [])}")
        else:
            changes.append(f"{part} (pid {pid}) died; now {after.get(part) or 'not running'}")
    return changes


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str]) -> int:
    plan = Plan(short="--short" in argv or os.environ.get("CHAOS_SHORT") == "1")
    # explicit for SIGINT too: a shell starts a background job with SIGINT ignored
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    run = Run(plan)
    try:
        return run.run()
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - the harness itself failed: say so, clean up, fail
        say(f"the suite could not run: {exc!r}")
        return 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave servers behind
        run.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
