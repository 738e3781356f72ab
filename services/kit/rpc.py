"""RPC between services: entrypoints that treat our typed errors as answers,
not crashes, and proxies whose calls have a deadline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy
from nameko.rpc import rpc as nameko_rpc

from contracts.errors import HuiyuanError, ServiceTimeout, ServiceUnavailable
from services.kit.db import answering_outages


def rpc(method: Callable) -> Callable:
    """`@rpc`: typed errors are the caller's business (bad input, not found,
    conflict): nameko still returns them, but logs them as expected, not as
    service failures. A database outage is answered 503, or 504 if it struck
    during COMMIT (`services.kit.db.answering_outages`). (nameko's bare `@rpc`
    form ignores keyword arguments, hence the explicit call.)"""
    return nameko_rpc(expected_exceptions=HuiyuanError)(answering_outages(method))


# a nested call must give up before the gateway does, so the caller gets our answer, not a bare 504
NESTED_TIMEOUT_SHARE = 0.6


class _Deadline:
    """A service proxy whose every call has a deadline and names the missing service."""

    def __init__(self, proxy: Any, service: str, timeout: float) -> None:
        self._proxy, self._service, self._timeout = proxy, service, timeout

    def __getattr__(self, method: str) -> Callable:
        def call(*args: Any, **kwargs: Any) -> Any:
            late = ServiceTimeout(f"The {self._service} service did not answer in time; try again.")
            try:
                with eventlet.Timeout(self._timeout, late):
                    return getattr(self._proxy, method)(*args, **kwargs)
            except UnknownService:
                raise ServiceUnavailable(f"The {self._service} service is not running; try again shortly.") from None

        return call


class ServiceRpc(RpcProxy):
    """`RpcProxy` for calls between our services: a deadline on every call (a
    late reply is dropped by the reply listener), and typed 503/504 errors."""

    def get_dependency(self, worker_ctx) -> _Deadline:
        settings = self.container.config.get("HUIYUAN")
        timeout = (settings.rpc_timeout if settings else 10.0) * NESTED_TIMEOUT_SHARE
        return _Deadline(super().get_dependency(worker_ctx), self.target_service, timeout)
