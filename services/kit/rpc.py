"""RPC between our processes: entrypoints that treat our typed errors as answers,
carry the caller's deadline, and survive a broker that goes away; proxies whose
calls end by that deadline.

Deadlines (non-negotiable 11): the gateway stamps every call with the moment
it stops waiting (`deadline`, epoch milliseconds, in the context data nameko
carries to every nested call). A request that arrives after it is refused
without running (`DeadlineExceeded`); a transaction still open when it passes
is rolled back at commit (`guard_commits`). Together with final idempotent
answers this makes "504, retry with the same key" always safe: a request the
caller gave up on can never take effect later. Clocks of the gateway and the
services are assumed to agree to well under a second (NTP).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import eventlet
from kombu.exceptions import OperationalError as BrokerError
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import UnknownService
from nameko.rpc import Responder, RpcProxy, get_rpc_exchange
from nameko.rpc import Rpc as NamekoRpc

from contracts.errors import DeadlineExceeded, HuiyuanError, ServiceTimeout, ServiceUnavailable
from services.kit.db import answering_outages
from services.kit.deadlines import DEADLINE_KEY, seconds_left
from services.kit.metrics import figures_of
from services.kit.queues import RpcQueueConsumer

log = logging.getLogger(__name__)


class _UnconfirmedPublisher(Publisher):
    use_confirms = False


class _Responder(Responder):
    publisher_cls = _UnconfirmedPublisher


class RpcReplyConsumer(RpcQueueConsumer):
    """Replies are sent without publisher confirms. A confirm only says the broker took the
    reply into the caller's reply queue, which is not durable: it saves nothing a lost reply
    needs (the caller times out and retries with the same key either way), and waiting for
    it cost a broker round trip and CPU on both sides for every answer. nameko's
    `RpcConsumer.handle_result`, with that responder."""

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple:
        config = self.container.config
        responder = _Responder(
            config[AMQP_URI_CONFIG_KEY],
            get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(NamekoRpc):
    """nameko's RPC entrypoint, with two guarantees added.

    - A request delivered after its deadline is answered `DeadlineExceeded` without a
      worker being started: the caller has given up, and doing the work now could only
      surprise it (a till that rang the sale again under a new key).
    - A reply or acknowledgement that cannot be sent because the broker went away is
      logged, not raised: nameko would otherwise treat it as a fatal error and stop the
      whole service. The caller times out and retries with the same key; the request,
      unacknowledged, is delivered again after the broker is back and answered from the
      idempotency record (or refused as late).

    Its queue, `rpc-<service>`, is of the configured type (`services.kit.queues`).
    """

    rpc_consumer = RpcReplyConsumer()

    def handle_message(self, body: dict, message: Any) -> None:
        context = self.unpack_message_headers(message)
        left = seconds_left(context.get(DEADLINE_KEY))
        if left is not None and left <= 0:
            log.warning(
                "%s.%s arrived %.1f s after its deadline: refused", self.container.service_name, self.method_name, -left
            )
            figures = figures_of(self.container)
            if figures is not None:  # no worker runs, so the worker hooks do not see it
                figures.rpc_answered(self.method_name, DeadlineExceeded.code, None)
            try:
                raise DeadlineExceeded()
            except DeadlineExceeded:
                self.handle_result(message, None, None, sys.exc_info())
            return
        super().handle_message(body, message)

    def handle_result(self, message: Any, worker_ctx: Any, result: Any, exc_info: Any) -> tuple:
        try:
            return self.rpc_consumer.handle_result(message, result, exc_info)
        except Exception as exc:  # noqa: BLE001 - the broker connection is gone; see the class docstring
            log.warning(
                "reply to %s.%s not sent (broker away: %r); the caller will retry",
                self.container.service_name,
                self.method_name,
                exc,
            )
            return result, exc_info


def rpc(method: Callable) -> Callable:
    """`@rpc`: typed errors are the caller's business (bad input, not found,
    conflict): nameko still returns them, but logs them as expected, not as
    service failures. A database outage is answered 503, or 504 if it struck
    during COMMIT (`services.kit.db.answering_outages`). (nameko's bare `@rpc`
    form ignores keyword arguments, hence the explicit call.)"""
    return Rpc.decorator(expected_exceptions=HuiyuanError)(answering_outages(method))


# a nested call must give up before the gateway does, so the caller gets our answer, not a bare 504
NESTED_TIMEOUT_SHARE = 0.6


class _Deadline:
    """A service proxy whose every call has a deadline and names the missing service."""

    def __init__(self, proxy: Any, service: str, timeout: float, deadline: Any = None) -> None:
        self._proxy, self._service, self._timeout, self._deadline = proxy, service, timeout, deadline

    def __getattr__(self, method: str) -> Callable:
        def call(*args: Any, **kwargs: Any) -> Any:
            timeout = self._timeout
            left = seconds_left(self._deadline)
            if left is not None:
                if left <= 0:
                    raise DeadlineExceeded()
                timeout = min(timeout, left * NESTED_TIMEOUT_SHARE)
            late = ServiceTimeout(f"The {self._service} service did not answer in time; try again.")
            try:
                with eventlet.Timeout(timeout, late):
                    return getattr(self._proxy, method)(*args, **kwargs)
            except UnknownService:
                raise ServiceUnavailable(f"The {self._service} service is not running; try again shortly.") from None
            except (BrokerError, ConnectionError) as exc:
                # our nested calls are reads made before any change of ours: nothing was done
                log.warning("call to %s.%s failed in transport: %r", self._service, method, exc)
                raise ServiceUnavailable("The message broker is not reachable; try again shortly.") from None

        return call


class ServiceRpc(RpcProxy):
    """`RpcProxy` for calls between our services: a deadline on every call (a
    late reply is dropped by the reply listener), and typed 503/504 errors."""

    def get_dependency(self, worker_ctx) -> _Deadline:
        settings = self.container.config.get("HUIYUAN")
        timeout = (settings.rpc_timeout if settings else 10.0) * NESTED_TIMEOUT_SHARE
        deadline = worker_ctx.data.get(DEADLINE_KEY)
        return _Deadline(super().get_dependency(worker_ctx), self.target_service, timeout, deadline)
