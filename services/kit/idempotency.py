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
from typing import Any

from nameko.exceptions import deserialize, serialize
from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.errors import HuiyuanError, IdempotencyMismatch, ValidationFailed
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


def once(
    session: Session,
    table: Table,
    *,
    scope: str | None,
    key: str,
    operation: str,
    request: Any,
    action: Callable[[], Any],
    fingerprint_key: bytes = b"",
    seal: Codec | None = None,
) -> Any:
    """Run `action` once per (scope, key); call inside the business transaction.

    With `seal`, the stored answer is encrypted: an answer may carry personal
    data that must not sit in the table in clear."""
    key = check_key(key)
    scope = scope or "-"
    request_hash = fingerprint(operation, request, fingerprint_key)
    claimed = session.execute(
        insert(table)
        .values(scope=scope, key=key, operation=operation, request_hash=request_hash)
        .on_conflict_do_nothing(index_elements=[table.c.scope, table.c.key])
        .returning(table.c.key)
    ).first()
    if claimed is None:
        return _replayed(_prior(session, table, scope, key), request_hash, seal, scope)
    try:
        result = action()
    except HuiyuanError as exc:
        if is_definite_refusal(exc):
            exc.huiyuan_unrecorded = True  # the caller's transaction rolls back; `in_transaction` records it
        raise
    session.execute(
        update(table).where(table.c.scope == scope, table.c.key == key).values(response=_stored(result, seal, scope))
    )
    return result


SEALED = "sealed"
REFUSAL = "__refusal__"  # an answer that was a refusal; no success answer has this key


def is_definite_refusal(exc: BaseException) -> bool:
    """A refusal the caller sees and can act on: final for its key. A mismatch is about
    another request under the key, not the key's answer, so it is never stored."""
    return isinstance(exc, HuiyuanError) and 400 <= exc.status < 500 and not isinstance(exc, IdempotencyMismatch)


def _stored(answer: Any, seal: Codec | None, scope: str) -> Any:
    return {SEALED: seal.encrypt(scope, "idempotency", json.dumps(answer))} if seal is not None else answer


def record_refusal(
    session: Session,
    table: Table,
    exc: HuiyuanError,
    *,
    scope: str | None,
    key: str,
    operation: str,
    request: Any,
    fingerprint_key: bytes = b"",
    seal: Codec | None = None,
) -> Any:
    """Store `exc` as the answer under `key`, in a transaction of its own, and raise it.
    If the key already has an answer (a concurrent request with the same key got there
    first), that answer is the key's answer: it is returned, or raised if a refusal."""
    scope = scope or "-"
    request_hash = fingerprint(operation, request, fingerprint_key)
    refusal = _stored({REFUSAL: serialize(exc)}, seal, scope)
    with session.begin():
        stored = session.execute(
            insert(table)
            .values(scope=scope, key=key, operation=operation, request_hash=request_hash, response=refusal)
            .on_conflict_do_nothing(index_elements=[table.c.scope, table.c.key])
            .returning(table.c.key)
        ).first()
        if stored is None:
            return _replayed(_prior(session, table, scope, key), request_hash, seal, scope)
    exc.huiyuan_unrecorded = False
    raise exc


def _prior(session: Session, table: Table, scope: str, key: str) -> Any:
    return session.execute(
        select(table.c.operation, table.c.request_hash, table.c.response).where(
            table.c.scope == scope, table.c.key == key
        )
    ).first()


def _replayed(prior: Any, request_hash: str, seal: Codec | None, scope: str) -> Any:
    """The earlier answer, if the earlier request was this one; else a conflict."""
    if prior.request_hash != request_hash:
        raise IdempotencyMismatch(fields={"idempotency_key": [f"Already used for another {prior.operation} request."]})
    response = prior.response
    if seal is not None and isinstance(response, dict) and set(response) == {SEALED}:
        response = json.loads(seal.decrypt(scope, "idempotency", response[SEALED]))
    if isinstance(response, dict) and set(response) == {REFUSAL}:
        refusal = deserialize(response[REFUSAL])  # the key was first answered with this refusal
        refusal.huiyuan_unrecorded = False
        raise refusal
    return response


def in_transaction(
    session: Session,
    table: Table,
    *,
    scope: str | None,
    key: str,
    operation: str,
    request: Any,
    action: Callable[[], Any],
    fingerprint_key: bytes = b"",
    seal: Codec | None = None,
) -> Any:
    """`once` in its own transaction: commit the change and its answer together,
    or, if `action` raises, neither; a definite refusal is then stored as the
    key's answer."""
    check_key(key)  # before any work, so a missing key is refused at once
    judged = {"scope": scope, "key": key, "operation": operation, "request": request}

    def run() -> Any:
        with session.begin():
            return once(session, table, action=action, fingerprint_key=fingerprint_key, seal=seal, **judged)

    return final_refusals(session, table, run, fingerprint_key=fingerprint_key, seal=seal, **judged)


def final_refusals(
    session: Session,
    table: Table,
    run: Callable[[], Any],
    *,
    scope: str | None,
    key: str,
    operation: str,
    request: Any,
    fingerprint_key: bytes = b"",
    seal: Codec | None = None,
) -> Any:
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
        return record_refusal(
            session,
            table,
            exc,
            scope=scope,
            key=key,
            operation=operation,
            request=request,
            fingerprint_key=fingerprint_key,
            seal=seal,
        )


NEW_KEY = object()  # `prior_answer` found no earlier request under the key


def prior_answer(
    session: Session,
    table: Table,
    *,
    scope: str | None,
    key: str,
    operation: str,
    request: Any,
    fingerprint_key: bytes = b"",
    seal: Codec | None = None,
) -> Any:
    """The first answer given under `key`, or `NEW_KEY`; call inside a transaction.
    Lets a retry get its answer before checks that could refuse it now (a
    store closed since, a payment method retired): the first request passed them."""
    key = check_key(key)
    scope = scope or "-"
    prior = _prior(session, table, scope, key)
    if prior is None:
        return NEW_KEY
    return _replayed(prior, fingerprint(operation, request, fingerprint_key), seal, scope)
