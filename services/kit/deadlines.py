"""Deadlines: the moment a caller stops waiting, carried with every RPC (non-negotiable 11).

The gateway stamps each call with `deadline` (epoch milliseconds) in the context
data nameko carries to every nested call. `services.kit.rpc.Rpc` refuses a
request delivered after it; `guard_commits` rolls back a transaction of an RPC
still open when it passes. Clocks of the gateway and the services are assumed
to agree to well under a second (NTP).
"""

from __future__ import annotations

import time
from typing import Any

from nameko.rpc import Rpc as NamekoRpc
from sqlalchemy import event
from sqlalchemy.orm import Session

from contracts.errors import DeadlineExceeded

DEADLINE_KEY = "deadline"  # in the worker context's data: epoch milliseconds


def deadline_after(seconds: float) -> int:
    """The deadline of a call that its caller waits `seconds` for."""
    return int((time.time() + seconds) * 1000)


def seconds_left(deadline: Any) -> float | None:
    """Seconds until `deadline` (negative once passed); None for a call without one."""
    if deadline is None:
        return None
    try:
        return float(deadline) / 1000 - time.time()
    except (TypeError, ValueError):
        return None


def guard_commits(session: Session, worker_ctx: Any) -> None:
    """Roll back, instead of committing, a transaction of an RPC whose deadline has
    passed: its caller has been told the outcome is unknown and may already be retrying.
    (A read-only transaction is refused too: nobody waits for its answer any more.)"""
    if not isinstance(worker_ctx.entrypoint, NamekoRpc):
        return  # event handlers have no caller waiting; they must finish their work
    deadline = worker_ctx.data.get(DEADLINE_KEY)
    if seconds_left(deadline) is None:
        return

    def refuse_late_commit(session: Session) -> None:
        left = seconds_left(deadline)
        if left is not None and left <= 0:
            raise DeadlineExceeded("The request ran past its deadline and was rolled back; retry with the same key.")

    event.listen(session, "before_commit", refuse_late_commit)
