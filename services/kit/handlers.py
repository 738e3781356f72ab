"""Event handlers that survive redelivery (non-negotiable 6).

`@handles("org", "chain_created")` on a service method subscribes it with one
durable queue per service (several instances share it), parses the envelope
against its contract, and runs the method inside one transaction together
with the inbox record: a redelivered event finds its id there and changes
nothing twice. The service class names its kit tables in `kit_tables` and its
session dependency `db`.

A handler that fails rolls back and the message goes back on the queue
(nameko would otherwise acknowledge it and the event would be lost), after a
pause that grows with each failure (non-negotiable 13):

- a transient failure (the database or broker away, a lock or statement
  timeout, a deadlock, another service unavailable or slow) is retried for
  as long as it takes, with exponential backoff and jitter from 1 s to 5 min;
  it is never parked, so a long outage ends with every event applied;
- an event that breaks its contract is parked at once (no retry can help);
- any other failure (a programming error) is retried `MAX_ATTEMPTS` times
  with the same backoff, then parked.

Failures are counted in `event_failures`; parked events stay there and are
acknowledged, for `python -m services.kit.parked` to list and replay.

A service may define `events_applied()`: it runs in the same transaction after
the events (one or a batch), just before COMMIT.

Under load the deliveries waiting for one handler are taken together, up to
`BATCH_LIMIT`, and handled in one worker and one transaction (one BEGIN/COMMIT
and one worker for several events, rather than one each); each event still
goes through the inbox, the batch's records written in one statement. If the
batch fails, its transaction is undone and each event is handled on its own as
above, so one bad event never holds back or parks the others. At a quiet
counter a batch is one event.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import uuid
import zlib
from collections.abc import Callable
from functools import partial, wraps
from typing import Any

import eventlet
from kombu.exceptions import OperationalError as BrokerError
from nameko.events import SERVICE_POOL, EventHandler
from nameko.exceptions import ContainerBeingKilled
from sqlalchemy import Table, delete, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import OperationalError as DatabaseError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from contracts.errors import ServiceTimeout, ServiceUnavailable, ValidationFailed
from contracts.events import Event, parse
from services.kit.inbox import first_deliveries, first_delivery
from services.kit.logs import CORRELATION_KEY
from services.kit.outbox import OutboxWriter
from services.kit.queues import apply_queue_type

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5  # for failures that are not transient
FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 300.0
# deliveries of one handler taken together at most (1: one worker and transaction per event);
# the broker hands a service at most its worker count unacknowledged, so more would not come
BATCH_LIMIT = max(1, int(os.environ.get("HUIYUAN_EVENT_BATCH", "10")))

# failures that go away by themselves: the database or broker away or busy, another service down or slow
TRANSIENT = (
    DatabaseError,  # connection refused or lost, lock and statement timeouts, deadlocks, serialization failures
    DisconnectionError,
    PoolTimeout,
    BrokerError,
    ServiceUnavailable,
    ServiceTimeout,
    ConnectionError,
    TimeoutError,  # socket timeouts
    eventlet.Timeout,
)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, TRANSIENT)


def pause_before_retry(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before delivering an event again after its `attempt`-th failure:
    doubling from 1 s, at most 5 min, with full jitter between half and all of it, so
    the events that failed together during an outage do not all come back at once."""
    ceiling = min(LONGEST_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2 ** max(0, attempt - 1))
    return ceiling * (0.5 + 0.5 * (rng or random).random())


# attempts per consuming service and event id, kept in memory too: while the database is away they
# cannot be counted there. Per service: services in one process (tests, a small deployment) handle
# the same event, and one's success must not clear another's failure.
_attempts: dict[tuple[str, str], int] = {}


def record_failure(
    session: Session, table: Table, payload: dict, error: Exception, *, hopeless: bool, transient: bool = False
) -> tuple[int, bool]:
    """Count a failed attempt at the event: (attempts so far, whether it is now parked).
    A transient failure is counted but never parks the event."""
    event_id = _event_id(payload)
    with session.begin():
        attempts = session.execute(
            insert(table)
            .values(
                event_id=event_id,
                source=str(payload.get("source", "?"))[:40],
                event_type=str(payload.get("type", "?"))[:80],
                payload=payload,
                attempts=1,
                last_error=repr(error)[:2000],
            )
            .on_conflict_do_update(
                index_elements=[table.c.event_id],
                set_={"attempts": table.c.attempts + 1, "last_error": repr(error)[:2000], "last_failed_at": func.now()},
            )
            .returning(table.c.attempts)
        ).scalar_one()
        parked = hopeless or (not transient and attempts >= MAX_ATTEMPTS)
        if parked:
            session.execute(update(table).where(table.c.event_id == event_id).values(parked_at=func.now()))
    return attempts, parked


def _event_id(payload: dict) -> str:
    return str(payload.get("id") or uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(payload, sort_keys=True, default=str)))


class _Handler(EventHandler):
    """nameko's event handler, whose acknowledgement cannot stop the service: with the
    broker gone, acking or requeueing raises, and nameko would treat that as fatal. The
    unacknowledged message is delivered again once the broker is back, and the inbox
    makes that harmless. Its queue is of the configured type (`services.kit.queues`).

    Deliveries that arrive while this handler's batch is being handled wait, and go
    together in the next one: one batch at a time per lane, so two batches of one handler
    never take the same rows' locks in different orders. A handler has one lane, or
    `lanes` by member (`member_id` of the event's data): one member's events always take
    the same lane, in the order they came, and lanes lock different members' rows side by
    side. One lane waits on the database statement by statement; a handler of many
    statements per event needs several to keep up with a busy chain."""

    def __init__(self, *args: Any, lanes: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lanes = lanes

    def setup(self) -> None:
        super().setup()
        apply_queue_type(self.queue, self.container.config)
        self._waiting: dict[int, list[tuple[Any, Any]]] = {}
        self._flushing: set[int] = set()

    def handle_message(self, body: Any, message: Any) -> None:
        if BATCH_LIMIT == 1:
            return super().handle_message(body, message)
        lane = lane_of(body, self.lanes)
        self._waiting.setdefault(lane, []).append((body, message))
        if lane not in self._flushing:
            self._flushing.add(lane)
            self.container.spawn_managed_thread(partial(self._flush, lane), identifier=f"{self.method_name}.{lane}")

    def _flush(self, lane: int) -> None:
        try:
            eventlet.sleep(0)  # the deliveries read from the socket with this one join it
            while waiting := self._waiting.get(lane):
                batch, self._waiting[lane] = waiting[:BATCH_LIMIT], waiting[BATCH_LIMIT:]
                self._run_batch(batch)
        finally:
            self._flushing.discard(lane)

    def _run_batch(self, batch: list[tuple[Any, Any]]) -> None:
        messages = [message for _, message in batch]
        done = eventlet.event.Event()
        try:
            self.container.spawn_worker(
                self,
                ([body for body, _ in batch],),
                {},
                context_data=self.unpack_message_headers(messages[0]),
                handle_result=partial(self._batch_result, messages, done),
            )
        except ContainerBeingKilled:
            for message in messages:
                self._settle(message, requeue=True)
            return
        done.wait()

    def _batch_result(self, messages: list, done: Any, worker_ctx: Any, result: Any = None, exc_info: Any = None):
        # the worker answers, per message, whether it goes back on the queue; if it raised, all do
        requeue = result if exc_info is None else [True] * len(messages)
        for message, again in zip(messages, requeue, strict=True):
            self._settle(message, requeue=again)
        done.send(None)
        return result, exc_info

    def _settle(self, message: Any, *, requeue: bool) -> None:
        try:
            if requeue:
                self.queue_consumer.requeue_message(message)
            else:
                self.queue_consumer.ack_message(message)
        except Exception as exc:  # noqa: BLE001 - the broker connection is gone
            log.warning("event %s not settled (broker away: %r); it will come again", self.event_type, exc)

    def handle_result(self, message: Any, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> tuple:
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except Exception as exc:  # noqa: BLE001 - the broker connection is gone
            log.warning("event %s not acknowledged (broker away: %r); it will come again", self.event_type, exc)
            return result, exc_info


def lane_of(body: Any, lanes: int) -> int:
    """The lane of a delivery: by the member of its event's data (0 for an event of no member,
    or one that breaks its contract; it is parked from whichever lane)."""
    if lanes == 1:
        return 0
    data = body.get("data") if isinstance(body, dict) else None
    member = data.get("member_id") if isinstance(data, dict) else None
    return zlib.crc32(member.encode()) % lanes if isinstance(member, str) else 0


def handles(source: str, event_type: str, lanes: int = 1) -> Callable:
    """Subscribe the method to `source`'s `event_type` (see the module); `lanes` batches of
    it at a time, by member (`_Handler`)."""
    if lanes < 1:
        raise ValueError(f"lanes must be at least 1, not {lanes}")

    def decorate(method: Callable[[object, Event], None]) -> Callable:
        def handle_one(self, payload: dict) -> None:
            """One delivery in its own transaction; raises to put it back on the queue."""
            event = _parsed(self, payload, source, event_type)
            if event is None:
                return
            failed_before = (self.name, event.id) in _attempts
            try:
                with self.db.begin():
                    _apply(self, method, event, failed_before, first_delivery(self.db, self.kit_tables.inbox, event))
                    _events_applied(self)
            except Exception as exc:
                if _parked_after(self, payload, event, exc):
                    return  # acknowledged; kept in event_failures for replay
                raise  # back on the queue, after the pause
            _attempts.pop((self.name, event.id), None)

        def handle_batch(self, payloads: list) -> list[bool]:
            """Several deliveries in one transaction; per delivery, whether it goes back on the queue."""
            events = [(payload, _parsed(self, payload, source, event_type)) for payload in payloads]
            try:
                with self.db.begin():
                    ordered = [event for _, event in sorted(events, key=_lock_order) if event is not None]
                    # the batch's inbox records in one statement, not one each
                    fresh = first_deliveries(self.db, self.kit_tables.inbox, ordered) if ordered else set()
                    for event in ordered:
                        first = event.id in fresh
                        fresh.discard(event.id)  # delivered twice in one batch: applied once
                        _apply(self, method, event, (self.name, event.id) in _attempts, first)
                    _events_applied(self)
            except Exception as exc:  # noqa: BLE001 - judged below: paused, or each event alone
                if is_transient(exc):  # the database or a service away: each alone would fail the same way
                    return _pause_all(self, events, exc)
                # one of them is at fault: undone together, now each on its own, as a single delivery
                return [event is not None and _alone(handle_one, self, payload) for payload, event in events]
            for _, event in events:
                if event is not None:
                    _attempts.pop((self.name, event.id), None)
            return [False] * len(payloads)

        @wraps(method)
        def handler(self, payload: dict | list) -> list[bool] | None:
            if isinstance(payload, list):  # from `_Handler._flush`
                if len(payload) == 1:  # one delivery: handled as such, not as a batch that might be undone
                    return [_alone(handle_one, self, payload[0])]
                return handle_batch(self, payload)
            return handle_one(self, payload)

        return _Handler.decorator(
            source, event_type, handler_type=SERVICE_POOL, reliable_delivery=True, requeue_on_error=True, lanes=lanes
        )(handler)

    return decorate


def _lock_order(item: tuple[Any, Event | None]) -> tuple[str, str]:
    """A batch is applied in member order (a stable sort: one member's events keep theirs). Most
    handlers lock the member's rows, so two batches of one service (its handlers of different
    events run side by side) take them in the same order and wait for each other rather than
    deadlock."""
    event = item[1]
    data = event.data if event is not None else {}
    return (str(data.get("chain_id") or ""), str(data.get("member_id") or ""))


def _parsed(service: Any, payload: Any, source: str, event_type: str) -> Event | None:
    """The event, or None when it breaks its contract: then it is parked at once (no retry can help)."""
    try:
        return parse(payload, source, event_type)
    except (ValidationFailed, ValueError) as exc:
        record_failure(service.db, service.kit_tables.event_failures, _as_dict(payload), exc, hopeless=True)
        log.error("event %s.%s parked: it breaks its contract: %s", source, event_type, exc)
        return None


def _apply(service: Any, method: Callable, event: Event, failed_before: bool, first: bool) -> None:
    """The event's effect, in the caller's transaction, if its inbox record was made just now
    (`first`); nothing twice."""
    if not first:
        log.info("event %s %s.%s already handled", event.id, event.source, event.type)
        return
    # the events it writes carry its correlation id (in a batch, the worker's is the first's)
    for writer in vars(service).values():
        if isinstance(writer, OutboxWriter):
            writer.context_data[CORRELATION_KEY] = event.correlation_id
    method(service, event)
    if failed_before:  # handled at last: it is no longer failing
        table = service.kit_tables.event_failures
        service.db.execute(delete(table).where(table.c.event_id == event.id))


def _events_applied(service: Any) -> None:
    """The service's `events_applied()`, if it has one: its work once per transaction of
    events, after them and just before COMMIT (reporting's freshness: one row per chain,
    written once a batch and locked only while it commits)."""
    hook = getattr(service, "events_applied", None)
    if hook is not None:
        hook()


def _pause_all(service: Any, events: list[tuple[Any, Event | None]], exc: Exception) -> list[bool]:
    """A batch that failed for a passing reason: the failure counted for each of its events,
    one pause (the longest their attempts call for), then all back on the queue."""
    attempts = 0
    for payload, event in events:
        if event is None:
            continue
        key = (service.name, event.id)
        _attempts[key] = _attempts.get(key, 0) + 1
        try:
            counted, _ = record_failure(
                service.db, service.kit_tables.event_failures, payload, exc, hopeless=False, transient=True
            )
            _attempts[key] = max(_attempts[key], counted)
        except Exception:  # noqa: BLE001 - the database itself is away: counted in memory
            pass
        attempts = max(attempts, _attempts[key])
    pause = pause_before_retry(attempts)
    log.warning(
        "%d events failed together (attempt %d, transient): %r; retrying in %.1f s", len(events), attempts, exc, pause
    )
    eventlet.sleep(pause)
    return [event is not None for _, event in events]


def _alone(handle_one: Callable, service: Any, payload: Any) -> bool:
    """Handle one delivery of an undone batch on its own: whether it goes back on the queue."""
    try:
        handle_one(service, payload)
    except Exception:  # noqa: BLE001 - counted and paused by handle_one; it comes again
        log.debug("event back on the queue", exc_info=sys.exc_info())
        return True
    return False


def _parked_after(service: Any, payload: dict, event: Event, exc: Exception) -> bool:
    """Count the failure; True if the event is now parked, else pause before it goes back on the queue."""
    transient = is_transient(exc)
    key = (service.name, event.id)
    attempts = _attempts[key] = _attempts.get(key, 0) + 1
    try:
        counted, parked = record_failure(
            service.db, service.kit_tables.event_failures, payload, exc, hopeless=False, transient=transient
        )
        attempts = max(attempts, counted)
    except Exception:  # noqa: BLE001 - the database itself is away: retry later
        log.warning("could not count the failure of event %s (database away?)", event.id, exc_info=True)
        parked = False
    if parked:
        _attempts.pop(key, None)
        log.error("event %s %s.%s parked after %d attempts: %r", event.id, event.source, event.type, attempts, exc)
        return True
    pause = pause_before_retry(attempts)
    log.warning(
        "event %s %s.%s failed (attempt %d, %s): %r; retrying in %.1f s",
        event.id,
        event.source,
        event.type,
        attempts,
        "transient" if transient else "error",
        exc,
        pause,
    )
    eventlet.sleep(pause)
    return False


def _as_dict(payload: object) -> dict:
    return payload if isinstance(payload, dict) else {"raw": repr(payload)[:2000]}
