"""A PgBouncer of a test's own, in transaction mode, in front of the local PostgreSQL.

Debian's `pgbouncer` (deploy/ensure_pgbouncer.sh) on a free port with its own ini and user
list in a temporary folder: trust against 127.0.0.1:5432 (as the test PostgreSQL is), the
pool mode CloudNativePG's Pooler is run in, a small server pool per database and role so
that clients outnumber server connections, and `ignore_startup_parameters = options`
(what CloudNativePG's Pooler sets too): the kit's connections send their timeouts as
startup options, which PgBouncer would otherwise refuse, and the roles carry the same
settings (services.kit.provision), so dropping them changes nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import psycopg2.extras

from services.kit import config

SERVER_POOL_SIZE = 3  # server connections per database and role


def _binary() -> str:
    found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    if found is None:
        raise RuntimeError("pgbouncer is not installed: bash deploy/ensure_pgbouncer.sh")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgBouncer:
    def __init__(self, port: int, folder: Path) -> None:
        self.port, self.folder = port, folder

    def admin(self, command: str) -> list[dict]:
        """A command on PgBouncer's admin console (`SHOW POOLS`, `SHOW STATS` ...)."""
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, dbname="pgbouncer", user="postgres")
        conn.autocommit = True  # the console takes no transactions
        try:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                cursor.execute(command)
                return [dict(row) for row in cursor.fetchall()]
        finally:
            conn.close()

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text() if path.exists() else ""


@contextmanager
def pgbouncer(db_host: str = "127.0.0.1", db_port: int = 5432) -> Iterator[PgBouncer]:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="huiyuan-pgbouncer-"))
    port = free_port()
    users = ["postgres", *(f"huiyuan_{service}" for service in config.SERVICES)]
    (folder / "userlist.txt").write_text("".join(f'"{user}" ""\n' for user in users))
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={db_host} port={db_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = {SERVER_POOL_SIZE}
max_client_conn = 500
ignore_startup_parameters = options
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
"""
    )
    command = [_binary()]
    if os.geteuid() == 0:  # PgBouncer will not run as root
        shutil.chown(folder, "postgres")
        for file in folder.iterdir():
            shutil.chown(file, "postgres")
        command += ["-u", "postgres"]
    process = subprocess.Popen(
        [*command, str(folder / "pgbouncer.ini")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    bouncer = PgBouncer(port, folder)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {process.stderr.read().decode()} {bouncer.log()}")
            try:
                bouncer.admin("SHOW VERSION")
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield bouncer
    finally:
        process.send_signal(signal.SIGINT)  # immediate shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
