"""Run every Huiyuan service and the gateway in the foreground: `python deploy/run_all.py`.

A small supervisor for a developer machine (production runs each process under
its own manager, see docker-compose.yml). It exists so one command brings the
whole system up, and one Ctrl-C takes all of it down again without leaving
orphans holding RabbitMQ queues or the gateway port.

- `var/huiyuan.env` (made by `deploy/ensure_env.py`) supplies defaults; the
  real environment wins, so `HUIYUAN_PII_KEY=... python deploy/run_all.py` works.
- Children run in their own sessions (`start_new_session`), so a terminal's
  Ctrl-C reaches only this process, which then stops them in order: SIGTERM to
  each child's process group (gunicorn's workers included), up to 20 s of
  grace, then SIGKILL. A second Ctrl-C skips the grace period.
- If any child dies on its own the system is incomplete, so everything is
  stopped and the exit status is non-zero: a half-running system that looks
  healthy is worse than a clear failure.

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


@dataclass
class Child:
    """One supervised process: a name for messages, and the command to start it."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)


def child_environment(env_file: Path = ENV_FILE, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The file's values as defaults under the real environment (which wins)."""
    env = dict(load_env_file(env_file))
    env.update(os.environ if base is None else base)
    # JSON log lines should appear as they are written, not when a buffer fills.
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def build_children(python: str = sys.executable) -> list[Child]:
    """One runner per service in `services.kit.config.SERVICES`, then the gateway."""
    # config pulls in nameko (and so eventlet, with its deprecation banner);
    # the supervisor only needs the names, so keep its output quiet.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from services.kit.config import SERVICES

    children = [Child(name, [python, "-m", "services.kit.runner", name]) for name in SERVICES]
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


def banner(url: str, env: Mapping[str, str]) -> str:
    """What a developer needs next: where the API is and how to get a token."""
    username = env.get("HUIYUAN_ADMIN_USERNAME") or "admin"
    body = f'{{"username":"{username}","password":"<password>"}}'
    return "\n".join(
        [
            "",
            f"Huiyuan is ready at {url}",
            f"  API reference: {url}/api/v1/docs",
            "  Sign in (the password is HUIYUAN_ADMIN_PASSWORD, or the one provision printed once):",
            f"    curl -s -X POST {url}/api/v1/auth/sign-in -H 'Content-Type: application/json' -d '{body}'",
            "  Ctrl-C stops everything.",
            "",
        ]
    )


class Supervisor:
    """Starts children, watches them, and stops them all on a signal or a death."""

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
    ) -> None:
        self.children = list(children)
        self.env = dict(os.environ if env is None else env)
        self.ready_url = ready_url
        self.on_ready = on_ready
        self.ready_timeout = ready_timeout
        self.grace = grace
        self.cwd = cwd
        self.signals: list[int] = []

    def _on_signal(self, signum: int, _frame: object) -> None:
        # Only record it: the main loop acts, so no work happens inside a handler.
        self.signals.append(signum)

    def _say(self, message: str) -> None:
        print(f"run_all: {message}", file=sys.stderr, flush=True)

    def start(self) -> None:
        for child in self.children:
            child.process = subprocess.Popen(child.argv, env=self.env, cwd=self.cwd, start_new_session=True)
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
        """Supervise until a signal (exit 0) or an unexpected child exit (exit 1)."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            try:
                self.start()
            except OSError as exc:
                self._say(f"could not start a child: {exc}")
                self.stop()
                return 1
            return self._watch()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _watch(self) -> int:
        started = time.monotonic()
        next_probe = started
        ready = self.ready_url is None
        while True:
            if self.signals:
                name = signal.Signals(self.signals[0]).name
                self._say(f"{name} received; stopping {len(self._running())} process(es)")
                self.stop()
                self._say("stopped")
                return 0
            for child in self.children:
                assert child.process is not None
                code = child.process.poll()
                if code is not None:
                    self._say(
                        f"{child.name} (pid {child.process.pid}) exited unexpectedly with status {code}; "
                        "stopping everything"
                    )
                    self.stop()
                    return 1
            now = time.monotonic()
            if not ready and now >= next_probe:
                assert self.ready_url is not None
                if probe_ready(self.ready_url):
                    ready = True
                    if self.on_ready is not None:
                        self.on_ready()
                elif now - started > self.ready_timeout:
                    ready = True  # stop probing; keep supervising so the logs can be read
                    self._say(
                        f"{self.ready_url} not ready after {self.ready_timeout:.0f} s; still running, "
                        "see the logs above (is the database provisioned?)"
                    )
                next_probe = now + READY_INTERVAL
            time.sleep(POLL_INTERVAL)


def main() -> int:
    env = child_environment()
    url = base_url(env.get("HUIYUAN_GATEWAY_BIND") or DEFAULT_BIND)
    supervisor = Supervisor(
        build_children(),
        env,
        ready_url=f"{url}/ready",
        on_ready=lambda: print(banner(url, env), flush=True),
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
