"""The bench's Markdown and its choice of database and broker."""

import pytest

from bench import options, report


def test_markdown_table_and_cells():
    table = report.markdown_table(["scenario", "req/s", "p99 ms"], [["floor", 606.04, None], ["consume", 41.5, 445.0]])
    assert table.splitlines() == [
        "| scenario | req/s | p99 ms |",
        "|---|---|---|",
        "| floor | 606.04 | – |",
        "| consume | 41.5 | 445 |",
    ]


def test_process_columns_keep_their_order_and_a_second_wallet_sits_by_the_first():
    results = [{"cpu_ms_per_req": {"rabbitmq": 1, "wallet#2": 1, "client": 1, "gateway": 1, "wallet": 1, "zz": 1}}]
    assert report.process_columns(results) == ["gateway", "wallet", "wallet#2", "rabbitmq", "zz"]


def test_a_consume_row_shows_its_lags_to_the_spend_and_to_the_points_and_what_was_lost():
    row = {
        "scenario": "consume.stores",
        "clients": 8,
        "cpu_ms_per_req": {"wallet": 9.5, "client": 2.6},
        "lag_ms": {"samples": 47, "p50": 83.8, "max": 508.1},
        "points_lag_ms": {"samples": 46, "p50": 61.2, "max": 250.0},
        "lag_lost": 1,
    }
    header, _, line = report.results_table([row, {"scenario": "floor", "clients": 8}]).splitlines()[:3]
    assert header.endswith("| client | lag to spend, p50 / max ms | lag to points, p50 / max ms |")
    assert line.endswith("| 9.5 | 2.6 | 83.8 / 508.1 (47) | 61.2 / 250 (46), 1 lost |")
    assert report.results_table([row, {"scenario": "floor", "clients": 8}]).splitlines()[3].endswith("| – | – |")


def test_each_instance_must_take_a_real_share():
    assert report.all_took_work({"wallet": 4380.0, "wallet#2": 4420.0})
    assert not report.all_took_work({"wallet": 9000.0, "wallet#2": 100.0})  # under a fifth of 4550
    assert not report.all_took_work({})


def test_database_named_by_the_environment_never_make_runs():
    assert options.choose_database({}) == ("huiyuan_bench", "default")
    assert options.choose_database({"HUIYUAN_DB_NAME": "perf"}) == ("perf", "HUIYUAN_DB_NAME")
    named = {"HUIYUAN_DB_NAME": "perf", "HUIYUAN_BENCH_DB_NAME": "b2"}
    assert options.choose_database(named) == ("b2", "HUIYUAN_BENCH_DB_NAME")
    with pytest.raises(SystemExit, match="make run"):
        options.choose_database({"HUIYUAN_DB_NAME": "huiyuan"})


def test_broker_vhost_from_the_uri_and_the_root_vhost_is_never_used():
    assert options.choose_broker({"HUIYUAN_AMQP_URI": "pyamqp://g:p@h:5672/perf"}) == (
        "pyamqp://g:p@h:5672/perf",
        "perf",
        False,
    )
    assert options.choose_broker({"HUIYUAN_AMQP_URI": "pyamqp://g:p@h:5672/"}) == (
        "pyamqp://g:p@h:5672/huiyuan_bench",
        "huiyuan_bench",
        True,
    )
    assert options.choose_broker({"HUIYUAN_AMQP_URI": "pyamqp://g:p@h:5672/%2F"})[1] == "huiyuan_bench"


def test_scenarios_chosen_by_name_or_kind_and_one_store_skipped_at_one_client():
    opts = options.load({"HUIYUAN_BENCH_ONLY": "consume,floor", "HUIYUAN_BENCH_CLIENTS": "1,8"})
    assert opts.clients == (1, 8)
    assert opts.scenarios_at(1) == ["floor", "consume.stores"]
    assert opts.scenarios_at(8) == ["floor", "consume.stores", "consume.onestore"]
    with pytest.raises(SystemExit, match="unknown"):
        options.load({"HUIYUAN_BENCH_ONLY": "consum"})
    with pytest.raises(SystemExit):
        options.load({"HUIYUAN_BENCH_CLIENTS": "0,8"})


def test_json_is_one_line_per_record_and_reads_back():
    import json

    document = {"meta": {"started": "x"}, "runs": [{"scenario": "floor", "req_per_s": 606.0}, {"scenario": "c"}]}
    text = report.to_json(document)
    assert json.loads(text) == document
    assert '  {"scenario": "floor", "req_per_s": 606.0},' in text.splitlines()
