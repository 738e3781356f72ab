"""Password hashing with argon2id at OWASP's recommended cost.

OWASP (Password Storage Cheat Sheet): argon2id, m=19 MiB, t=2, p=1. Hashing
is CPU work of some tens of milliseconds; it runs in a real OS thread
(eventlet's tpool) so it does not stall the service's other workers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from eventlet import tpool
from eventlet.semaphore import Semaphore

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)

# Verified against when the username is unknown, so a miss costs as much as a
# wrong password and timing does not reveal which usernames exist.
_DUMMY_HASH = HASHER.hash("not-a-real-password-but-the-same-cost")


# Memory: each hash takes 19 MiB. At most this many run at once (they are CPU work: more than
# the machine's cores only queue inside the thread pool, each holding its 19 MiB), and glibc is
# told to give such blocks straight back to the system: by default it raises its mmap threshold
# after the first one is freed, and every pool thread's arena then keeps 19 MiB for ever
# (org peaked at 385 MB after a burst of sign-ins).
CONCURRENT_HASHES = max(1, min(4, os.cpu_count() or 1))
_hashing = Semaphore(CONCURRENT_HASHES)
M_MMAP_THRESHOLD = -3  # mallopt(3)


def _return_big_blocks() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 1024 * 1024)  # fixed: blocks above 1 MiB are mmapped, freed at once
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


_return_big_blocks()


def _in_pool(fn, *args):
    with _hashing:
        return tpool.execute(fn, *args)


def hash_password(password: str) -> str:
    return _in_pool(HASHER.hash, password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _in_pool(HASHER.verify, password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
