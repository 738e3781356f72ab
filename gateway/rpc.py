"""A per-process pool of started nameko RPC proxies, and what a failed call means.

A standalone proxy must not be shared between threads, and starting one per
request costs a broker round trip, so each gunicorn worker process keeps its
own pool, made lazily after fork. A proxy that timed out may still receive the
late reply, so it is thrown away rather than reused; a transport failure
throws away every idle proxy, since they all talk to the same broker.

Every call carries its deadline (now + the RPC timeout): a service refuses a
request that reaches it later and rolls back a transaction still open then
(`services.kit.rpc`). A failure is reported by what the caller can conclude:

- 503 `service_unavailable`: the request certainly did not reach a service
  (no broker connection could be made, no instance of the service exists);
  nothing was done.
- 504 `outcome_unknown`: the request may have reached the service (a timeout,
  a connection lost after sending). Only a retry with the same
  Idempotency-Key is safe; it gets the first outcome or does the work once.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Sequence
from typing import Any

from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from nameko.rpc import MethodProxy
from nameko.standalone.rpc import ClusterRpcProxy

from contracts.errors import HuiyuanError, ServiceTimeout, ServiceUnavailable
from services.kit.config import Settings
from services.kit.deadlines import DEADLINE_KEY, deadline_after
from services.kit.logs import CORRELATION_KEY, new_correlation_id

log = logging.getLogger(__name__)

# the failures kombu retried past in this thread's publish (its `errback`). One function for every
# call: kombu copies the retry policy into the connection's options, which key its pools, so a
# function made per call would make a pool, and a broker connection, per call
_publishing = threading.local()


def _retried_past(failure: BaseException, _interval: float) -> None:
    failures = getattr(_publishing, "failures", None)
    if failures is not None:
        failures.append(failure)


# a publish to a broker that has just restarted reconnects once, quickly; a broker that
# stays away fails the call well inside the deadline instead of after kombu's default waits
PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
    "errback": _retried_past,
}


def never_sent(exc: BaseException, earlier: Sequence[BaseException] = ()) -> bool:
    """True when a failed publish certainly did not hand the request to the broker: every
    attempt failed to connect (refused, or the name did not resolve). `earlier`: the failures
    of the attempts before the last (kombu retries a publish on a new connection). One that
    failed otherwise (reset, broken, timed out) may have written the request before the
    broker went away, and the broker may have delivered it: the outcome is not known."""
    return all(_refused(failure) for failure in (*earlier, exc))


def _refused(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError | socket.gaierror):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


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

    def _acquire(self, timeout: float) -> ClusterRpcProxy:
        self._fresh_after_fork()
        try:
            runner = self._idle.get_nowait()
        except queue.Empty:
            runner = ClusterRpcProxy(self.config, context_data={}, timeout=timeout)
            runner.start()
        runner._reply_listener.queue_consumer.timeout = timeout
        return runner

    def _discard(self, runner: ClusterRpcProxy) -> None:
        try:
            runner.stop()
        except Exception:  # noqa: BLE001 - it is being thrown away anyway
            log.debug("stopping a discarded RPC proxy failed", exc_info=True)

    def call(
        self,
        service: str,
        method: str,
        *args: Any,
        correlation_id: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Call `service.method(*args)` and wait at most `timeout` (the configured RPC
        timeout by default); typed errors pass through, transport failures become 503
        (nothing was sent) or 504 (outcome unknown), anything else a generic 500."""
        timeout = self.timeout if timeout is None else timeout
        try:
            runner = self._acquire(timeout)
        except Exception as exc:  # noqa: BLE001 - no broker connection: nothing was sent
            log.warning("cannot reach the broker: %r", exc)
            raise ServiceUnavailable(
                "The message broker is not reachable; nothing was done. Try again shortly."
            ) from None
        context = runner._worker_ctx.data
        context[CORRELATION_KEY] = correlation_id or new_correlation_id()
        context[DEADLINE_KEY] = deadline_after(timeout)
        proxy = MethodProxy(
            runner._worker_ctx, service, method, runner._reply_listener, retry_policy=PUBLISH_RETRY_POLICY
        )
        keep = False
        try:
            _publishing.failures = attempts = []
            try:
                reply = proxy.call_async(*args)
            except UnknownService:
                keep = True
                raise ServiceUnavailable(f"The {service} service is not running; nothing was done.") from None
            except Exception as exc:  # noqa: BLE001 - the publish failed: was it sent?
                log.warning("RPC %s.%s failed to publish: %r", service, method, exc)
                self._discard_idle()
                if never_sent(exc, attempts):
                    raise ServiceUnavailable("The message broker is not reachable; nothing was done.") from None
                raise ServiceTimeout() from None
            finally:
                _publishing.failures = None
            try:
                result = reply.result()
            except HuiyuanError:
                keep = True
                raise
            except RpcTimeout:
                raise ServiceTimeout() from None
            except RemoteError as exc:
                keep = True
                log.error("%s.%s failed: %s", service, method, exc)
                raise HuiyuanError() from None
            except Exception as exc:  # noqa: BLE001 - connection lost while waiting: the request was sent
                log.warning("RPC %s.%s lost its reply: %r", service, method, exc)
                self._discard_idle()
                raise ServiceTimeout() from None
            keep = True
            return result
        finally:
            if keep:
                self._idle.put(runner)
            else:
                self._discard(runner)

    def _discard_idle(self) -> None:
        """The broker connection failed: the idle proxies share its fate."""
        while True:
            try:
                runner = self._idle.get_nowait()
            except queue.Empty:
                return
            self._discard(runner)

    def close(self) -> None:
        self._discard_idle()
