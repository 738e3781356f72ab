"""Password hashing with argon2id at OWASP's recommended cost.

OWASP (Password Storage Cheat Sheet): argon2id, m=19 MiB, t=2, p=1. Hashing
is CPU work of some tens of milliseconds; it runs in a real OS thread
(eventlet's tpool) so it does not stall the service's other workers.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from eventlet import tpool

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)

# Verified against when the username is unknown, so a miss costs as much as a
# wrong password and timing does not reveal which usernames exist.
_DUMMY_HASH = HASHER.hash("not-a-real-password-but-the-same-cost")


def hash_password(password: str) -> str:
    return tpool.execute(HASHER.hash, password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return tpool.execute(HASHER.verify, password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
