"""Lockout after repeated failed sign-ins (O-8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)


@dataclass(frozen=True)
class LockState:
    failed_attempts: int
    locked_until: datetime | None


def is_locked(state: LockState, now: datetime) -> bool:
    return state.locked_until is not None and state.locked_until > now


def after_failure(state: LockState, now: datetime) -> LockState:
    """The fifth consecutive failure locks the account for `LOCK_DURATION`."""
    if state.locked_until is not None and state.locked_until <= now:
        state = LockState(0, None)  # an expired lock starts a fresh count
    failures = state.failed_attempts + 1
    if failures >= MAX_FAILURES:
        return LockState(0, now + LOCK_DURATION)
    return LockState(failures, state.locked_until)
