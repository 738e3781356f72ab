"""PostgreSQL's own `pgbench` TPC-B, the anchor the money path is measured against:
`-M prepared -c N -j 2 -T secs` on a scratch database of its own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

FALLBACK = "/usr/lib/postgresql/15/bin/pgbench"


def binary() -> str:
    found = shutil.which("pgbench") or (FALLBACK if os.path.exists(FALLBACK) else None)
    if found is None:
        raise SystemExit("pgbench not found: apt-get install -y postgresql-contrib (or postgresql-client)")
    return found


def connection(admin_url: str, database: str) -> tuple[list[str], dict[str, str]]:
    """pgbench's connection arguments and environment from the superuser's SQLAlchemy URL."""
    url = make_url(admin_url)
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres", database]
    env = {**os.environ, "PGPASSWORD": url.password} if url.password else dict(os.environ)
    return args, env


def initialise(admin_url: str, database: str, scale: int) -> None:
    args, env = connection(admin_url, database)
    command = [binary(), "-i", "-q", "-s", str(scale), *args]
    subprocess.run(command, check=True, capture_output=True, env=env, timeout=600)


def parse_output(text: str) -> dict:
    """tps, transactions processed and failed from pgbench's report."""

    def number(pattern: str) -> float | None:
        found = re.search(pattern, text)
        return float(found.group(1)) if found else None

    return {
        "tps": number(r"tps = ([0-9.]+) \(without initial connection time\)"),
        "processed": int(number(r"number of transactions actually processed: (\d+)") or 0),
        "failed": int(number(r"number of failed transactions: (\d+)") or 0),
    }


def parse_log_latencies(lines: list[str]) -> list[float]:
    """Per-transaction latencies in seconds from pgbench's `-l` log (third field, µs)."""
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 3:
            found.append(int(fields[2]) / 1_000_000)
    return found


def run(admin_url: str, database: str, clients: int, seconds: float) -> dict:
    """One timed run: tps, counts and every transaction's latency."""
    args, env = connection(admin_url, database)
    with tempfile.TemporaryDirectory(prefix="huiyuan-pgbench-") as logs:
        command = [
            binary(),
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            str(min(2, clients)),
            "-T",
            str(max(1, round(seconds))),
            "-l",
            f"--log-prefix={logs}/tx",
            *args,
        ]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 120)
        if done.returncode != 0:
            raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr.strip()[-400:]}")
        lines: list[str] = []
        for path in Path(logs).iterdir():
            lines.extend(path.read_text().splitlines())
    return {**parse_output(done.stdout), "latencies": parse_log_latencies(lines)}
