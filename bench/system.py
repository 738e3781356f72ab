"""Bring the system up as `make run` does (deploy/run_all.py), plus what only the bench
runs: the transport-floor service and gateway, and an optional second wallet."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs
from bench.client import Client
from bench.options import Options
from deploy.run_all import own_secrets

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "bench"


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60)
    return done.stdout


def ensure_vhost(vhost: str) -> None:
    if vhost not in rabbitmqctl("list_vhosts").split():
        rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")


def port_answers(port: int) -> bool:
    try:
        Client(port, timeout=1).call("GET", "/health")
        return True
    except OSError:
        return False


def wait_ready(port: int, path: str, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a bench process exited with {process.returncode}; see {LOG_DIR}")
        try:
            if Client(port, timeout=2).call("GET", path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"127.0.0.1:{port}{path} not ready after {timeout:.0f} s; see {LOG_DIR}")


@dataclass
class System:
    options: Options
    env: dict[str, str]
    started: dict[str, subprocess.Popen] = field(default_factory=dict)

    def _spawn(self, name: str, argv: list[str], extra: dict[str, str] | None = None) -> subprocess.Popen:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = open(LOG_DIR / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        env = {**self.env, **(extra or {})}
        secrets_of = {"supervisor": "", "floor-svc": "", "floor-gw": "", "wallet#2": "wallet"}[name]
        if name != "supervisor":
            env = own_secrets(secrets_of or "none", env)
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started[name] = process
        return process

    def start(self) -> None:
        o = self.options
        for port in (o.port, o.floor_port):
            if port_answers(port):
                raise SystemExit(f"something already answers on 127.0.0.1:{port}: stop it or set HUIYUAN_BENCH_PORT")
        python = sys.executable
        main = self._spawn("supervisor", [python, "deploy/run_all.py"], {"HUIYUAN_GATEWAY_BIND": f"127.0.0.1:{o.port}"})
        self._spawn("floor-svc", [python, "-m", "bench.floor"])
        floor = self._spawn(
            "floor-gw",
            [python, "-m", "gunicorn", "-c", "gateway/gunicorn_conf.py", "bench.floor:app"],
            {"HUIYUAN_GATEWAY_BIND": f"127.0.0.1:{o.floor_port}"},
        )
        if o.wallets > 1:
            for n in range(2, o.wallets + 1):
                self._spawn(f"wallet#{n}", [python, "-m", "services.kit.runner", "wallet"])
        wait_ready(o.port, "/ready", 120, main)
        wait_ready(o.floor_port, "/bench/floor", 60, floor)

    def stop(self) -> None:
        for process in self.started.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 40
        for process in self.started.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=5)

    # ---- who is who, for CPU and memory ------------------------------------------------

    def service_pids(self) -> dict[str, list[int]]:
        """Process groups of the system: the gateway (master and workers), each service
        (`services.kit.runner <name>`), the supervisor, and what only the bench runs."""
        stats = procs.all_stats()
        groups: dict[str, list[int]] = {}
        for name, process in self.started.items():
            for pid in procs.descendants(process.pid, stats):
                argv = procs.cmdline(pid)
                if name == "supervisor":
                    if "services.kit.runner" in argv:
                        group = argv[argv.index("services.kit.runner") + 1]
                    elif any("gunicorn" in a for a in argv):
                        group = "gateway"
                    elif pid == process.pid:
                        group = "supervisor"
                    else:
                        continue
                else:
                    group = name
                groups.setdefault(group, []).append(pid)
        return groups

    def finders(self) -> dict[str, Callable[[], Iterable[int]]]:
        """One look at /proc, taken at a scenario's start: these processes do not change
        during one (a scan per sample would cost more CPU than some of them use)."""
        return {name: (lambda pids=tuple(pids): pids) for name, pids in sorted(self.service_pids().items())}

    def peak_rss_mb(self) -> dict[str, float]:
        """Peak resident memory per group: the largest single process (a gateway worker, a service)."""
        peaks: dict[str, float] = {}
        for group, pids in self.service_pids().items():
            values = [v for v in (procs.peak_rss_mb(p) for p in pids) if v is not None]
            if values:
                peaks[group] = max(values)
        return peaks
