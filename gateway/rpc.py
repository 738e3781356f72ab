"""A per-process pool of started nameko RPC proxies.

A standalone proxy must not be shared between threads, and starting one per
request costs a broker round trip, so each gunicorn worker process keeps its
own pool, made lazily after fork. A proxy that timed out may still receive the
late reply, so it is thrown away rather than reused.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from typing import Any

from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from contracts.errors import HuiyuanError, ServiceTimeout, ServiceUnavailable
from services.kit.config import Settings
from services.kit.logs import CORRELATION_KEY, new_correlation_id

log = logging.getLogger(__name__)


class RpcPool:
    def __init__(self, settings: Settings) -> None:
        self.config = {"AMQP_URI": settings.amqp_uri, "serializer": "json"}
        self.timeout = settings.rpc_timeout
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def _fresh_after_fork(self) -> None:
        # proxies made before a fork share the parent's broker sockets
        with self._lock:
            if self._pid != os.getpid():
                self._idle = queue.LifoQueue()
                self._pid = os.getpid()

    def _acquire(self) -> tuple[ClusterRpcProxy, Any]:
        self._fresh_after_fork()
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            runner = ClusterRpcProxy(self.config, context_data={}, timeout=self.timeout)
            return runner, runner.start()

    def _discard(self, runner: ClusterRpcProxy) -> None:
        try:
            runner.stop()
        except Exception:  # noqa: BLE001 - it is being thrown away anyway
            log.debug("stopping a discarded RPC proxy failed", exc_info=True)

    def call(self, service: str, method: str, *args: Any, correlation_id: str | None = None) -> Any:
        """Call `service.method(*args)`; typed errors pass through, transport
        failures become 503/504, anything else a generic 500."""
        try:
            runner, proxy = self._acquire()
        except Exception as exc:  # noqa: BLE001 - broker down
            log.warning("cannot reach the broker: %r", exc)
            raise ServiceUnavailable("The message broker is not reachable; try again shortly.") from None
        runner._worker_ctx.data[CORRELATION_KEY] = correlation_id or new_correlation_id()
        keep = True
        try:
            return getattr(getattr(proxy, service), method)(*args)
        except HuiyuanError:
            raise
        except UnknownService:
            raise ServiceUnavailable(f"The {service} service is not running; try again shortly.") from None
        except RpcTimeout:
            keep = False
            raise ServiceTimeout() from None
        except RemoteError as exc:
            log.error("%s.%s failed: %s", service, method, exc)
            raise HuiyuanError() from None
        except Exception as exc:  # noqa: BLE001 - connection trouble: this proxy is suspect
            keep = False
            log.warning("RPC %s.%s failed in transport: %r", service, method, exc)
            raise ServiceUnavailable() from None
        finally:
            if keep:
                self._idle.put((runner, proxy))
            else:
                self._discard(runner)

    def close(self) -> None:
        while True:
            try:
                runner, _ = self._idle.get_nowait()
            except queue.Empty:
                return
            self._discard(runner)
