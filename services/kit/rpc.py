"""RPC entrypoints that treat our typed errors as answers, not crashes."""
from __future__ import annotations

from functools import partial

from nameko.rpc import rpc as nameko_rpc

from contracts.errors import HuiyuanError

# Typed errors are the caller's business (bad input, not found, conflict):
# nameko still returns them, but does not log them as service failures.
rpc = partial(nameko_rpc, expected_exceptions=HuiyuanError)
