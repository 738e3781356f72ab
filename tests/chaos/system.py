"""The system under test: provisioned against the suite's servers, run by `deploy/run_all.py`.

The harness starts run_all once (and a second wallet instance of its own) and
then only looks: which processes run_all's children are, whether `/ready`
answers 200. Restarting a dead service is run_all's job, not the harness's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DB_NAME = "huiyuan_chaos"
ADMIN_PASSWORD = "chaos-admin-password"
# fixed test keys (base64 of 32 bytes): this database is thrown away after the run
PII_KEY = "Y2hhb3MtcGlpLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE="
PII_INDEX_KEY = "Y2hhb3MtaW5kZXgta2V5LTAxMjM0NTY3ODlhYmNkZWY="


def _children(ppid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes whose parent is `ppid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(") ", 1)[1].split()[1])
            if parent != ppid or stat.rsplit(") ", 1)[1][0] == "Z":
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue
        found.append((int(entry.name), cmdline))
    return found


def probe(url: str, timeout: float = 5.0) -> tuple[int | None, float]:
    """(status or None, seconds taken) of a GET."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError):
        status = None
    return status, time.monotonic() - started


class System:
    def __init__(self, *, pg_port: int, admin_url: str, amqp_uri: str, gateway_port: int, logs: Path) -> None:
        self.gateway_port = gateway_port
        self.logs = logs
        self.rpc_timeout = float(os.environ.get("CHAOS_RPC_TIMEOUT", "3"))
        self.gateway_workers = 2
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HUIYUAN_")},
            "HUIYUAN_DB_HOST": "127.0.0.1",
            "HUIYUAN_DB_PORT": str(pg_port),
            "HUIYUAN_DB_NAME": DB_NAME,
            "HUIYUAN_DB_ADMIN_URL": admin_url,
            "HUIYUAN_AMQP_URI": amqp_uri,
            "HUIYUAN_PII_KEY": PII_KEY,
            "HUIYUAN_PII_INDEX_KEY": PII_INDEX_KEY,
            "HUIYUAN_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "HUIYUAN_RPC_TIMEOUT": str(self.rpc_timeout),
            "HUIYUAN_GATEWAY_BIND": f"127.0.0.1:{gateway_port}",
            "HUIYUAN_GATEWAY_WORKERS": str(self.gateway_workers),
            "HUIYUAN_LOG_LEVEL": os.environ.get("CHAOS_LOG_LEVEL", "WARNING"),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
            "CHAOS_RUN_ID": uuid.uuid4().hex,
        }
        self.run_all: subprocess.Popen | None = None
        self.extra_wallet: subprocess.Popen | None = None
        self.run_all_starts = 0
        self._log_files: list = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def _log(self, name: str):
        handle = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child's life
        self._log_files.append(handle)
        return handle

    def provision(self) -> None:
        with open(self.logs / "provision.log", "ab") as log:
            done = subprocess.run(
                [sys.executable, "-m", "services.kit.provision", "--recreate"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=300,
            )
        if done.returncode != 0:
            raise RuntimeError(f"provisioning failed; see {self.logs / 'provision.log'}")

    def start(self) -> None:
        """Start run_all (the system as `make run` runs it)."""
        log = self._log("run_all")
        self.run_all = subprocess.Popen(
            [sys.executable, "deploy/run_all.py"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.run_all_starts += 1

    def start_extra_wallet(self) -> None:
        """A second wallet instance, as a platform team scales the wallet out."""
        log = self._log("wallet-2")
        self.extra_wallet = subprocess.Popen(
            [sys.executable, "-m", "services.kit.runner", "wallet"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    # ---- looking ------------------------------------------------------------------

    def run_all_alive(self) -> bool:
        return self.run_all is not None and self.run_all.poll() is None

    def _run_all_children(self) -> list[tuple[int, str]]:
        if not self.run_all_alive():
            return []
        return _children(self.run_all.pid)

    def service_pid(self, service: str) -> int | None:
        """The pid of run_all's runner for `service`, if one is running."""
        for pid, cmd in self._run_all_children():
            if f"services.kit.runner {service}" in cmd:
                return pid
        return None

    def gateway_master(self) -> int | None:
        for pid, cmd in self._run_all_children():
            if "gunicorn" in cmd:
                return pid
        return None

    def gateway_workers_pids(self) -> list[int]:
        master = self.gateway_master()
        return [pid for pid, _ in _children(master)] if master else []

    def extra_wallet_pid(self) -> int | None:
        if self.extra_wallet is not None and self.extra_wallet.poll() is None:
            return self.extra_wallet.pid
        return None

    def processes(self) -> dict[str, object]:
        """Which process is each part of the system now (None: not running)."""
        found: dict[str, object] = {s: self.service_pid(s) for s in ("org", "member", "wallet")}
        found["gateway"] = self.gateway_master()
        found["gateway workers"] = frozenset(self.gateway_workers_pids())
        found["wallet-2"] = self.extra_wallet_pid()
        return found

    def ready(self, timeout: float = 5.0) -> tuple[int | None, float]:
        return probe(f"{self.url}/ready", timeout)

    def ready_detail(self) -> str:
        try:
            with urllib.request.urlopen(f"{self.url}/ready", timeout=5) as resp:
                return json.dumps(json.loads(resp.read()))
        except urllib.error.HTTPError as exc:
            return f"{exc.code} {exc.read()[:300]!r}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return repr(exc)

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready()[0] == 200:
                return True
            time.sleep(0.5)
        return False

    # ---- stopping -----------------------------------------------------------------

    def stop_run_all(self, grace: float = 30) -> None:
        self._stop([self.run_all], grace)

    def _stop(self, processes: list[subprocess.Popen | None], grace: float) -> None:
        """SIGTERM each process's group (a paused process is resumed first so it can act on it),
        wait up to `grace` seconds for all of them together, then SIGKILL what is left."""
        live = [p for p in processes if p is not None and p.poll() is None]
        for pid in self.marked_processes():
            _signal(pid, signal.SIGCONT)
        for process in live:
            _kill_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(p.poll() is None for p in live) and time.monotonic() < deadline:
            time.sleep(0.2)
        for process in processes:
            if process is not None:
                _kill_group(process.pid, signal.SIGKILL)  # and anything left in its group
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass

    def marked_processes(self) -> list[int]:
        """Every live process started for this run (they all carry its CHAOS_RUN_ID)."""
        marker = f"CHAOS_RUN_ID={self.env['CHAOS_RUN_ID']}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if marker in (entry / "environ").read_bytes().split(b"\0"):
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

    def stop(self) -> None:
        self._stop([self.run_all, self.extra_wallet], 30)
        # whatever a dead parent left behind (a gunicorn worker whose master died)
        for pid in self.marked_processes():
            _signal(pid, signal.SIGKILL)
        for handle in self._log_files:
            handle.close()
        self._log_files.clear()


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _kill_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
