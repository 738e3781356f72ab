"""What `/ready` and `/metrics` show: every service's `health`, asked of all at once.

Each probe has a short deadline and they run in parallel, so the answer comes
within about `PROBE_TIMEOUT` seconds even when every service, or the broker,
is away. The probes use their own small RPC pool with that deadline, apart
from the pool that serves requests (whose deadline is the request timeout).
"""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor, wait

import falcon

from contracts.errors import ServiceTimeout
from gateway.metrics import HttpFigures
from gateway.rpc import RpcPool
from services.kit.config import Settings

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 1.5  # seconds a service has to answer its health check
# the figures a service reports, each a gauge in /metrics
FIGURES = {
    "outbox_unsent": "Events written but not yet published.",
    "outbox_oldest_unsent_seconds": "Age of the oldest event not yet published (0 when none).",
    "outbox_parked": "Outbox events the broker kept refusing, parked until an operator releases them.",
    "events_parked": "Incoming events given up on, parked in event_failures until replayed.",
}


class Probe:
    def __init__(self, settings: Settings, services: tuple[str, ...], timeout: float = PROBE_TIMEOUT) -> None:
        self.services = services
        self.timeout = timeout
        self.pool = RpcPool(dataclasses.replace(settings, rpc_timeout=timeout))

    def _one(self, service: str, correlation_id: str | None) -> dict:
        try:
            answer = self.pool.call(service, "health", correlation_id=correlation_id)
        except ServiceTimeout:
            return {"status": "timeout", "database": None}
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return {"status": getattr(exc, "error_code", "error"), "database": None}
        figures = answer.get("figures") or {}
        status = "ok" if answer.get("database") else "database_unavailable"
        return {"status": status, "database": bool(answer.get("database")), **figures}

    def check(self, correlation_id: str | None = None) -> dict[str, dict]:
        """Every service's state, within about `timeout` seconds whatever happens."""
        executor = ThreadPoolExecutor(max_workers=len(self.services), thread_name_prefix="probe")
        try:
            futures = {service: executor.submit(self._one, service, correlation_id) for service in self.services}
            wait(futures.values(), timeout=self.timeout + 0.3)
        finally:
            # a probe stuck on an unreachable broker is left to finish on its own
            executor.shutdown(wait=False, cancel_futures=True)
        return {
            service: future.result() if future.done() else {"status": "timeout", "database": None}
            for service, future in futures.items()
        }


class Ready:
    """200 when every service answers and reaches its database; 503 otherwise, saying which."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        checks = self.probe.check(req.context.request_id)
        ready = all(c["status"] == "ok" for c in checks.values())
        resp.status = 200 if ready else 503
        resp.media = {"status": "ready" if ready else "not_ready", "services": checks}


def prometheus_text(checks: dict[str, dict]) -> str:
    """The checks as Prometheus gauges, one sample per service (text format 0.0.4)."""
    lines: list[str] = []

    def gauge(name: str, help_text: str, samples: dict[str, float]) -> None:
        lines.append(f"# HELP huiyuan_{name} {help_text}")
        lines.append(f"# TYPE huiyuan_{name} gauge")
        for service, value in samples.items():
            lines.append(f'huiyuan_{name}{{service="{service}"}} {value:g}')

    gauge(
        "service_up",
        "1 when the service answered its health check in time.",
        {s: int(c["database"] is not None) for s, c in checks.items()},
    )
    gauge(
        "database_up",
        "1 when the service reached its database.",
        {s: int(bool(c["database"])) for s, c in checks.items()},
    )
    for figure, help_text in FIGURES.items():
        # a service that did not answer has no figures: no sample, rather than a false zero
        gauge(figure, help_text, {s: c[figure] for s, c in checks.items() if figure in c})
    return "\n".join(lines) + "\n"


class Metrics:
    """The gateway's HTTP figures (every gunicorn worker's), then every service's health gauges.
    (Each service process serves its own fuller figures on its metrics port.)"""

    def __init__(self, probe: Probe, http: HttpFigures) -> None:
        self.probe = probe
        self.http = http

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8"
        checks = prometheus_text(self.probe.check(req.context.request_id))
        resp.text = self.http.exposition().decode() + checks
