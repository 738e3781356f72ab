"""The gateway's own Prometheus figures: HTTP requests and latency by route and status.

Under gunicorn there are several worker processes, each counting what it serves.
`gateway/gunicorn_conf.py` gives them prometheus-client's multiprocess mode: each
worker writes its counts to files in one directory (`PROMETHEUS_MULTIPROC_DIR`,
made afresh per gunicorn master under `var/gateway-metrics/`), and `/metrics`, in
whichever worker answers it, sums every worker's files, the dead ones' included (a
counter never goes down because a worker was recycled). Without that variable (the
tests' in-process app) the figures are this app's own.

The route is the route's template (`/api/v1/chains/{chain_id}/wallet/consumes`), never
the path, so ids do not make new series; a path no route serves is `unmatched`.
"""

from __future__ import annotations

import os
import time

import falcon
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from services.kit.metrics import LATENCY_BUCKETS, exposed_series

disable_created_metrics()

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"
# any other method (anyone can send one) is counted as "other", so it cannot make new series
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

COUNTERS = {"huiyuan_http_requests": ("HTTP requests by route, method and status.", ("route", "method", "status"))}
HISTOGRAMS = {
    "huiyuan_http_request_duration_seconds": ("HTTP request latency by route and method.", ("route", "method"))
}


def exposed_names() -> dict[str, tuple[str, ...]]:
    """What the gateway's HTTP figures expose: series name to labels."""
    return exposed_series(COUNTERS, HISTOGRAMS, {})


class HttpFigures:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter("huiyuan_http_requests", *COUNTERS["huiyuan_http_requests"], registry=self.registry)
        self.duration = Histogram(
            "huiyuan_http_request_duration_seconds",
            *HISTOGRAMS["huiyuan_http_request_duration_seconds"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """Prometheus text of every worker's counts (multiprocess mode), else of this app's."""
        if os.environ.get(MULTIPROCESS_VARIABLE):
            registry = CollectorRegistry(auto_describe=False)
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


class CountRequests:
    """Middleware, first in the list: its response hook runs last, when the status is final."""

    def __init__(self, figures: HttpFigures) -> None:
        self.figures = figures

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_started = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource, req_succeeded: bool) -> None:
        started = req.context.get("metrics_started")
        route = req.uri_template or UNMATCHED
        method = req.method if req.method in METHODS else "other"
        self.figures.requests.labels(route, method, str(resp.status_code)).inc()
        if started is not None:
            self.figures.duration.labels(route, method).observe(time.perf_counter() - started)
