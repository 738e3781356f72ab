"""Rows read by sequential scans over a run, per table (from `pg_stat_user_tables`).

A statement whose cost grows with the chain's history rather than with the request (a refund
that scanned every lot move to find its consume's) shows here as a table read in full,
request after request. A small table read whole is the planner's right choice; a large one
read per request is a missing index or a statement the planner cannot drive by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import Engine

# an idle backend hands its counters to the statistics collector within this many seconds
STATS_FLUSH_SECONDS = 11.0
SHOWN = 10

_QUERY = "SELECT schemaname || '.' || relname, seq_scan, seq_tup_read, n_live_tup FROM pg_stat_user_tables"


@dataclass(frozen=True)
class Counters:
    scans: int
    rows_read: int
    live_rows: int


def snapshot(engine: Engine) -> dict[str, Counters]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(_QUERY).all()
    return {name: Counters(scans or 0, read or 0, live or 0) for name, scans, read, live in rows}


def read_in_full(before: Mapping[str, Counters], after: Mapping[str, Counters], requests: int) -> list[dict]:
    """The tables most read by sequential scans between the snapshots: scans per 1,000 money
    requests, rows read per money request, and the table's live rows at the end."""
    if requests <= 0:
        return []
    found = []
    for name, now in after.items():
        then = before.get(name, Counters(0, 0, 0))
        read = now.rows_read - then.rows_read
        if read > 0:
            found.append(
                {
                    "table": name,
                    "scans_per_1000": round(1000 * (now.scans - then.scans) / requests, 1),
                    "rows_per_request": round(read / requests, 1),
                    "live_rows": now.live_rows,
                }
            )
    return sorted(found, key=lambda t: -t["rows_per_request"])[:SHOWN]
