"""The bench's arithmetic: percentiles, one run's summary, medians over rounds, ratios."""

import pytest

from bench import stats


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert stats.percentile(values, 50) == 50.0
    assert stats.percentile(values, 95) == 95.0
    assert stats.percentile(values, 99) == 99.0
    assert stats.percentile(values, 100) == 100.0
    # 10 values: p95 is the 10th (ceil(9.5)), p50 the 5th
    ten = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 1.0]
    assert stats.percentile(ten, 50) == 0.5
    assert stats.percentile(ten, 95) == 1.0
    assert stats.percentile([], 50) is None
    with pytest.raises(ValueError):
        stats.percentile(ten, 0)


def test_summary_counts_every_answer_and_errors_by_status():
    latencies = [0.010, 0.020, 0.030, 0.040]
    summary = stats.summarize(latencies, [201, 201, 409, "exc"], elapsed_s=2.0, ok=201)
    assert summary["requests"] == 4
    assert summary["ok"] == 2
    assert summary["errors"] == {"409": 1, "exc": 1}
    assert summary["req_per_s"] == 2.0
    assert (summary["p50_ms"], summary["p95_ms"], summary["p99_ms"]) == (20.0, 40.0, 40.0)


def test_rounds_combine_to_medians_with_errors_summed():
    runs = [
        {"req_per_s": 40.0, "p50_ms": 170, "errors": {"409": 1}, "requests": 400, "cpu_ms_per_req": {"wallet": 10.0}},
        {"req_per_s": 44.0, "p50_ms": 150, "errors": {}, "requests": 440, "cpu_ms_per_req": {"wallet": 14.0}},
        {
            "req_per_s": 50.0,
            "p50_ms": 160,
            "errors": {"409": 2, "504": 1},
            "requests": 500,
            "lag_ms": [30.0, 10.0],
            "points_lag_ms": [45.0, 25.0, 35.0],
            "lag_lost": 1,
        },
    ]
    combined = stats.combine_rounds(runs)
    assert combined["req_per_s"] == 44.0
    assert combined["p50_ms"] == 160
    assert combined["errors"] == {"409": 3, "504": 1}
    assert combined["requests"] == 1340
    assert combined["cpu_ms_per_req"] == {"wallet": 12.0}  # the two rounds that measured it
    assert combined["lag_ms"] == {"samples": 2, "p50": 10.0, "max": 30.0}
    assert combined["points_lag_ms"] == {"samples": 3, "p50": 35.0, "max": 45.0}
    assert combined["lag_lost"] == 1


def test_cpu_per_request():
    assert stats.cpu_per_request({"wallet": 1230.0, "postgres": 410.0}, 41) == {"wallet": 30.0, "postgres": 10.0}
    assert stats.cpu_per_request({"wallet": 5.0}, 0) == {}


def test_headline_ratios_are_taken_round_by_round():
    rounds = {
        1: {"consume.stores": 42.0, "pgbench": 5250.0, "floor": 600.0},
        2: {"consume.stores": 40.0, "pgbench": 5000.0, "floor": 500.0},
        3: {"consume.stores": 45.0, "pgbench": 5000.0},  # no floor this round
    }
    figures = stats.headline(rounds, "consume.stores", "pgbench", "floor")
    # per 1,000 tps: 8.0, 8.0, 9.0 -> 8.0; ÷ floor: 0.07, 0.08 -> 0.075
    assert figures == {"consume_per_1000_pgbench_tps": 8.0, "consume_over_floor": 0.075}
    assert stats.ratio(1.0, 0.0) is None
    assert stats.ratio(None, 3.0) is None
