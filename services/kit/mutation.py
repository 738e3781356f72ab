"""One flow for every mutating RPC (W-9, non-negotiables 5 and 11).

    @rpc
    @mutation
    def create_store(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str):
        payload = load(c.StoreCreate, data)           # checks: may refuse, may ask other services
        return lambda: stores.create(self.db, self.events, actor, chain_id, payload)   # the work

The decorated method is the RPC entrypoint; its body runs the checks and returns
the work to do. Around it, the kit:

1. answers a retry with the key's first answer, before any check that could
   refuse it now (a store closed since, a method retired): the first request
   passed them; a first answer that was a refusal is raised again;
2. runs the body (checks, calls to other services: outside any transaction,
   so no lock waits on another service);
3. runs the work once per key, in one transaction with its answer;
4. stores a definite refusal (4xx) from the checks or the work as the key's answer.

The request the key is bound to is every argument of the call but the key
(the caller by their staff id), so nobody assembles it by hand. The scope of
the key is the `chain_id` argument, or the platform for calls above any
chain. `actor` reaches the body as an `Actor`. An `early` reader, given the
call's arguments, runs on the same connection as the look-up of the first
answer, each statement on its own (autocommit: no BEGIN and COMMIT round
trips; it only reads, what its checks need of the service's own copies), and
its result is `self.mutation.early` in the body.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any, Protocol

from sqlalchemy import Select, Table, select

from contracts.auth import Actor
from services.kit import crypto, direct
from services.kit.idempotency import NEW_KEY, KeyedRequest, check_key, record_column

Work = Callable[[], Any]  # what a mutation's body returns: the work, run once per key

PLATFORM_SCOPE = "platform"  # operations above any one chain (creating a chain)
NOT_PART_OF_THE_REQUEST = ("self", "actor", "idempotency_key")


@dataclass(frozen=True)
class Mutation:
    """What the body of a mutation can read of its call."""

    actor: Actor
    key: str
    early: Any = None


def mutation(method: Callable | None = None, *, early: Callable[..., Any] | None = None) -> Callable:
    def decorate(body: Callable) -> Callable:
        signature = inspect.signature(body)
        request_names = [name for name in signature.parameters if name not in NOT_PART_OF_THE_REQUEST]
        operation = body.__name__

        @wraps(body)
        def entrypoint(self, *args: Any, **kwargs: Any) -> Any:
            call = signature.bind(self, *args, **kwargs)
            call.apply_defaults()
            arguments = dict(call.arguments)
            actor = Actor.from_dict(arguments["actor"])
            key = check_key(arguments["idempotency_key"])
            request = [arguments[name] for name in request_names]
            keyed = _keyed(self, operation, actor, arguments.get("chain_id"), key, request)

            def run() -> Any:
                with self.db.begin(), _standalone_reads(self.db):  # the first answer, what the checks need
                    first, seen = _first_and_early(self, keyed, early, actor, request)
                    if first is not NEW_KEY:
                        return first
                self.mutation = Mutation(actor, key, seen)
                work = body(**{**arguments, "actor": actor})
                ran: list[bool] = []

                def counted() -> Any:
                    answer = work()
                    ran.append(True)  # not a concurrent first request's answer replayed
                    return answer

                answer = keyed.in_transaction(self.db, counted)
                figures = getattr(self, "metrics", None)
                if ran and figures is not None:  # committed: in_transaction returned
                    figures.committed(operation)
                return answer

            return keyed.final_refusals(self.db, run)

        return entrypoint

    return decorate(method) if method is not None else decorate


class EarlyReads(Protocol):
    """An `early` reader whose reads go in one statement with the look-up of the first answer
    (one round trip less on every call), built once per shape: `queries` gives what its reads
    are about, their shape (hashable) and their parameters; `build` the scalar subqueries of a
    shape, by name (of parameters only: it runs once per shape); `seen` makes the body's
    `early` of their values. The reader itself must be hashable (a frozen dataclass)."""

    def queries(self, service: Any, actor: Actor, *request: Any) -> tuple[Any, Hashable, dict]: ...

    def build(self, shape: Any) -> dict: ...

    def seen(self, service: Any, actor: Actor, about: Any, values: dict) -> Any: ...


FIRST_ANSWER = "first_answer"


def _first_and_early(service: Any, keyed: KeyedRequest, early: Any, actor: Actor, request: list) -> tuple[Any, Any]:
    """The key's first answer (or `NEW_KEY`) and, for a new key, what the early reader read."""
    if not hasattr(early, "queries"):
        first = keyed.prior(service.db)
        if first is not NEW_KEY or early is None:
            return first, None
        return first, early(service, actor, *request)
    about, shape, params = early.queries(service, actor, *request)
    statement = _read_together(keyed.table, early, shape)
    values = direct.run(service.db, statement, {**params, **keyed.record_parameters()}).one()._asdict()
    first = keyed.answer_of(values.pop(FIRST_ANSWER))
    return first, (early.seen(service, actor, about, values) if first is NEW_KEY else None)


@cache
def _read_together(table: Table, early: EarlyReads, shape: Hashable) -> Select:
    reads = early.build(shape)
    return select(record_column(table).label(FIRST_ANSWER), *(query.label(name) for name, query in reads.items()))


@contextmanager
def _standalone_reads(session: Any) -> Iterator[None]:
    """Reads that each stand alone (the claim in the work's transaction decides): the driver's
    autocommit, so no BEGIN and COMMIT round trips around them (SQLAlchemy's AUTOCOMMIT
    isolation level would cost a SET to undo on the connection instead)."""
    raw = session.connection().connection.dbapi_connection
    raw.autocommit = True
    try:
        yield
    finally:
        try:
            raw.autocommit = False
        except Exception:  # noqa: BLE001 - a connection lost meanwhile: the pool discards it
            pass


def _keyed(service: Any, operation: str, actor: Actor, scope: str | None, key: str, request: list) -> KeyedRequest:
    settings = service.settings
    seal = crypto.codec(settings.pii_key, settings.pii_index_key) if getattr(service, "seal_answers", False) else None
    return KeyedRequest(
        table=service.kit_tables.idempotency,
        scope=scope or PLATFORM_SCOPE,
        key=key,
        operation=f"{service.name}.{operation}",
        # the caller is part of the request: another staff member reusing a key is a conflict, not a replay
        request=[actor.staff_id, request],
        fingerprint_key=crypto.optional_key(settings.pii_index_key),
        seal=seal,
    )
