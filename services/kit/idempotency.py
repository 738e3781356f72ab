"""Idempotency records for mutating RPCs (W-9, non-negotiable 5).

The key is claimed inside the caller's transaction. The first request does
the work and stores its answer in the same transaction; a retry with the same
key and the same request gets that answer back; the same key with a different
request is refused. Two concurrent requests with one key serialise on the
primary key: the second waits for the first to commit, then replays its
answer. A request that fails rolls back its claim, so a refused request can be
retried and is judged afresh: it changed nothing the first time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.errors import IdempotencyMismatch, ValidationFailed
from services.kit import crypto
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
    result = action()
    stored = {SEALED: seal.encrypt(scope, "idempotency", json.dumps(result))} if seal is not None else result
    session.execute(update(table).where(table.c.scope == scope, table.c.key == key).values(response=stored))
    return result


SEALED = "sealed"


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
        return json.loads(seal.decrypt(scope, "idempotency", response[SEALED]))
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
    or, if `action` raises, neither."""
    check_key(key)  # before any work, so a missing key is refused at once
    with session.begin():
        return once(
            session,
            table,
            scope=scope,
            key=key,
            operation=operation,
            request=request,
            action=action,
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


class Idempotent:
    """Mixin for a service class with `name`, `db`, `settings` and `kit_tables`:
    `_once` runs a mutation once per (chain, key), in one transaction with its
    answer. A service whose answers carry personal data sets `seal_answers`."""

    PLATFORM_SCOPE = "platform"  # operations above any one chain (creating a chain)
    seal_answers = False

    def _idempotency(self, operation: str, actor: Any, scope: str | None, key: str, request: Any) -> dict:
        # the caller is part of the request: another staff member reusing a key is a conflict, not a replay
        return {
            "scope": scope or self.PLATFORM_SCOPE,
            "key": key,
            "operation": f"{self.name}.{operation}",
            "request": [actor.staff_id, request],
            "fingerprint_key": crypto.optional_key(self.settings.pii_index_key),
            "seal": crypto.codec(self.settings.pii_key, self.settings.pii_index_key) if self.seal_answers else None,
        }

    def _once(
        self, operation: str, actor: Any, scope: str | None, key: str, request: Any, action: Callable[[], Any]
    ) -> Any:
        args = self._idempotency(operation, actor, scope, key, request)
        return in_transaction(self.db, self.kit_tables.idempotency, action=action, **args)

    def _replay(self, operation: str, actor: Any, scope: str | None, key: str, request: Any) -> Any:
        """The first answer under `key`, or `NEW_KEY`: call it before checks a retry must not face.
        Inside a transaction of the caller's, or in one of its own."""
        args = self._idempotency(operation, actor, scope, key, request)
        if self.db.in_transaction():
            return prior_answer(self.db, self.kit_tables.idempotency, **args)
        with self.db.begin():
            return prior_answer(self.db, self.kit_tables.idempotency, **args)
