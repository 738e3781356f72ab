"""Run every Huiyuan service and the gateway in the foreground: `python deploy/run_all.py`.

A small supervisor for a developer machine (production runs each process under
its own manager, see docker-compose.yml). It exists so one command brings the
whole system up, keeps it up, and one Ctrl-C takes all of it down again without
leaving orphans holding RabbitMQ queues or the gateway port.

- `var/huiyuan.env` (made by `deploy/ensure_env.py`) supplies defaults; the
  real environment wins, so `HUIYUAN_PII_KEY=... python deploy/run_all.py` works.
- Children run in their own sessions (`start_new_session`), so a terminal's
  Ctrl-C reaches only this process, which then stops them in order: SIGTERM to
  each child's process group (gunicorn's workers included), up to 20 s of
  grace, then SIGKILL. A second Ctrl-C skips the grace period. SIGTERM to this
  process does the same.
- A child that dies on its own (a crash, `kill -9`, the broker or database
  away at start) is restarted, after a pause that doubles from 0.5 s up to
  30 s while it keeps dying and goes back to 0.5 s once it has stayed up for
  60 s. Each death and restart is logged. Stopping everything because one
  process died would leave the whole system down after a passing fault.

Databases and the broker must already be up and provisioned
(`deploy/ensure_servers.sh`, `python -m services.kit.provision`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from deploy.ensure_env import load_env_file  # noqa: E402

ENV_FILE = REPO_ROOT / "var" / "huiyuan.env"
DEFAULT_BIND = "127.0.0.1:8000"
READY_TIMEOUT = 60.0
READY_INTERVAL = 0.5
STOP_GRACE = 20.0
POLL_INTERVAL = 0.2
# restart pauses: doubling from the first to the cap while a child keeps dying
RESTART_FIRST = 0.5
RESTART_CAP = 30.0
# a child that stayed up this long before dying is restarted after the first pause again
STABLE_AFTER = 60.0
# each service process's metrics port on a developer machine: 9101, 9102, ... in SERVICES order
# (9100, the runner's own default, is what a pod of one service uses)
DEFAULT_METRICS_BASE_PORT = 9101
METRICS_PORT_VARIABLE = "HUIYUAN_METRICS_PORT"


@dataclass
class Child:
    """One supervised process: a name for messages, and the command to start it."""

    name: str
    argv: list[str]
    # variables of this child's own (its metrics port), over the shared environment
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at: float = 0.0
    # the pause before the next restart, and when that restart is due (None: running)
    pause: float = RESTART_FIRST
    restart_at: float | None = None
    restarts: int = 0


def child_environment(env_file: Path = ENV_FILE, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The file's values as defaults under the real environment (which wins)."""
    env = dict(load_env_file(env_file))
    env.update(os.environ if base is None else base)
    # JSON log lines should appear as they are written, not when a buffer fills.
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def own_secrets(name: str, env: Mapping[str, str]) -> dict[str, str]:
    """`env` less the database passwords of every service but `name`: each process can
    reach only its own schema (the gateway none)."""
    prefix = "HUIYUAN_DB_PASSWORD_"
    own = prefix + name.upper()
    return {k: v for k, v in env.items() if not k.startswith(prefix) or k == own}


def _services() -> tuple[str, ...]:
    # config pulls in nameko (and so eventlet, with its deprecation banner);
    # the supervisor only needs the names, so keep its output quiet.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from services.kit.config import SERVICES
    return SERVICES


def metrics_ports(env: Mapping[str, str]) -> dict[str, int]:
    """Each service process's own metrics port: `HUIYUAN_METRICS_BASE_PORT` (9101) and up, in
    `SERVICES` order; none at all when `HUIYUAN_METRICS_PORT` is 0."""
    if env.get(METRICS_PORT_VARIABLE, "").strip() == "0":
        return {}
    base = int(env.get("HUIYUAN_METRICS_BASE_PORT") or DEFAULT_METRICS_BASE_PORT)
    return {name: base + i for i, name in enumerate(_services())}


def build_children(python: str = sys.executable, env: Mapping[str, str] | None = None) -> list[Child]:
    """One runner per service in `services.kit.config.SERVICES`, each on its own metrics port
    (on this machine only), then the gateway."""
    ports = metrics_ports(os.environ if env is None else env)
    children = [
        Child(
            name,
            [python, "-m", "services.kit.runner", name],
            {METRICS_PORT_VARIABLE: str(ports.get(name, 0)), "HUIYUAN_METRICS_HOST": "127.0.0.1"},
        )
        for name in _services()
    ]
    children.append(Child("gateway", [python, "-m", "gunicorn", "-c", "gateway/gunicorn_conf.py", "gateway.wsgi:app"]))
    return children


def base_url(bind: str) -> str:
    """The URL to reach a gunicorn `bind` from this machine (0.0.0.0 means localhost)."""
    bind = bind.split(",")[0].strip()
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("[::]", "::"):
        host = "[::1]"
    return f"http://{host}:{port}"


def probe_ready(url: str) -> bool:
    """True when `url` answers 200 (the gateway's /ready says every service answers RPC)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def banner(url: str, env: Mapping[str, str], ports: Mapping[str, int] | None = None) -> str:
    """What a developer needs next: where the API is, how to get a token, where the metrics are."""
    username = env.get("HUIYUAN_ADMIN_USERNAME") or "admin"
    body = f'{{"username":"{username}","password":"<password>"}}'
    metrics = [f"  Metrics: {url}/metrics (gateway)"]
    if ports:
        metrics.append("  Each service's /metrics, /health and /ready:")
        metrics += [f"    {name:<13} http://127.0.0.1:{port}/metrics" for name, port in ports.items()]
    return "\n".join(
        [
            "",
            f"Huiyuan is ready at {url}",
            f"  API reference: {url}/api/v1/docs",
            "  Sign in (the password is HUIYUAN_ADMIN_PASSWORD, or the one provision printed once):",
            f"    curl -s -X POST {url}/api/v1/auth/sign-in -H 'Content-Type: application/json' -d '{body}'",
            *metrics,
            "  Ctrl-C stops everything.",
            "",
        ]
    )


class Supervisor:
    """Starts children, restarts any that die, and stops them all on a signal."""

    def __init__(
        self,
        children: Sequence[Child],
        env: Mapping[str, str] | None = None,
        *,
        ready_url: str | None = None,
        on_ready: Callable[[], None] | None = None,
        ready_timeout: float = READY_TIMEOUT,
        grace: float = STOP_GRACE,
        cwd: Path = REPO_ROOT,
        restart_first: float = RESTART_FIRST,
        restart_cap: float = RESTART_CAP,
        stable_after: float = STABLE_AFTER,
    ) -> None:
        self.children = list(children)
        self.env = dict(os.environ if env is None else env)
        self.ready_url = ready_url
        self.on_ready = on_ready
        self.ready_timeout = ready_timeout
        self.grace = grace
        self.cwd = cwd
        self.restart_first = restart_first
        self.restart_cap = restart_cap
        self.stable_after = stable_after
        self.signals: list[int] = []
        self._started = time.monotonic()
        self._next_probe = self._started
        self._ready = ready_url is None

    def _on_signal(self, signum: int, _frame: object) -> None:
        # Only record it: the main loop acts, so no work happens inside a handler.
        self.signals.append(signum)

    def _say(self, message: str) -> None:
        print(f"run_all: {message}", file=sys.stderr, flush=True)

    def _launch(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv, env=own_secrets(child.name, {**self.env, **child.env}), cwd=self.cwd, start_new_session=True
        )
        child.started_at = time.monotonic()
        child.restart_at = None

    def start(self) -> None:
        self._started = self._next_probe = time.monotonic()
        for child in self.children:
            child.pause = self.restart_first
            self._launch(child)
            self._say(f"started {child.name} (pid {child.process.pid})")

    def _running(self) -> list[Child]:
        return [c for c in self.children if c.process is not None and c.process.poll() is None]

    def _signal_group(self, child: Child, signum: int) -> None:
        # Each child leads its own session, so its pid is its process group id;
        # signalling the group reaches gunicorn's workers as well as its master.
        assert child.process is not None
        try:
            os.killpg(child.process.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError:
            child.process.send_signal(signum)

    def stop(self) -> None:
        """SIGTERM every running child, wait up to `grace` s, then SIGKILL the rest."""
        for child in self.children:
            child.restart_at = None  # a restart that was due will not happen now
        for child in self._running():
            self._signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        signals_seen = len(self.signals)
        while self._running() and time.monotonic() < deadline and len(self.signals) <= signals_seen:
            time.sleep(POLL_INTERVAL)
        for child in self._running():
            self._say(f"{child.name} did not stop in time; killing it")
            self._signal_group(child, signal.SIGKILL)
        for child in self.children:
            if child.process is not None:
                try:
                    child.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._say(f"{child.name} (pid {child.process.pid}) survived SIGKILL")
        # Anything a child left in its group (a gunicorn worker whose master died) goes too.
        for child in self.children:
            if child.process is not None:
                try:
                    os.killpg(child.process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def run(self) -> int:
        """Supervise until SIGINT or SIGTERM (exit 0); 1 if the children cannot be started at all."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            try:
                self.start()
            except OSError as exc:
                self._say(f"could not start a child: {exc}")
                self.stop()
                return 1
            while True:
                code = self.step()
                if code is not None:
                    return code
                time.sleep(POLL_INTERVAL)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def step(self, now: float | None = None) -> int | None:
        """One look at the signals and the children: the exit status once stopped, else None."""
        if self.signals:
            name = signal.Signals(self.signals[0]).name
            self._say(f"{name} received; stopping {len(self._running())} process(es)")
            self.stop()
            self._say("stopped")
            return 0
        now = time.monotonic() if now is None else now
        for child in self.children:
            self._tend(child, now)
        self._probe(now)
        return None

    def _tend(self, child: Child, now: float) -> None:
        """Notice a death and schedule the restart; restart when it is due."""
        assert child.process is not None
        if child.restart_at is None:
            code = child.process.poll()
            if code is None:
                return
            if now - child.started_at >= self.stable_after:
                child.pause = self.restart_first  # it had been well: this is a fresh fault
            child.restart_at = now + child.pause
            self._say(
                f"{child.name} (pid {child.process.pid}) exited unexpectedly with status {code} "
                f"after {now - child.started_at:.1f} s; restarting it in {child.pause:g} s"
            )
            child.pause = min(child.pause * 2, self.restart_cap)
            return
        if now < child.restart_at:
            return
        try:
            self._launch(child)
        except OSError as exc:
            child.restart_at = now + child.pause
            self._say(f"could not restart {child.name}: {exc}; trying again in {child.pause:g} s")
            child.pause = min(child.pause * 2, self.restart_cap)
            return
        child.restarts += 1
        self._say(f"restarted {child.name} (pid {child.process.pid}, restart {child.restarts})")

    def _probe(self, now: float) -> None:
        if self._ready or now < self._next_probe:
            return
        assert self.ready_url is not None
        if probe_ready(self.ready_url):
            self._ready = True
            if self.on_ready is not None:
                self.on_ready()
        elif now - self._started > self.ready_timeout:
            self._ready = True  # stop probing; keep supervising so the logs can be read
            self._say(
                f"{self.ready_url} not ready after {self.ready_timeout:.0f} s; still running, "
                "see the logs above (is the database provisioned?)"
            )
        self._next_probe = now + READY_INTERVAL


def main() -> int:
    env = child_environment()
    url = base_url(env.get("HUIYUAN_GATEWAY_BIND") or DEFAULT_BIND)
    supervisor = Supervisor(
        build_children(env=env),
        env,
        ready_url=f"{url}/ready",
        on_ready=lambda: print(banner(url, env, metrics_ports(env)), flush=True),
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
