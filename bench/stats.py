"""The arithmetic of a bench run, kept pure so it is unit tested: percentiles,
one run's summary, medians over rounds and the headline ratios."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The nearest-rank percentile (the smallest value with at least `pct` % of the
    values at or below it); None for no values."""
    if not values:
        return None
    if not 0 < pct <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {pct}")
    ordered = sorted(values)
    rank = math.ceil(pct / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def summarize(latencies_s: Sequence[float], statuses: Iterable[int | str], elapsed_s: float, ok: int) -> dict:
    """One scenario run: throughput counts every answered request, latency in ms,
    errors by status (everything not `ok`, and 'exc' for a request with no answer)."""
    counts = Counter(str(s) for s in statuses)
    errors = {status: n for status, n in sorted(counts.items()) if status != str(ok)}
    n = len(latencies_s)

    def ms(pct: float) -> float | None:
        value = percentile(latencies_s, pct)
        return None if value is None else round(value * 1000, 1)

    return {
        "requests": n,
        "ok": counts.get(str(ok), 0),
        "errors": errors,
        "req_per_s": round(n / elapsed_s, 1) if elapsed_s > 0 else 0.0,
        "p50_ms": ms(50),
        "p95_ms": ms(95),
        "p99_ms": ms(99),
    }


def median_of(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def combine_rounds(runs: Sequence[Mapping]) -> dict:
    """The median over rounds of each figure; errors summed; CPU per request the
    median per process."""
    figures = ("req_per_s", "p50_ms", "p95_ms", "p99_ms")
    combined: dict = {f: median_of(r.get(f) for r in runs) for f in figures}
    errors: Counter = Counter()
    for r in runs:
        errors.update(r.get("errors", {}))
    combined["errors"] = dict(sorted(errors.items()))
    combined["requests"] = sum(r.get("requests", 0) for r in runs)
    combined["rounds"] = len(runs)
    processes = sorted({p for r in runs for p in r.get("cpu_ms_per_req", {})})
    combined["cpu_ms_per_req"] = {p: median_of(r.get("cpu_ms_per_req", {}).get(p) for r in runs) for p in processes}
    combined["cpu_ms_per_req_total"] = median_of(r.get("cpu_ms_per_req_total") for r in runs)
    combined["lag_lost"] = sum(r.get("lag_lost", 0) for r in runs)
    for name in ("lag_ms", "points_lag_ms"):
        lags = [lag for r in runs for lag in r.get(name, [])]
        if lags:
            combined[name] = lag_summary(lags)
    return combined


def lag_summary(lags: Sequence[float]) -> dict | None:
    return {"samples": len(lags), "p50": percentile(lags, 50), "max": max(lags)} if lags else None


def cpu_per_request(cpu_ms: Mapping[str, float], requests: int) -> dict[str, float]:
    """CPU ms per request for each process group (None of them when nothing was answered)."""
    if requests <= 0:
        return {}
    return {name: round(ms / requests, 2) for name, ms in cpu_ms.items()}


def ratio(numerator: float | None, denominator: float | None, scale: float = 1.0) -> float | None:
    """numerator ÷ denominator × scale, None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator * scale, 3)


def headline(rounds: Mapping[int, Mapping[str, float]], consume: str, pgbench: str, floor: str) -> dict:
    """The headline ratios, from figures of the same round (req/s by scenario name):
    consumes per 1,000 pgbench tps and consume ÷ transport floor, each the median over
    the rounds that measured both sides."""
    per_pgbench = [ratio(r.get(consume), r.get(pgbench), 1000) for r in rounds.values()]
    per_floor = [ratio(r.get(consume), r.get(floor)) for r in rounds.values()]
    return {
        "consume_per_1000_pgbench_tps": median_of(per_pgbench),
        "consume_over_floor": median_of(per_floor),
    }
