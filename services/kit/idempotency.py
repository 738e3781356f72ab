"""Idempotency records for mutating RPCs (W-9, non-negotiable 5).

The key is claimed inside the caller's transaction. The first request does
the work and stores its answer in the same transaction; a retry with the same
key and the same request gets that answer back; the same key with a different
request is refused. Two concurrent requests with one key serialise on the
primary key: the second waits for the first to commit, then replays its
answer.

A definite answer is final (non-negotiable 11): a refusal the caller sees (a
4xx such as insufficient funds, a frozen card, an unknown card) is stored under
the key too, after the business transaction rolled back, and every retry of
the key gets the same refusal, even if the member has recharged since. Only an
outcome the caller never definitely got (a crash, a timeout, a database or
broker fault: the 5xx family) leaves the key open, so a retry does the work at
most once. If another request with the same key stored its answer first, that
answer is the key's answer and is what this caller gets too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from nameko.exceptions import deserialize, serialize
from sqlalchemy import Select, Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from contracts.errors import HuiyuanError, IdempotencyMismatch, ValidationFailed
from services.kit import direct
from services.kit.crypto import Codec

MAX_KEY_LENGTH = 200


def fingerprint(operation: str, request: Any, key: bytes = b"") -> str:
    """A digest of the request. Keyed (HMAC) when a key is configured: a body
    may hold a password, and a plain hash of it would be a fast offline guess."""
    canonical = json.dumps([operation, request], sort_keys=True, separators=(",", ":"), default=str).encode()
    if key:
        return hmac.new(key, canonical, hashlib.sha256).hexdigest()
    return hashlib.sha256(canonical).hexdigest()


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not (1 <= len(key) <= MAX_KEY_LENGTH):
        raise ValidationFailed(
            "An Idempotency-Key (1 to 200 characters) is required.",
            {"idempotency_key": ["Required, 1 to 200 characters."]},
        )
    return key


SEALED = "sealed"
REFUSAL = "__refusal__"  # an answer that was a refusal; no success answer has this key
NEW_KEY = object()  # no earlier request under the key


def is_definite_refusal(exc: BaseException) -> bool:
    """A refusal the caller sees and can act on: final for its key. A mismatch is about
    another request under the key, not the key's answer, so it is never stored."""
    return isinstance(exc, HuiyuanError) and 400 <= exc.status < 500 and not isinstance(exc, IdempotencyMismatch)


@dataclass(frozen=True)
class KeyedRequest:
    """A request made under an idempotency key, and where its answer is kept.

    `table` is the service's idempotency table; `scope` the chain (or the platform);
    `request` what the key is bound to (a different request under it is a conflict);
    `fingerprint_key` keys the request's digest; `seal`, if given, encrypts the stored
    answer (it may carry personal data)."""

    table: Table
    scope: str
    key: str
    operation: str
    request: Any
    fingerprint_key: bytes = b""
    seal: Codec | None = None

    @property
    def request_hash(self) -> str:
        return fingerprint(self.operation, self.request, self.fingerprint_key)

    def _key(self) -> dict:
        return {"the_scope": self.scope, "the_key": self.key}

    def _stored(self, answer: Any) -> Any:
        if self.seal is None:
            return answer
        return {SEALED: self.seal.encrypt(self.scope, "idempotency", json.dumps(answer))}

    def _claim(self, session: Session, response: Any = None) -> bool:
        """Insert the key's row (with `response`, if known); False if it was there already."""
        row = {
            "scope": self.scope,
            "key": self.key,
            "operation": self.operation,
            "request_hash": self.request_hash,
            "response": response,
        }
        return direct.run(session, _claiming(self.table), row).first() is not None

    def prior(self, session: Session) -> Any:
        """The first answer given under the key (raised again if it was a refusal), or `NEW_KEY`."""
        return self.answer_of(direct.run(session, _reading(self.table), self._key()).first())

    def record_parameters(self) -> dict:
        """The parameters of `record_column`: this key."""
        return {"first_scope": self.scope, "first_key": self.key}

    def answer_of(self, record: Any) -> Any:
        """`prior`'s answer from the key's record (operation, request hash, response; None: no record)."""
        if record is None:
            return NEW_KEY
        operation, request_hash, response = record
        if request_hash != self.request_hash:
            raise IdempotencyMismatch(fields={"idempotency_key": [f"Already used for another {operation} request."]})
        if self.seal is not None and isinstance(response, dict) and set(response) == {SEALED}:
            response = json.loads(self.seal.decrypt(self.scope, "idempotency", response[SEALED]))
        if isinstance(response, dict) and set(response) == {REFUSAL}:
            refusal = deserialize(response[REFUSAL])  # the key was first answered with this refusal
            refusal.huiyuan_unrecorded = False
            raise refusal
        return response

    def once(self, session: Session, action: Callable[[], Any]) -> Any:
        """Run `action` once per key; call inside the business transaction. A retry waits for
        a concurrent first request with the key to commit (the primary key), then replays it."""
        if not self._claim(session):
            return self.prior(session)
        try:
            result = action()
        except HuiyuanError as exc:
            if is_definite_refusal(exc):
                exc.huiyuan_unrecorded = True  # the caller's transaction rolls back; `final_refusals` records it
            raise
        direct.run(session, _answering(self.table), {**self._key(), "response": self._stored(result)})
        return result

    def in_transaction(self, session: Session, action: Callable[[], Any]) -> Any:
        """`once` in its own transaction: commit the change and its answer together, or, if
        `action` raises, neither; a definite refusal is then stored as the key's answer."""

        def run() -> Any:
            with session.begin():
                return self.once(session, action)

        return self.final_refusals(session, run)

    def final_refusals(self, session: Session, run: Callable[[], Any]) -> Any:
        """`run()`, whose definite refusal becomes the key's stored answer. Wraps the checks a
        mutation makes before its transaction (a frozen card, a closed store) as well as the
        transaction itself; call it outside any transaction."""
        try:
            return run()
        except HuiyuanError as exc:
            if not is_definite_refusal(exc) or not getattr(exc, "huiyuan_unrecorded", True):
                raise
            if session.in_transaction():
                session.rollback()
            return self.record_refusal(session, exc)

    def record_refusal(self, session: Session, exc: HuiyuanError) -> Any:
        """Store `exc` as the answer under the key, in a transaction of its own, and raise it.
        If the key already has an answer (a concurrent request with the same key got there
        first), that answer is the key's answer: it is returned, or raised if a refusal."""
        with session.begin():
            if not self._claim(session, self._stored({REFUSAL: serialize(exc)})):
                return self.prior(session)
        exc.huiyuan_unrecorded = False
        raise exc


@cache
def record_column(table: Table) -> Any:
    """A key's record (operation, request hash, response) as a scalar subquery of the parameters
    `KeyedRequest.record_parameters` gives, to be read in one statement with other things;
    `KeyedRequest.answer_of` makes its value the answer `prior` gives. Built once per table."""
    return (
        select(func.json_build_array(table.c.operation, table.c.request_hash, table.c.response))
        .where(table.c.scope == bindparam("first_scope"), table.c.key == bindparam("first_key"))
        .scalar_subquery()
    )


# Built once per table: every mutation runs them (see services.kit.built). A column's own
# name is the SET or VALUES parameter of an UPDATE or INSERT, so the key's are `the_*`.
@cache
def _claiming(table: Table) -> Insert:
    names = ("scope", "key", "operation", "request_hash", "response")
    return (
        insert(table)
        .values({name: bindparam(name) for name in names})
        .on_conflict_do_nothing(index_elements=[table.c.scope, table.c.key])
        .returning(table.c.key)
    )


def _keyed(table: Table) -> tuple:
    return table.c.scope == bindparam("the_scope"), table.c.key == bindparam("the_key")


@cache
def _reading(table: Table) -> Select:
    return select(table.c.operation, table.c.request_hash, table.c.response).where(*_keyed(table))


@cache
def _answering(table: Table) -> Update:
    return update(table).where(*_keyed(table)).values(response=bindparam("response"))
