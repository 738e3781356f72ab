"""Where the figures are served and how they are named: the metrics port of a service process
(the runner's 9100, off in the test suite, one each under `make run`), answer codes, and the
gateway's counts summed over its gunicorn workers."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.errors import InsufficientFunds
from deploy.run_all import Child, Supervisor, banner, build_children, metrics_ports
from services.kit import config
from services.kit.metrics import answer_code
from services.kit.runner import process_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("given", "port"), [(None, 9100), ("", 9100), (" ", 9100), ("9105", 9105), ("0", None), ("65535", 65535)]
)
def test_the_metrics_port_of_a_variable(given, port):
    assert config.metrics_port(given) == port


@pytest.mark.parametrize("given", ["abc", "-1", "65536", "9100.5"])
def test_a_metrics_port_that_is_no_port_is_refused_by_name(given):
    with pytest.raises(ValueError, match="HUIYUAN_METRICS_PORT"):
        config.metrics_port(given)


def test_settings_serve_no_metrics_unless_told_but_a_service_process_serves_them_on_9100(monkeypatch):
    monkeypatch.delenv("HUIYUAN_METRICS_PORT", raising=False)
    assert config.load().metrics_port is None  # the test suite hosts every service in one process
    assert process_settings().metrics_port == 9100  # services.kit.runner: what the manifests probe
    monkeypatch.setenv("HUIYUAN_METRICS_PORT", "9123")
    assert config.load().metrics_port == process_settings().metrics_port == 9123
    monkeypatch.setenv("HUIYUAN_METRICS_PORT", "0")
    assert process_settings().metrics_port is None
    monkeypatch.setenv("HUIYUAN_METRICS_HOST", "127.0.0.1")
    assert config.load().metrics_host == "127.0.0.1"


def test_make_run_gives_each_service_its_own_port_on_this_machine_and_prints_them():
    ports = metrics_ports({})
    assert ports == {name: 9101 + i for i, name in enumerate(config.SERVICES)}
    assert ports["org"] == 9101 and ports["notification"] == 9107
    assert metrics_ports({"HUIYUAN_METRICS_BASE_PORT": "9201"})["member"] == 9202
    assert metrics_ports({"HUIYUAN_METRICS_PORT": "0"}) == {}  # all off
    children = {child.name: child for child in build_children("python", env={})}
    assert children["wallet"].env == {"HUIYUAN_METRICS_PORT": "9103", "HUIYUAN_METRICS_HOST": "127.0.0.1"}
    assert children["gateway"].env == {}  # the gateway's /metrics is on its own HTTP port
    off = {child.name: child for child in build_children("python", env={"HUIYUAN_METRICS_PORT": "0"})}
    assert off["wallet"].env["HUIYUAN_METRICS_PORT"] == "0"
    text = banner("http://127.0.0.1:8000", {}, ports)
    assert "http://127.0.0.1:8000/metrics (gateway)" in text
    assert "wallet        http://127.0.0.1:9103/metrics" in text


def test_a_child_is_started_with_its_own_variables_over_the_shared_ones():
    exits_with_port = [sys.executable, "-c", "import os, sys; sys.exit(int(os.environ['HUIYUAN_METRICS_PORT']) - 9100)"]
    child = Child("wallet", exits_with_port, {"HUIYUAN_METRICS_PORT": "9103"})
    supervisor = Supervisor([child], {"HUIYUAN_METRICS_PORT": "9100", "PATH": os.environ["PATH"]})
    supervisor.start()
    assert child.process.wait(timeout=20) == 3


def test_an_answer_is_counted_under_ok_its_code_or_internal_error():
    assert answer_code(None) == "ok"
    assert answer_code((InsufficientFunds, InsufficientFunds(), None)) == "insufficient_funds"
    assert answer_code((ValueError, ValueError("a bug"), None)) == "internal_error"


COUNT_ONE = """
from gateway.metrics import HttpFigures
figures = HttpFigures()
figures.requests.labels("/api/v1/x", "POST", "{status}").inc()
figures.duration.labels("/api/v1/x", "POST").observe(0.01)
"""
SHOW = "import sys; from gateway.metrics import HttpFigures; sys.stdout.write(HttpFigures().exposition().decode())"


def test_the_gateway_sums_the_counts_of_every_gunicorn_worker(tmp_path):
    """Three worker processes (one gone already) count; a fourth answers /metrics with the sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    for status in ("201", "201", "409"):
        subprocess.run([sys.executable, "-c", COUNT_ONE.format(status=status)], env=env, check=True, timeout=60)
    shown = subprocess.run(
        [sys.executable, "-c", SHOW], env=env, check=True, timeout=60, capture_output=True, text=True
    )
    lines = shown.stdout.splitlines()
    assert 'huiyuan_http_requests_total{method="POST",route="/api/v1/x",status="201"} 2.0' in lines
    assert 'huiyuan_http_requests_total{method="POST",route="/api/v1/x",status="409"} 1.0' in lines
    assert 'huiyuan_http_request_duration_seconds_count{method="POST",route="/api/v1/x"} 3.0' in lines
