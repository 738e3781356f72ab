from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

from services.org import lockout, passwords, tokens
from services.org.lockout import LockState

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_fifth_consecutive_failure_locks_for_fifteen_minutes():
    state = LockState(0, None)
    for expected in (1, 2, 3, 4):
        state = lockout.after_failure(state, NOW)
        assert state == LockState(expected, None)
        assert not lockout.is_locked(state, NOW)
    state = lockout.after_failure(state, NOW)
    assert state.locked_until == NOW + timedelta(minutes=15)
    assert lockout.is_locked(state, NOW + timedelta(minutes=14, seconds=59))
    assert not lockout.is_locked(state, NOW + timedelta(minutes=15))


def test_after_an_expired_lock_the_count_starts_again():
    expired = LockState(0, NOW - timedelta(seconds=1))
    assert lockout.after_failure(expired, NOW) == LockState(1, None)


def test_passwords_are_argon2id_at_owasp_cost():
    hashed = passwords.hash_password("counter-password-1")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify_password(hashed, "counter-password-1")
    assert not passwords.verify_password(hashed, "counter-password-2")
    assert not passwords.verify_password(None, "anything")
    assert not passwords.needs_rehash(hashed)
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("x")
    assert passwords.needs_rehash(weaker)


def test_tokens_are_random_and_stored_only_as_a_hash():
    a, b = tokens.new_token(), tokens.new_token()
    assert a != b and len(a) >= 43
    assert tokens.token_hash(a) != a and len(tokens.token_hash(a)) == 64
