"""Prometheus figures of a service process, and its probes: `/metrics`, `/health`, `/ready`.

Every service class gets the `Metrics` dependency through the `HealthCheck` mixin. It counts,
per container (so the test suite, which runs many services in one process, keeps them apart):

- every RPC by method and answer code (`ok`, or the typed error's `code` from `contracts.errors`,
  `internal_error` for anything untyped; a request refused unrun after its deadline counts as
  `deadline_exceeded`), with its latency; hooked once in `worker_setup`/`worker_result`;
- every event handled, by handler, with its lag from the moment the relay published it (an
  event an operator replays from the parked ones carries no stamp and is counted without lag);
- every mutation committed (`services.kit.mutation`), by operation: the wallet's money operations;
- on scrape, with no SQL on the request path: the database pools in use, the busy workers, and
  the outbox backlog, its oldest unsent age and the parked events (one short read through the
  relay's own connection, at most every `FIGURES_MAX_AGE` seconds however often it is scraped).

The process serves them on `HUIYUAN_METRICS_PORT` (the runner's default 9100; 0 turns it off;
the test suite's settings leave it unset, so off) from a small eventlet WSGI server, one per
port, shared by the services a process hosts:

- `/metrics`: Prometheus text, every hosted service's figures plus the process's CPU and memory;
- `/health`: 200 while the process answers at all ("alive": restart it when this fails);
- `/ready`: 200 when every hosted service can take work: its consumer is connected to the
  broker and its database answers `SELECT 1`; 503 with the reason otherwise.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from weakref import WeakKeyDictionary

import eventlet
import eventlet.wsgi
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy.orm import Session

from services.kit.config import DEFAULT_METRICS_HOST

log = logging.getLogger(__name__)

# `_created` series double every counter's output and no dashboard of ours reads them
disable_created_metrics()

# the header the relay stamps on every event it publishes (epoch seconds); nameko hands a
# message's headers to the handling worker as context data, without the "nameko." prefix
PUBLISHED_AT_KEY = "published_at"
PUBLISHED_AT_HEADER = f"nameko.{PUBLISHED_AT_KEY}"
# the outbox figures are read at most this often, however often /metrics is scraped
FIGURES_MAX_AGE = 2.0

# an RPC answers in milliseconds; a slow one is a database wait or a nested call's timeout
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# an event normally arrives in milliseconds; minutes when a consumer was down or the event was retried
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

# every metric a service process defines: name in the exposition, help, labels (the dashboard's
# test checks each of its queries against these and `gateway.metrics`'s)
COUNTERS = {
    "huiyuan_rpc_requests": (
        "RPC requests by method and answer code (ok, or the error code).",
        ("service", "method", "code"),
    ),
    "huiyuan_events_handled": (
        "Events by handler: ok (acknowledged: handled, a duplicate, or parked) or error (back on the queue).",
        ("service", "handler", "outcome"),
    ),
    "huiyuan_operations_committed": (
        "Mutations committed, by operation (a replayed answer is not counted).",
        ("service", "operation"),
    ),
    "huiyuan_outbox_published": ("Events the relay published.", ("service",)),
}
HISTOGRAMS = {
    "huiyuan_rpc_duration_seconds": (
        "RPC latency by method, from the worker's start to its reply.",
        ("service", "method"),
    ),
    "huiyuan_event_lag_seconds": (
        "From the relay publishing an event to its handler finishing with it.",
        ("service", "handler"),
    ),
}
GAUGES = {
    "huiyuan_outbox_backlog_events": ("Events written but not yet published (parked ones excluded).", ("service",)),
    "huiyuan_outbox_oldest_unsent_age_seconds": (
        "Age of the oldest event not yet published (0 when none).",
        ("service",),
    ),
    "huiyuan_outbox_parked_events": ("Outgoing events parked after the broker kept refusing them.", ("service",)),
    "huiyuan_inbox_parked_events": ("Incoming events given up on and parked in event_failures.", ("service",)),
    "huiyuan_db_pool_connections_in_use": ("Database connections checked out of the pool.", ("service", "pool")),
    "huiyuan_db_pool_connections_max": ("The most connections the pool may hold.", ("service", "pool")),
    "huiyuan_workers_busy": ("nameko workers running now.", ("service",)),
    "huiyuan_workers_max": ("nameko workers the service may run at once (max_workers).", ("service",)),
    "huiyuan_service_ready": (
        "1 when the consumer is connected to the broker and the database answered its last check.",
        ("service",),
    ),
}
# the gauges read from the outbox figures (services.kit.outbox.backlog)
_FIGURE_GAUGES = {
    "outbox_unsent": "huiyuan_outbox_backlog_events",
    "outbox_oldest_unsent_seconds": "huiyuan_outbox_oldest_unsent_age_seconds",
    "outbox_parked": "huiyuan_outbox_parked_events",
    "events_parked": "huiyuan_inbox_parked_events",
}


def exposed_series(counters: dict, histograms: dict, gauges: dict) -> dict[str, tuple[str, ...]]:
    """Every series name the definitions expose (counters' `_total`, histograms' parts), with the
    labels it may carry."""
    series = {f"{name}_total": labels for name, (_, labels) in counters.items()}
    series |= {name: labels for name, (_, labels) in gauges.items()}
    for name, (_, labels) in histograms.items():
        series |= {f"{name}_bucket": (*labels, "le"), f"{name}_sum": labels, f"{name}_count": labels}
    return series


def exposed_names() -> dict[str, tuple[str, ...]]:
    """What a service process exposes: series name to labels."""
    return exposed_series(COUNTERS, HISTOGRAMS, GAUGES)


class Figures:
    """One container's counters, and what it reads on scrape. Also what `self.metrics` is in a
    worker (mutations count their commits through it)."""

    def __init__(self, service: str, container: Any) -> None:
        self.service = service
        self.container = container
        # not registered anywhere: the port's registry collects every hosted container's
        self.rpc_requests = _counter("huiyuan_rpc_requests")
        self.rpc_duration = _histogram("huiyuan_rpc_duration_seconds", LATENCY_BUCKETS)
        self.events_handled = _counter("huiyuan_events_handled")
        self.event_lag = _histogram("huiyuan_event_lag_seconds", LAG_BUCKETS)
        self.operations = _counter("huiyuan_operations_committed")
        self.outbox_published = _counter("huiyuan_outbox_published")
        self._counted = (
            self.rpc_requests,
            self.rpc_duration,
            self.events_handled,
            self.event_lag,
            self.operations,
            self.outbox_published,
        )
        self._figures: dict | None = None
        self._database: bool | None = None
        self._figures_at = float("-inf")
        self.broker: BrokerWatch = BrokerWatch()

    # -- counted on the hot path: a dict look-up and an add each

    def rpc_answered(self, method: str, code: str, seconds: float | None) -> None:
        self.rpc_requests.labels(self.service, method, code).inc()
        if seconds is not None:
            self.rpc_duration.labels(self.service, method).observe(seconds)

    def event_handled(self, handler: str, ok: bool, lag_seconds: float | None) -> None:
        self.events_handled.labels(self.service, handler, "ok" if ok else "error").inc()
        if ok and lag_seconds is not None:
            self.event_lag.labels(self.service, handler).observe(max(lag_seconds, 0.0))

    def committed(self, operation: str) -> None:
        self.operations.labels(self.service, operation).inc()

    def published(self, count: int) -> None:
        if count:
            self.outbox_published.labels(self.service).inc(count)

    # -- read on scrape

    def _engine(self) -> Any:
        """The relay's engine if the service has an outbox (its one connection is idle between
        batches), else the workers' (a service without events out, such as reporting)."""
        from services.kit.db import Database
        from services.kit.outbox import Outbox

        for kind in (Outbox, Database):
            for dependency in self.container.dependencies:
                if isinstance(dependency, kind) and getattr(dependency, "engine", None) is not None:
                    return dependency.engine
        return None

    def check_database(self) -> dict | None:
        """`services.kit.health.check` through `_engine()`: `{"database": bool, "figures": ...}`,
        or None for a service without a database."""
        from services.kit.health import check

        engine = self._engine()
        kit_tables = getattr(self.container.service_cls, "kit_tables", None)
        if engine is None or kit_tables is None:
            return None
        session = Session(bind=engine)
        try:
            answer = check(session, kit_tables)
        finally:
            session.close()
        self._figures, self._database, self._figures_at = answer["figures"], answer["database"], time.monotonic()
        return answer

    def figures(self) -> dict | None:
        if time.monotonic() - self._figures_at >= FIGURES_MAX_AGE:
            self.check_database()
        return self._figures

    def readiness(self) -> dict:
        """Can the service take work: its consumer connected, its database answering."""
        checked = self.check_database()
        database = None if checked is None else checked["database"]
        broker = self.broker.connected
        stopping = not getattr(self.container, "started", True)
        return {
            # None: nothing to consume, or no database: nothing that could be away
            "ready": broker is not False and database is not False and not stopping,
            "broker": broker,
            "database": database,
        }

    def collect(self) -> Iterator[Metric]:
        for metric in self._counted:
            yield from metric.collect()
        yield from self._gauges()

    def _gauges(self) -> Iterator[Metric]:
        def gauge(name: str, samples: Iterable[tuple[tuple[str, ...], float]]) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, GAUGES[name][0], labels=GAUGES[name][1])
            for values, value in samples:
                family.add_metric([self.service, *values], value)
            return family

        from services.kit.db import Database
        from services.kit.outbox import Outbox

        pools = []
        for dependency in self.container.dependencies:
            engine = getattr(dependency, "engine", None)
            if engine is not None and isinstance(dependency, Outbox | Database):
                pools.append(("relay" if isinstance(dependency, Outbox) else "workers", engine.pool))
        yield gauge("huiyuan_db_pool_connections_in_use", [((n,), p.checkedout()) for n, p in pools])
        yield gauge("huiyuan_db_pool_connections_max", [((n,), p.size() + p._max_overflow) for n, p in pools])
        yield gauge("huiyuan_workers_busy", [((), len(getattr(self.container, "_worker_threads", ())))])
        yield gauge("huiyuan_workers_max", [((), self.container.max_workers)])
        try:
            figures = self.figures()
        except Exception:  # noqa: BLE001 - a scrape must answer; the figures are simply missing
            log.warning("metrics: the outbox figures could not be read", exc_info=True)
            figures = None
        # unknown (the database away) is no sample rather than a false zero
        for key, name in _FIGURE_GAUGES.items():
            yield gauge(name, [((), figures[key])] if figures else [])
        ready = self.broker.connected is not False and self._database is not False
        yield gauge("huiyuan_service_ready", [((), int(ready))])


def _counter(name: str) -> Counter:
    return Counter(name, *COUNTERS[name], registry=None)


def _histogram(name: str, buckets: tuple[float, ...]) -> Histogram:
    return Histogram(name, *HISTOGRAMS[name], buckets=buckets, registry=None)


class BrokerWatch:
    """Whether a container's consumer holds a broker connection, told by the consumer itself:
    kombu calls `on_consume_ready` after every (re)connection and `on_connection_error` on each
    failed attempt to make one. No round trip of its own."""

    def __init__(self) -> None:
        self.consumers = 0
        self.connected_consumers: set[int] = set()

    @property
    def connected(self) -> bool | None:
        """None when the container consumes nothing."""
        if self.consumers == 0:
            return None
        return len(self.connected_consumers) == self.consumers

    def attach(self, queue_consumer: Any) -> None:
        ident = id(queue_consumer)
        self.consumers += 1
        ready, failed = queue_consumer.on_consume_ready, queue_consumer.on_connection_error

        def on_consume_ready(*args: Any, **kwargs: Any) -> Any:
            self.connected_consumers.add(ident)
            return ready(*args, **kwargs)

        def on_connection_error(exc: Exception, interval: float) -> Any:
            self.connected_consumers.discard(ident)
            return failed(exc, interval)

        queue_consumer.on_consume_ready = on_consume_ready
        queue_consumer.on_connection_error = on_connection_error


def _queue_consumers(container: Any) -> list[Any]:
    found: dict[int, Any] = {}
    for entrypoint in container.entrypoints:
        for consumer in (
            getattr(getattr(entrypoint, "rpc_consumer", None), "queue_consumer", None),
            getattr(entrypoint, "queue_consumer", None),
        ):
            if consumer is not None:
                found[id(consumer)] = consumer
    return list(found.values())


FIGURES_ATTRIBUTE = "huiyuan_figures"


def figures_of(container: Any) -> Figures | None:
    """The container's `Figures`, for the extensions that see only their container (a late RPC, the relay)."""
    return getattr(container, FIGURES_ATTRIBUTE, None)


class Metrics(DependencyProvider):
    """The container's `Figures` (injected as `self.metrics`), counted around every worker."""

    def setup(self) -> None:
        self.figures = Figures(self.container.service_name, self.container)
        # on the container itself (extensions hold it through a weak proxy)
        setattr(self.container, FIGURES_ATTRIBUTE, self.figures)
        for queue_consumer in _queue_consumers(self.container):
            self.figures.broker.attach(queue_consumer)
        settings = self.container.config.get("HUIYUAN")
        self.port = getattr(settings, "metrics_port", None)
        self.host = getattr(settings, "metrics_host", DEFAULT_METRICS_HOST)
        self.started: WeakKeyDictionary = WeakKeyDictionary()

    def start(self) -> None:
        if self.port:
            serve(self.host, self.port, self.figures)

    def stop(self) -> None:
        if self.port:
            leave(self.port, self.figures)

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> Figures:
        return self.figures

    def worker_setup(self, worker_ctx: Any) -> None:
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self.started.pop(worker_ctx, None)
        seconds = None if started is None else time.perf_counter() - started
        entrypoint = worker_ctx.entrypoint
        if isinstance(entrypoint, Rpc):
            self.figures.rpc_answered(entrypoint.method_name, answer_code(exc_info), seconds)
        elif isinstance(entrypoint, EventHandler):
            published_at = worker_ctx.data.get(PUBLISHED_AT_KEY)
            lag = time.time() - float(published_at) if isinstance(published_at, int | float) else None
            batch = worker_ctx.args[0] if worker_ctx.args and isinstance(worker_ctx.args[0], list) else None
            if batch is None:
                self.figures.event_handled(entrypoint.method_name, exc_info is None, lag)
                return
            # a batch of deliveries (kit handlers): each counted, with the first's (the oldest's) lag;
            # the worker answers per delivery whether it goes back on the queue
            again = result if exc_info is None and isinstance(result, list) else [True] * len(batch)
            for requeued in again:
                self.figures.event_handled(entrypoint.method_name, not requeued, lag)


def answer_code(exc_info: Any) -> str:
    """`ok`, the typed error's code, or `internal_error` for an error that is not ours."""
    if exc_info is None:
        return "ok"
    return getattr(exc_info[1], "error_code", None) or "internal_error"


# -- the process's HTTP server, one per port, shared by the containers it hosts


class _Port:
    def __init__(self, host: str, port: int) -> None:
        self.hosted: list[Figures] = []
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Hosted(self))
        # the process's own CPU, memory, open files, and Python's collections
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.socket = eventlet.listen((host, port))
        self.thread = eventlet.spawn(
            eventlet.wsgi.server, self.socket, self.app, log_output=False, max_size=64, socket_timeout=10
        )

    def close(self) -> None:
        self.thread.kill()
        self.socket.close()

    def app(self, environ: dict, start_response: Callable) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _answer(start_response, 405, {"error": "method_not_allowed"})
        if path == "/metrics":
            body = generate_latest(self.registry)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_PLAIN_0_0_4), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/health":
            return _answer(start_response, 200, {"status": "alive", "services": [f.service for f in self.hosted]})
        if path == "/ready":
            services = {}
            for figures in list(self.hosted):
                try:
                    services[figures.service] = figures.readiness()
                except Exception as exc:  # noqa: BLE001 - not ready, and why
                    services[figures.service] = {"ready": False, "error": repr(exc)[:200]}
            ready = bool(services) and all(s["ready"] for s in services.values())
            return _answer(start_response, 200 if ready else 503, {"ready": ready, "services": services})
        return _answer(start_response, 404, {"error": "not_found", "paths": ["/metrics", "/health", "/ready"]})


def _answer(start_response: Callable, status: int, body: dict) -> list[bytes]:
    reasons = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
    data = json.dumps(body).encode()
    start_response(
        f"{status} {reasons[status]}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


class _Hosted:
    """Collects every hosted container's figures as one family per name (the exposition format
    allows a name once)."""

    def __init__(self, port: _Port) -> None:
        self.port = port

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for figures in list(self.port.hosted):
            for family in figures.collect():
                if family.name in merged:
                    merged[family.name].samples.extend(family.samples)
                else:
                    copy = Metric(family.name, family.documentation, family.type, family.unit)
                    copy.samples = list(family.samples)
                    merged[family.name] = copy
        return iter(merged.values())


_ports: dict[int, _Port] = {}


def serve(host: str, port: int, figures: Figures) -> None:
    """Serve `figures` on `port`, starting its server if this is the first container there. A
    port that cannot be bound is logged, not fatal: the service's work matters more."""
    server = _ports.get(port)
    if server is None:
        try:
            server = _ports[port] = _Port(host, port)
        except OSError as exc:
            log.error("metrics: cannot listen on %s:%s (%s); this process serves no /metrics", host, port, exc)
            return
        log.info("metrics: /metrics, /health and /ready on %s:%s", host, port)
    server.hosted.append(figures)


def leave(port: int, figures: Figures) -> None:
    server = _ports.get(port)
    if server is None:
        return
    if figures in server.hosted:
        server.hosted.remove(figures)
    if not server.hosted:
        _ports.pop(port, None)
        server.close()
