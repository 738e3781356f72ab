"""`make bench`: the money path measured against PostgreSQL's own pgbench and the
transport's floor, in one run, interleaved; see README "Performance"."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import asdict

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bench import options as bench_options
from bench import pgbench, procs, report, scans, stats
from bench.load import LagProbe, drive
from bench.scenarios import Context, expected_status, factories
from bench.seed import prepare_database, seed
from bench.system import ROOT, System, ensure_vhost
from deploy import audit
from deploy.ensure_env import DEFAULT_PATH, ensure_env_file, load_env_file
from services.kit import config, queues

MONEY = ("consume", "recharge", "refund")  # the scenarios that are money requests
APP = "huiyuan-bench"  # the bench's own connections, never counted as the system's


def engine_for(settings: config.Settings, database: str, pool: int = 4) -> Engine:
    url = settings.admin_url(database)
    return create_engine(url, pool_size=pool, connect_args={"application_name": APP}, isolation_level="AUTOCOMMIT")


def pg_finders(monitor: Engine, database: str) -> dict:
    def backends() -> list[int]:
        with monitor.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = :db AND backend_type = 'client backend'"
                        " AND application_name <> :me"
                    ),
                    {"db": database, "me": APP},
                ).scalars()
            )

    def background() -> list[int]:
        with monitor.connect() as conn:
            return list(
                conn.execute(text("SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'")).scalars()
            )

    return {"postgres": backends, "pg-aux": background}


def ensure_scratch_database(monitor: Engine, name: str) -> None:
    with monitor.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
        return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


class Bench:
    def __init__(self, opts: bench_options.Options, settings: config.Settings, system: System) -> None:
        self.o, self.settings, self.system = opts, settings, system
        self.queue_names: list[str] | None = None
        self.monitor = engine_for(settings, "postgres", pool=2)
        self.engine = engine_for(settings, opts.db_name, pool=6)
        self.ctx: Context | None = None
        self.scans_before: dict[str, scans.Counters] = {}
        self.scans: list[dict] = []

    def tracker(self, database: str) -> procs.Tracker:
        groups = {
            **self.system.finders(),
            **pg_finders(self.monitor, database),
            "rabbitmq": lambda: procs.by_comm("beam.smp"),
            "client": lambda: [os.getpid()],
        }
        return procs.Tracker(groups)

    def run_one(self, scenario: str, clients: int, round_no: int) -> dict:
        o = self.o
        if scenario == "pgbench":
            tracker = self.tracker(o.pgbench_db)
            tracker.start()
            out = pgbench.run(self.settings.admin_url(), o.pgbench_db, clients, o.seconds)
            cpu = tracker.stop()
            statuses = [0] * out["processed"] + ["failed"] * out["failed"]
            summary = stats.summarize(out["latencies"], statuses, o.seconds, ok=0)
            summary["req_per_s"] = round(out["tps"], 1) if out["tps"] is not None else None
            lags: list[float] = []
            points_lags: list[float] = []
            lost = 0
        else:
            assert self.ctx is not None
            tracker = self.tracker(o.db_name)
            probe = LagProbe(self.engine, o.lag_every) if scenario.startswith("consume") else None
            self.ctx.lag, self.ctx.first_error = probe, None

            def on_start() -> None:
                tracker.start()
                if probe is not None:
                    probe.start()

            outcome = drive(factories(self.ctx, scenario, clients, o.seconds), o.seconds, on_start)
            cpu = tracker.stop()
            lags, points_lags = probe.finish() if probe is not None else ([], [])
            lost = probe.lost if probe is not None else 0
            summary = stats.summarize(outcome.latencies, outcome.statuses, outcome.elapsed, expected_status(scenario))
        per = stats.cpu_per_request(cpu, summary["requests"])
        return {
            "scenario": scenario,
            "clients": clients,
            "round": round_no,
            **summary,
            "cpu_ms": cpu,
            "cpu_ms_per_req": per,
            "cpu_ms_per_req_total": round(sum(v for k, v in per.items() if k != "client"), 2) if per else None,
            "lag_ms": lags,
            "points_lag_ms": points_lags,
            "lag_lost": lost,
            "first_error": None if scenario == "pgbench" else self.ctx.first_error,
        }

    def settle(self, seconds: float = 60.0) -> None:
        """Wait until the work the last scenario left is done: every outbox sent and every event
        queue drained (the services' consumers may still be at it when the load stops, and
        would take CPU from the next scenario, pgbench included)."""
        deadline = time.monotonic() + seconds
        audit.settle(self.engine, seconds)
        if self.queue_names is None:
            self.queue_names = [q.name for q in queues.durable_queues(config.SERVICES, self.settings.queue_type)]
        while time.monotonic() < deadline and any(queues.ready_messages(self.o.amqp_uri, self.queue_names).values()):
            time.sleep(0.5)
        audit.settle(self.engine, max(1.0, deadline - time.monotonic()))
        self.vacuum()

    def vacuum(self) -> None:
        """What autovacuum does for a running system, before each scenario. This machine's
        PostgreSQL runs with it off (its CI settings), and a database never analysed is planned
        from guesses: a refund's statement, prepared and planned generically, scanned every lot
        move of the chain on each run (53 ms at 5,700 moves, growing with every refund)."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")

    def run(self) -> tuple[list[dict], list[str], dict]:
        o = self.o
        self.ctx = Context(seed(self.settings, o.port, max(o.clients), o.cards), o.port, o.floor_port)
        seats = self.ctx.world.seats
        cards = sum(len(seat.cards) for seat in seats)
        print(f"bench: chain {self.ctx.world.code} seeded with {len(seats)} stores and cashiers, {cards} cards")
        self.settle()
        time.sleep(scans.STATS_FLUSH_SECONDS)  # the seeding's scans counted before, not during
        self.scans_before = scans.snapshot(self.engine)
        runs = []
        for round_no in range(1, o.rounds + 1):
            for clients in o.clients:
                for scenario in o.scenarios_at(clients):
                    self.settle()  # the last scenario's events are not this one's work
                    run = self.run_one(scenario, clients, round_no)
                    runs.append(run)
                    print(progress(run, o.rounds), flush=True)
        peaks = self.system.peak_rss_mb()
        self.settle()
        time.sleep(scans.STATS_FLUSH_SECONDS)
        money = sum(r["requests"] for r in runs if r["scenario"].split(".")[0] in MONEY)
        self.scans = scans.read_in_full(self.scans_before, scans.snapshot(self.engine), money)
        problems = audit.audit(self.engine)
        return runs, problems, peaks


def progress(run: dict, rounds: int) -> str:
    errors = report.errors_text(run["errors"])
    return (
        f"round {run['round']}/{rounds} {run['clients']:>3} clients {run['scenario']:<18} "
        f"{run['req_per_s']:>8} req/s  p50 {run['p50_ms']} p95 {run['p95_ms']} p99 {run['p99_ms']} ms  "
        f"CPU {run['cpu_ms_per_req_total']} ms/req  errors {errors}"
    )


def summarise(runs: list[dict], opts: bench_options.Options) -> tuple[list[dict], dict]:
    """Medians per (scenario, clients), in the order first run; the headline ratios."""
    keys = list(dict.fromkeys((r["scenario"], r["clients"]) for r in runs))
    results = []
    for scenario, clients in keys:
        mine = [r for r in runs if r["scenario"] == scenario and r["clients"] == clients]
        results.append({"scenario": scenario, "clients": clients, **stats.combine_rounds(mine)})
    at = 8 if 8 in opts.clients else max(opts.clients)
    headlines = {}
    for shape in ("consume.stores", "consume.onestore"):
        by_round: dict[int, dict[str, float]] = {}
        for r in runs:
            if r["clients"] == at:
                by_round.setdefault(r["round"], {})[r["scenario"]] = r["req_per_s"]
        figures = stats.headline(by_round, shape, "pgbench", "floor")
        if any(v is not None for v in figures.values()):
            headlines[shape] = {"clients": at, **figures}
    return results, headlines


def wallet_shares(runs: list[dict]) -> dict[str, float]:
    """CPU ms each wallet instance spent in the money scenarios: both took work if both are well above 0."""
    totals: dict[str, float] = {}
    for r in runs:
        if r["scenario"].split(".")[0] in MONEY:
            for group, ms in r["cpu_ms"].items():
                if group.startswith("wallet"):
                    totals[group] = round(totals.get(group, 0) + ms, 1)
    return totals


def main() -> int:
    ensure_env_file()
    for key, value in load_env_file(DEFAULT_PATH).items():
        os.environ.setdefault(key, value)  # the keys and role passwords `make run` uses; the real environment wins
    opts = bench_options.load(os.environ)
    ensure_vhost(opts.vhost)
    os.environ.update(
        {"HUIYUAN_DB_NAME": opts.db_name, "HUIYUAN_AMQP_URI": opts.amqp_uri, "HUIYUAN_LOG_LEVEL": opts.log_level}
    )
    print(
        f"bench: database {opts.db_name} ({'the bench default' if opts.db_named_by == 'default' else opts.db_named_by})"
        f", vhost {opts.vhost}{' (the bench default)' if opts.vhost_made_here else ''}, gateway :{opts.port}, "
        f"floor :{opts.floor_port}, clients {opts.clients}, {opts.seconds:g} s x {opts.rounds} round(s)",
        flush=True,
    )
    settings = config.load()
    started, began = time.strftime("%Y-%m-%d %H:%M:%S"), time.monotonic()
    load_before = round(os.getloadavg()[0], 2)
    prepare_database(settings)
    bench = None
    system = System(opts, dict(os.environ))
    try:
        if any(s == "pgbench" for n in opts.clients for s in opts.scenarios_at(n)):
            monitor = engine_for(settings, "postgres", pool=1)
            ensure_scratch_database(monitor, opts.pgbench_db)
            monitor.dispose()
            pgbench.initialise(settings.admin_url(), opts.pgbench_db, opts.pgbench_scale)
        system.start()
        bench = Bench(opts, settings, system)
        runs, problems, peaks = bench.run()
    finally:
        system.stop()
        if bench is not None:
            bench.engine.dispose()
            bench.monitor.dispose()
    results, headlines = summarise(runs, opts)
    document = {
        "meta": {
            "started": started,
            "commit": git_commit(),
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "took_s": round(time.monotonic() - began),
            "load_after": round(os.getloadavg()[0], 2),
        },
        "options": asdict(opts),
        "headline": headlines,
        "results": results,
        # each round as measured; the lag samples summarised (the medians above used them all)
        "runs": [
            {**r, "lag_ms": stats.lag_summary(r["lag_ms"]), "points_lag_ms": stats.lag_summary(r["points_lag_ms"])}
            for r in runs
        ],
        "peak_rss_mb": peaks,
        "wallet_instances": wallet_shares(runs) if opts.wallets > 1 else {},
        "sequential_scans": bench.scans if bench is not None else [],
        "audit": problems,
    }
    md_path, json_path = report.write(document)
    print(report.render(document))
    print(f"bench: written {md_path.relative_to(ROOT)} and {json_path.relative_to(ROOT)} (and latest.*)")
    if problems:
        print(f"bench: the audit found {len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0
