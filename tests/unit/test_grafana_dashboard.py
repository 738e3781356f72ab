"""The money-path dashboard asks only for what the code exposes, under the labels it carries."""

import json
import re
from pathlib import Path

from gateway import health as gateway_health
from gateway import metrics as gateway_metrics
from services.kit import metrics as service_metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "money-path.json"
SELECTOR = re.compile(r"\b(huiyuan_[a-z0-9_]+)\s*(\{[^}]*\})?")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def defined() -> dict[str, tuple[str, ...]]:
    """Every series the code exposes, with its labels: the services', the gateway's HTTP figures
    and the gateway's per-service health gauges."""
    health = {f"huiyuan_{name}": ("service",) for name in (*gateway_health.FIGURES, "service_up", "database_up")}
    return {**service_metrics.exposed_names(), **gateway_metrics.exposed_names(), **health}


def queries() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    found = []
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel.get("targets"), f"panel {panel['title']!r} has no query"
        found += [(panel["title"], target["expr"]) for target in panel["targets"]]
    return found


def test_every_query_names_metrics_and_labels_the_code_defines():
    series = defined()
    for title, expr in queries():
        names = SELECTOR.findall(expr)
        assert names, f"{title}: {expr} names no huiyuan metric"
        labels_here: set[str] = set()
        for name, selector in names:
            assert name in series, f"{title}: {name} is not defined in the code"
            labels_here |= set(series[name])
            for label, _, _ in MATCHER.findall(selector):
                assert label in series[name], f"{title}: {name} has no label {label!r}"
        for group in GROUPING.findall(expr):
            for label in filter(None, (part.strip() for part in group.split(","))):
                assert label in labels_here, f"{title}: grouped by {label!r}, which its metrics do not carry"


def test_the_money_path_figures_are_all_on_the_board():
    used = {name for _, expr in queries() for name, _ in SELECTOR.findall(expr)}
    wanted = {
        "huiyuan_operations_committed_total",  # money operations per type
        "huiyuan_rpc_duration_seconds_bucket",  # their latency
        "huiyuan_rpc_requests_total",  # errors by code
        "huiyuan_http_requests_total",
        "huiyuan_http_request_duration_seconds_bucket",
        "huiyuan_outbox_backlog_events",
        "huiyuan_outbox_oldest_unsent_age_seconds",
        "huiyuan_outbox_parked_events",
        "huiyuan_inbox_parked_events",
        "huiyuan_event_lag_seconds_bucket",
        "huiyuan_db_pool_connections_in_use",
    }
    assert wanted <= used, wanted - used


def test_the_board_is_well_formed():
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] == "huiyuan-money-path" and board["title"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def test_a_wrong_name_or_label_would_be_caught():
    series = defined()
    assert "huiyuan_rpc_requests" not in series  # a counter is queried as ..._total
    assert (
        "code" in series["huiyuan_rpc_requests_total"] and "code" not in series["huiyuan_rpc_duration_seconds_bucket"]
    )
    assert "le" in series["huiyuan_event_lag_seconds_bucket"]
