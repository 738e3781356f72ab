"""The run's results as Markdown and JSON under bench/results/."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# CPU columns in this order, when present; anything else after them
PROCESS_ORDER = ("gateway", "org", "member", "wallet", "postgres", "pg-aux", "rabbitmq", "floor-gw", "floor-svc")
HIDDEN = ("client", "supervisor")  # in the JSON; the total counts the supervisor, never the client


def cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 100 or value == int(value) else f"{value:.3g}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def ordered(groups: Sequence[str] | Mapping[str, object]) -> list[str]:
    """Process groups in the report's order (gateway, services, database, broker...), others after."""

    def key(group: str) -> tuple[int, str]:
        base = group.split("#")[0]  # a second instance (wallet#2) next to the first
        return (PROCESS_ORDER.index(base) if base in PROCESS_ORDER else len(PROCESS_ORDER), group)

    return sorted(set(groups), key=key)


def process_columns(results: Sequence[Mapping]) -> list[str]:
    return ordered({p for r in results for p in r.get("cpu_ms_per_req", {}) if p not in HIDDEN})


def errors_text(errors: Mapping[str, int]) -> str:
    return ", ".join(f"{status}×{n}" for status, n in errors.items()) or "0"


def _lag(lag: Mapping | None) -> str:
    return f"{cell(lag['p50'])} / {cell(lag['max'])} ({lag['samples']})" if lag else "–"


def results_table(results: Sequence[Mapping]) -> str:
    columns = process_columns(results)
    headers = ["scenario", "clients", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "CPU ms/req, all"]
    headers += [f"{c}" for c in columns] + ["client", "lag to spend, p50 / max ms", "lag to points, p50 / max ms"]
    rows = []
    for r in results:
        per = r.get("cpu_ms_per_req", {})
        rows.append(
            [
                r["scenario"],
                r["clients"],
                r.get("req_per_s"),
                r.get("p50_ms"),
                r.get("p95_ms"),
                r.get("p99_ms"),
                errors_text(r.get("errors", {})),
                r.get("cpu_ms_per_req_total"),
                *[per.get(c) for c in columns],
                per.get("client"),
                _lag(r.get("lag_ms")),
                _lag(r.get("points_lag_ms")) + (f", {r['lag_lost']} lost" if r.get("lag_lost") else ""),
            ]
        )
    return markdown_table(headers, rows)


def headline_table(headlines: Mapping[str, Mapping]) -> str:
    rows = [
        [name, h.get("clients"), h.get("consume_per_1000_pgbench_tps"), h.get("consume_over_floor")]
        for name, h in headlines.items()
    ]
    return markdown_table(["consume", "clients", "per 1,000 pgbench tps", "÷ transport floor"], rows)


def all_took_work(shares: Mapping[str, float]) -> bool:
    """True when each instance's CPU is at least a fifth of an even split of the total."""
    total = sum(shares.values())
    return bool(shares) and total > 0 and min(shares.values()) >= total / len(shares) / 5


def render(report: Mapping) -> str:
    meta, options = report["meta"], report["options"]
    peaks = {g: report["peak_rss_mb"][g] for g in ordered(report["peak_rss_mb"])}
    parts = [
        f"# Bench {meta['started']}",
        "",
        f"Commit `{meta['commit']}`, {meta['cpus']} CPUs, load average {meta['load_before']} before the run"
        + (f" and {meta['load_after']} after it" if "load_after" in meta else "")
        + (f"; it took {meta['took_s']} s. " if "took_s" in meta else ". ")
        + f"Database `{options['db_name']}` ({options['db_named_by']}), vhost `{options['vhost']}`, "
        + f"pgbench scale {options['pgbench_scale']} in `{options['pgbench_db']}`. "
        f"{options['rounds']} round(s) of {options['seconds']:g} s per scenario, interleaved; each figure is the "
        f"median over rounds (errors summed). Wallet instances: {options['wallets']}.",
        "",
        "## Headline (same rounds)",
        "",
        headline_table(report["headline"]),
        "",
        "## Scenarios",
        "",
        "CPU is ms per request (pgbench: per transaction) from /proc utime+stime of each process group; "
        "`all` sums every group but the client (the bench itself, or pgbench). "
        "`postgres` is the client backends of the database measured; `pg-aux` the cluster's background "
        "processes; `rabbitmq` the whole broker. Lag: from a consume's answer to the member service's "
        "cumulative spend reflecting it, and to the points service's earning on it (samples; a sample "
        "not seen within 30 s is counted as lost).",
        "",
        results_table(report["results"]),
        "",
        "## Peak memory (VmHWM, MB; the largest process of each group)",
        "",
        markdown_table(list(peaks), [list(peaks.values())]),
        "",
    ]
    if report.get("wallet_instances"):
        shares = report["wallet_instances"]
        parts += [
            "## Wallet instances (CPU ms in the money scenarios)",
            "",
            markdown_table(list(shares), [list(shares.values())]),
            "",
            f"Every instance took work (at least a fifth of an even share of CPU): "
            f"{'yes' if all_took_work(shares) else 'NO'}.",
            "",
        ]
    scanned = report.get("sequential_scans") or []
    if scanned:
        parts += [
            "## Tables read by sequential scans (the whole run, per money request)",
            "",
            "From `pg_stat_user_tables` before the first scenario and after the last: a small table read "
            "whole is the planner's right choice; a large one read per request is a statement whose cost "
            "grows with the chain's history.",
            "",
            markdown_table(
                ["table", "scans per 1,000 requests", "rows read per request", "live rows"],
                [[t["table"], t["scans_per_1000"], t["rows_per_request"], t["live_rows"]] for t in scanned],
            ),
            "",
        ]
    audit = report["audit"]
    parts += ["## Audit", "", "clean" if not audit else "\n".join(f"- {line}" for line in audit), ""]
    return "\n".join(parts)


def to_json(document: Mapping) -> str:
    """The document with one line per top-level key, and per item of a list of records
    (each run, each result): small, and a diff shows which figures moved."""
    items = list(document.items())
    lines = ["{"]
    for n, (key, value) in enumerate(items):
        comma = "," if n < len(items) - 1 else ""
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            inner = ",\n".join("  " + json.dumps(v, ensure_ascii=False) for v in value)
            lines.append(f" {json.dumps(key)}: [\n{inner}\n ]{comma}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    return "\n".join(lines) + "\n}\n"


def write(report: Mapping, directory: Path = RESULTS) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report["meta"]["started"].replace(":", "").replace("-", "").replace(" ", "-")
    markdown = render(report)
    as_json = to_json(report)
    md_path, json_path = directory / f"bench-{stamp}.md", directory / f"bench-{stamp}.json"
    for path, content in ((md_path, markdown), (json_path, as_json)):
        path.write_text(content)
    (directory / "latest.md").write_text(markdown)
    (directory / "latest.json").write_text(as_json)
    return md_path, json_path
