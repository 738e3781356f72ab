"""Structured JSON logs that carry the request's correlation id.

The gateway takes `X-Request-Id` (or makes one) and puts it in the RPC context
data; nameko copies context data into every nested RPC and into our outbox
events, so one id follows a request through every service. Under eventlet
`threading.local` is greenlet-local, so each worker sees its own id.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import traceback
import uuid
from datetime import UTC, datetime

from nameko.extensions import DependencyProvider

CORRELATION_KEY = "correlation_id"
_local = threading.local()


def get_correlation_id() -> str | None:
    return getattr(_local, "correlation_id", None)


def set_correlation_id(value: str | None) -> None:
    _local.correlation_id = value


def new_correlation_id() -> str:
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": self.component,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": get_correlation_id(),
        }
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = value
        if record.exc_info:
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(component: str, level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(JsonFormatter(component))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {component} %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kombu and amqp chatter drowns the service's own lines
    for noisy in ("kombu", "amqp", "nameko.messaging"):
        logging.getLogger(noisy).setLevel("WARNING")


class CorrelationId(DependencyProvider):
    """Makes the worker's correlation id available to logs, RPCs and events."""

    def get_dependency(self, worker_ctx) -> str:
        # nameko injects dependencies before `worker_setup`, so the id is settled here
        correlation_id = worker_ctx.data.get(CORRELATION_KEY) or new_correlation_id()
        worker_ctx.data[CORRELATION_KEY] = correlation_id
        set_correlation_id(correlation_id)
        return correlation_id

    def worker_teardown(self, worker_ctx) -> None:
        set_correlation_id(None)
