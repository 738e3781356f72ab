"""The transactional outbox (non-negotiable 6).

A worker adds events to the `outbox` table inside its business transaction,
so an event exists if and only if the change it describes was committed. A
relay in every service instance publishes unsent rows to the service's nameko
events exchange (with publisher confirms) and marks them sent, with no
transaction open while it publishes: it claims a batch for a lease (one
statement) and publishes; what got out is marked sent by the relay's next
claim (the same statement: one round trip a batch instead of two), which comes
with the next worker that writes events or the poll a second later, and a
stopping relay marks what is left. Instances share the table safely (`FOR
UPDATE SKIP LOCKED` and the lease); if a row is published twice (a crash
between publish and mark: its lease runs out and it goes again) consumers'
inboxes drop the duplicate.

Two kinds of failure, told apart by `broker_away`:
- the broker cannot be reached (refused, lost, shutting down, a nack): the
  batch stops where it is, so events keep their order, and the relay tries
  again after a pause doubling up to 15 s, for as long as it takes. Nothing is
  ever parked for this.
- the row itself is refused (it cannot be serialised, the broker rejects that
  message): the row is skipped for a pause doubling from 1 s to 5 min while the
  rows behind it go out, and after `MAX_REJECTIONS` refusals it is parked
  (`parked_at`, kept with its last error, logged, counted on `/ready` and in
  `/metrics`) until an operator releases it (`python -m services.kit.parked`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from weakref import WeakKeyDictionary

import amqp.exceptions
import eventlet
import kombu.exceptions
from eventlet.event import Event as GreenEvent
from eventlet.queue import Empty, LightQueue
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from sqlalchemy import BigInteger, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, Insert, insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from contracts import events as contracts_events
from services.kit import direct
from services.kit.db import make_engine, pool_budget, prepares
from services.kit.logs import CORRELATION_KEY
from services.kit.metrics import PUBLISHED_AT_HEADER, figures_of

log = logging.getLogger(__name__)

BATCH_SIZE = 200
# how long a relay's claim on the rows it is publishing holds off other instances
LEASE_SECONDS = 30.0
# The claim walks the unsent rows' partial index in `seq` order. A bitmap scan (the planner's
# choice) never marks the entries of rows sent since as dead, so every claim re-reads all of
# them until VACUUM comes (5 ms a claim after a few thousand events); a plain index scan marks
# them on its first pass and the next claims skip them (0.3 ms). A startup option of the
# relay's own connections (a pooler that drops it costs speed, nothing else).
RELAY_SETTINGS = {"enable_bitmapscan": "off"}
POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 15.0
# a refused row: tried again after 1, 2, 4 ... s (at most 5 min), parked at the 8th refusal,
# about two minutes after the first
MAX_REJECTIONS = 8
FIRST_ROW_PAUSE = 1.0
MAX_ROW_PAUSE = 300.0
# how long a stopping relay waits for its loop to finish the batch in hand
STOP_WAIT_SECONDS = 5.0

# failures of the broker or the way to it, not of the message: never a reason to park
BROKER_AWAY = (
    OSError,  # refused, reset, unreachable, timed out
    kombu.exceptions.OperationalError,
    amqp.exceptions.ConnectionError,  # lost, forced closed by a broker shutting down
    amqp.exceptions.MessageNacked,  # the broker could not take it now
)


def broker_away(error: BaseException) -> bool:
    return isinstance(error, BROKER_AWAY)


def row_pause(rejections: int) -> float:
    """Seconds before a row refused `rejections` times is tried again."""
    return min(FIRST_ROW_PAUSE * 2 ** (rejections - 1), MAX_ROW_PAUSE)


class OutboxWriter:
    """What a worker sees: `add(session, type, data, chain_id=...)`, or `add_many` for several."""

    def __init__(self, table: Table, source: str, context_data: dict | None = None) -> None:
        self.table = table
        self.source = source
        # read when an event is added: the worker's correlation id may be settled after injection
        self.context_data = context_data if context_data is not None else {}
        self.added = 0  # events this worker wrote: its teardown wakes the relay only if any

    @property
    def correlation_id(self) -> str | None:
        return self.context_data.get(CORRELATION_KEY)

    def add(
        self,
        session: Session,
        event_type: str,
        data: dict,
        *,
        chain_id: str | None,
        occurred_at: datetime | None = None,
    ) -> dict:
        return self.add_many(session, [(event_type, data, chain_id, occurred_at)])[0]

    def add_many(self, session: Session, events: Sequence[tuple[str, dict, str | None, datetime | None]]) -> list[dict]:
        """Several events, each as `add` writes it, in one multi-row INSERT: a round trip for
        the lot. `events` are (event type, data, chain id, occurred at), in the order they
        are to be published (their `seq` follows the list)."""
        envelopes = [
            contracts_events.envelope(
                self.source,
                event_type,
                data,
                chain_id=chain_id,
                correlation_id=self.correlation_id,
                occurred_at=occurred_at,
            )
            for event_type, data, chain_id, occurred_at in events
        ]
        rows = [
            {"event_id": e["id"], "event_type": e["type"], "chain_id": e["chain_id"], "payload": e} for e in envelopes
        ]
        if rows:  # several rows go as one INSERT ... VALUES (...), (...) in list order (the driver's executemany)
            direct.run(session, _adding(self.table), rows[0] if len(rows) == 1 else rows)
            self.added += len(rows)
        return envelopes


@cache
def _adding(table: Table) -> Insert:
    """Built once per outbox (building a statement afresh costs more than running it)."""
    return insert(table).values({name: bindparam(name) for name in ("event_id", "event_type", "chain_id", "payload")})


def relay_batch(
    engine: Engine,
    table: Table,
    publish: Callable[[dict, str], None],
    limit: int = BATCH_SIZE,
    unmarked: list[int] | None = None,
) -> int:
    """Publish up to `limit` due events in order; returns how many were sent.

    No transaction is open while publishing: one statement claims the due rows for
    `LEASE_SECONDS` (their `retry_at`; instances skip rows another is claiming), the
    publishes follow, and what got out is marked sent. Without `unmarked` that is one
    more statement now. With it (the relay's own list of rows it published and has not
    marked yet) the claim marks those rows, and the rows this batch publishes join the
    list for the next claim: one statement a batch. A broker failure is re-raised after
    handing the rest back; a refused row is recorded (pause, perhaps parked) and the
    batch goes on without it. A relay that dies mid-batch, or before marking, leaves its
    rows to be claimed again when the lease ends (consumers drop a duplicate)."""
    marks = list(unmarked) if unmarked else []
    with engine.connect() as conn, _autocommit(conn):
        rows = direct.run(conn, *_claim(table, limit, marks)).all()
        if unmarked is not None:
            del unmarked[: len(marks)]  # marked by the claim
        rows.sort(key=lambda row: row.seq)
        sent: list[int] = []
        failure: Exception | None = None
        for i, row in enumerate(rows):
            try:
                publish(row.payload, row.event_type)
            except Exception as exc:  # noqa: BLE001 - recorded; a broker failure is re-raised after marking
                if broker_away(exc):
                    failure = exc
                    conn.execute(
                        update(table)
                        .where(table.c.seq == row.seq)
                        .values(attempts=table.c.attempts + 1, last_error=repr(exc)[:1000], retry_at=None)
                    )
                    # the rows behind it are due again at once, in order
                    rest = [r.seq for r in rows[i + 1 :]]
                    if rest:
                        conn.execute(update(table).where(table.c.seq.in_(rest)).values(retry_at=None))
                    break
                _refused(conn, table, row, exc)
                continue
            sent.append(row.seq)
        # whatever got out is marked sent (now, or by the next claim), even when a later publish failed
        if unmarked is not None:
            unmarked.extend(sent)
        else:
            mark_sent(conn, table, sent)
    if failure is not None:
        raise failure
    return len(sent)


_SEQS = bindparam("marks", type_=ARRAY(BigInteger))  # rows published and not marked yet


def _claim(table: Table, limit: int, marks: list[int]) -> tuple[Update, dict]:
    """The due rows, now leased to this relay; the rows in `marks` marked sent in passing."""
    return _claiming(table, bool(marks)), {"limit": limit, "marks": marks}


@cache
def _claiming(table: Table, marking: bool) -> Update:
    """Built once per outbox, with and without marks: a relay claims every second."""
    due = select(table.c.seq).where(
        table.c.sent_at.is_(None),
        table.c.parked_at.is_(None),
        or_(table.c.retry_at.is_(None), table.c.retry_at <= func.now()),
    )
    claim = update(table).values(retry_at=func.now() + timedelta(seconds=LEASE_SECONDS))
    if marking:
        # one statement sees one snapshot: a marked row whose lease ran out must not be claimed too
        due = due.where(table.c.seq != func.all(_SEQS))
        claim = claim.add_cte(_marking(table).cte("marked"))
    due = due.order_by(table.c.seq).limit(bindparam("limit")).with_for_update(skip_locked=True)
    return claim.where(table.c.seq.in_(due)).returning(
        table.c.seq, table.c.event_id, table.c.event_type, table.c.payload, table.c.rejections
    )


@cache
def _marking(table: Table) -> Update:
    return update(table).where(table.c.seq == func.any(_SEQS)).values(sent_at=func.now(), retry_at=None)


def mark_sent(conn: Connection, table: Table, seqs: list[int]) -> None:
    if seqs:
        direct.run(conn, _marking(table), {"marks": seqs})


@contextmanager
def _autocommit(conn: Connection) -> Iterator[None]:
    """Each statement its own transaction (the driver's autocommit: no BEGIN, COMMIT or SET)."""
    raw = conn.connection.dbapi_connection
    raw.autocommit = True
    try:
        yield
    finally:
        try:
            raw.autocommit = False
        except Exception:  # noqa: BLE001 - a connection lost meanwhile: the pool discards it
            pass


def _refused(conn: Connection, table: Table, row, error: Exception) -> None:
    """The row itself was refused: pause it, or park it after `MAX_REJECTIONS`."""
    rejections = row.rejections + 1
    parked = rejections >= MAX_REJECTIONS
    values = {
        "attempts": table.c.attempts + 1,
        "rejections": rejections,
        "last_error": repr(error)[:1000],
        "retry_at": func.now() + timedelta(seconds=row_pause(rejections)),
    }
    if parked:
        values["parked_at"] = func.now()
    conn.execute(update(table).where(table.c.seq == row.seq).values(**values))
    if parked:
        log.error(
            "outbox event %s (%s, seq %s) parked after %d refusals: %r",
            row.event_id,
            row.event_type,
            row.seq,
            rejections,
            error,
        )
    else:
        log.warning(
            "outbox event %s (%s) refused (%d of %d); the rows behind it go on: %r",
            row.event_id,
            row.event_type,
            rejections,
            MAX_REJECTIONS,
            error,
        )


def backlog(conn: Connection, outbox: Table, event_failures: Table) -> dict:
    """What an operator watches: the unsent rows (how many, the oldest's age in
    seconds), parked outbox rows and parked events. Reads only the unsent rows
    (the partial index `ix_outbox_unsent`) and the small failures table."""
    unsent = and_(outbox.c.sent_at.is_(None), outbox.c.parked_at.is_(None))
    row = conn.execute(
        select(
            func.count().filter(unsent),
            func.extract("epoch", func.now() - func.min(outbox.c.created_at).filter(unsent)),
            func.count().filter(outbox.c.parked_at.is_not(None)),
        ).where(outbox.c.sent_at.is_(None))
    ).one()
    parked_events = conn.execute(
        select(func.count()).select_from(event_failures).where(event_failures.c.parked_at.is_not(None))
    ).scalar_one()
    return {
        "outbox_unsent": row[0],
        "outbox_oldest_unsent_seconds": round(float(row[1]), 3) if row[1] is not None else 0.0,
        "outbox_parked": row[2],
        "events_parked": parked_events,
    }


class Outbox(DependencyProvider):
    """Injects an `OutboxWriter`; runs the relay for this service instance."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def setup(self) -> None:
        config = self.container.config
        service = self.container.service_name
        self.writers: WeakKeyDictionary = WeakKeyDictionary()
        self.engine = make_engine(
            config["DATABASE_URLS"][service],
            pool_size=pool_budget(int(config.get("max_workers", 10)))["relay"],
            application_name=f"huiyuan-{service}-relay",
            settings=RELAY_SETTINGS,
            prepared=prepares(config),
        )
        self.exchange = get_event_exchange(service, config)
        self.publisher = Publisher(
            config["AMQP_URI"],
            serializer="json",
            exchange=self.exchange,
            declare=[self.exchange],
            use_confirms=True,
            retry=False,  # the relay retries the whole batch itself
        )
        self.kicks: LightQueue = LightQueue(maxsize=1)
        self.unmarked: list[int] = []  # published, to be marked sent by the next claim
        self.stopping = GreenEvent()
        self.running = False

    def start(self) -> None:
        self.running = True
        self.thread = self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def stop(self) -> None:
        self.running = False
        self.stopping.send()
        self.kick()
        # let the loop finish the batch in hand: the relay has one connection, and the last flush needs it
        with eventlet.Timeout(STOP_WAIT_SECONDS, False):
            try:
                self.thread.wait()
            except Exception:  # noqa: BLE001 - it ended; how does not matter here
                pass
        self.thread.kill()
        # one last flush, so a clean shutdown leaves nothing behind, not even a row unmarked
        try:
            self.flush()
            with self.engine.connect() as conn, _autocommit(conn):
                mark_sent(conn, self.table, self.unmarked)
            self.unmarked.clear()
        except Exception:  # noqa: BLE001 - the next start publishes what is left
            log.warning("outbox flush at stop failed; rows stay for the next start")
        self.engine.dispose()

    def kill(self) -> None:
        self.running = False
        if getattr(self, "thread", None) is not None:
            self.thread.kill()
        self.engine.dispose()

    def get_dependency(self, worker_ctx) -> OutboxWriter:
        writer = OutboxWriter(self.table, self.container.service_name, worker_ctx.data)
        self.writers[worker_ctx] = writer
        return writer

    def worker_teardown(self, worker_ctx) -> None:
        # the worker's transaction is over: publish what it committed now, if it wrote any
        # event (a read or a refusal wakes nobody; the relay's own pass finds anything missed)
        writer = self.writers.pop(worker_ctx, None)
        if writer is None or writer.added:
            self.kick()

    def kick(self) -> None:
        if self.kicks.empty():
            try:
                self.kicks.put_nowait(True)
            except Exception:  # noqa: BLE001 - already kicked
                pass

    def _publish(self, payload: dict, event_type: str) -> None:
        # when it left, for the consumers' lag (services.kit.metrics)
        headers = {PUBLISHED_AT_HEADER: time.time()}
        if payload.get("correlation_id"):
            headers[f"nameko.{CORRELATION_KEY}"] = payload["correlation_id"]
        self.publisher.publish(payload, routing_key=event_type, extra_headers=headers)

    def flush(self) -> int:
        total = 0
        while True:
            sent = relay_batch(self.engine, self.table, self._publish, unmarked=self.unmarked)
            total += sent
            figures = figures_of(self.container)
            if figures is not None:
                figures.published(sent)
            if sent < BATCH_SIZE:
                return total

    def _run(self) -> None:
        backoff = POLL_SECONDS
        while self.running:
            try:
                self.kicks.get(timeout=POLL_SECONDS)
            except Empty:
                pass
            if not self.running:
                return
            try:
                self.flush()
                backoff = POLL_SECONDS
            except Exception:  # noqa: BLE001 - broker or database away: wait and try again
                log.warning("outbox relay failed; retrying in %.1fs", backoff, exc_info=True)
                # a pause that a stop cuts short
                with eventlet.Timeout(backoff, False):
                    self.stopping.wait()
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
