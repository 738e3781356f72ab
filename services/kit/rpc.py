"""RPC entrypoints that treat our typed errors as answers, not crashes."""

from __future__ import annotations

from collections.abc import Callable

from nameko.rpc import rpc as nameko_rpc

from contracts.errors import HuiyuanError


def rpc(method: Callable) -> Callable:
    """`@rpc`: typed errors are the caller's business (bad input, not found,
    conflict): nameko still returns them, but logs them as expected, not as
    service failures. (nameko's bare `@rpc` form ignores keyword arguments,
    hence the explicit call.)"""
    return nameko_rpc(expected_exceptions=HuiyuanError)(method)
