"""The suite's own PostgreSQL cluster and RabbitMQ node, on ports `make run` never uses.

Both live in a temporary directory and are started, stopped and killed here
only: the machine's shared servers (5432, 5672) are never touched. Stopping or
killing one of these is how a fault is injected; starting it again is the
fault's end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("CHAOS_PG_BIN", "/usr/lib/postgresql/15/bin"))
RABBIT_BIN = Path(os.environ.get("CHAOS_RABBIT_BIN", "/usr/lib/rabbitmq/bin"))


class ServerError(RuntimeError):
    """A server of the suite's own could not be started or stopped."""


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def require_free(*ports: int) -> None:
    busy = [p for p in ports if not port_is_free(p)]
    if busy:
        raise ServerError(
            f"port(s) {busy} already in use: a previous chaos run may still be running "
            "(its servers are under /tmp/huiyuan-chaos-*); stop it or set CHAOS_PORT_BASE"
        )


def _run(
    argv: list[str], *, env: dict | None = None, timeout: float = 60, check: bool = True, cwd: Path | None = None
) -> str:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired as exc:
        raise ServerError(f"{' '.join(argv)} took longer than {timeout} s") from exc
    if check and done.returncode != 0:
        raise ServerError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


class Postgres:
    """A throw-away cluster owned by the `postgres` user (we run as root), trust auth on 127.0.0.1."""

    def __init__(self, base: Path, port: int, log: Path) -> None:
        self.dir = base / "pg"
        self.data = self.dir / "data"
        self.port = port
        self.log = log

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *argv: str, timeout: float = 60, check: bool = True) -> str:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return _run([*prefix, *argv], timeout=timeout, check=check)

    def init(self) -> None:
        self.dir.mkdir(parents=True)
        self.log.touch()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            shutil.chown(self.log, "postgres")
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=400"
            " -c shared_buffers=64MB -c log_min_messages=warning"
            # when each transaction committed: a mutation must not commit after its deadline
            " -c track_commit_timestamp=on"
        )
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        out = self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status", check=False)
        return "server is running" in out

    def shutdown(self) -> None:
        """Stop whatever state it is in; never raises (used while cleaning up)."""
        if not self.data.exists():
            return
        try:
            if self.running():
                self.stop("fast")
        except ServerError:
            try:
                self.stop("immediate")
            except ServerError:
                pass


class Rabbit:
    """A RabbitMQ node of our own: its own node name, ports, Erlang cookie, data and config.

    Run as the current user with HOME in the temp dir, so its cookie and
    everything else are separate from the machine's node (which it shares only
    the epmd name server with)."""

    def __init__(self, base: Path, port: int, dist_port: int, node: str) -> None:
        self.dir = base / "rabbit"
        self.port = port
        self.dist_port = dist_port
        self.node = node
        self.pid_file = self.dir / "node.pid"

    @property
    def amqp_uri(self) -> str:
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}/"

    def env(self) -> dict[str, str]:
        d = self.dir
        return {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(d),
            "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(d / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_CRASH_DUMP": str(d / "erl_crash.dump"),  # not in whatever directory the suite ran from
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def init(self) -> None:
        self.dir.mkdir(parents=True)
        # the machine's /etc/rabbitmq files name port 5672: none of them is read
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        (self.dir / "enabled_plugins").write_text("[].\n")  # no management plugin

    def ctl(self, *args: str, timeout: float = 60, check: bool = True) -> str:
        argv = [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args]
        return _run(argv, env=self.env(), timeout=timeout, check=check, cwd=self.dir)

    def start(self, wait: float = 90) -> None:
        self.pid_file.unlink(missing_ok=True)
        _run([str(RABBIT_BIN / "rabbitmq-server"), "-detached"], env=self.env(), timeout=30, cwd=self.dir)
        # `wait` follows the pid file, so it does not race the node's registration with epmd
        self.ctl("wait", str(self.pid_file), "--timeout", str(int(wait)), timeout=wait + 15)

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")

    def stop(self) -> None:
        self.ctl("stop", timeout=60)

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """kill -9 the node's beam process."""
        pid = self.pid()
        if pid is None:
            raise ServerError("the RabbitMQ node's pid file is missing")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)

    def shutdown(self) -> None:
        if not self.dir.exists():
            return
        try:
            self.ctl("stop", timeout=30, check=False)
        except ServerError:
            pass
        pid = self.pid()
        if pid is not None and alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is dead for our purposes
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False
