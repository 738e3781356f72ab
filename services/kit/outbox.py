"""The transactional outbox (non-negotiable 6).

A worker adds events to the `outbox` table inside its business transaction,
so an event exists if and only if the change it describes was committed. A
relay in every service instance publishes unsent rows to the service's nameko
events exchange and marks them sent. Instances share the table safely
(`FOR UPDATE SKIP LOCKED`); if the broker is down the rows simply wait, and if
a row is published twice (crash between publish and mark) consumers' inboxes
drop the duplicate.
"""

from __future__ import annotations

import logging
from datetime import datetime

import eventlet
from eventlet.queue import Empty, LightQueue
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from contracts import events as contracts_events
from services.kit.db import make_engine
from services.kit.logs import CORRELATION_KEY

log = logging.getLogger(__name__)

BATCH_SIZE = 200
POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 15.0


class OutboxWriter:
    """What a worker sees: `add(session, type, data, chain_id=...)`."""

    def __init__(self, table: Table, source: str, context_data: dict | None = None) -> None:
        self.table = table
        self.source = source
        # read when an event is added: the worker's correlation id may be settled after injection
        self.context_data = context_data if context_data is not None else {}

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
        event = contracts_events.envelope(
            self.source,
            event_type,
            data,
            chain_id=chain_id,
            correlation_id=self.correlation_id,
            occurred_at=occurred_at,
        )
        session.execute(
            insert(self.table).values(event_id=event["id"], event_type=event_type, chain_id=chain_id, payload=event)
        )
        return event


def relay_batch(engine, table: Table, publish, limit: int = BATCH_SIZE) -> int:
    """Publish up to `limit` unsent events in order; returns how many were sent."""
    with engine.begin() as conn:
        rows = conn.execute(
            select(table.c.seq, table.c.event_type, table.c.payload)
            .where(table.c.sent_at.is_(None))
            .order_by(table.c.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        sent: list[int] = []
        failure: Exception | None = None
        for row in rows:
            try:
                publish(row.payload, row.event_type)
            except Exception as exc:  # noqa: BLE001 - recorded, re-raised after commit
                failure = exc
                conn.execute(
                    update(table)
                    .where(table.c.seq == row.seq)
                    .values(attempts=table.c.attempts + 1, last_error=repr(exc)[:1000])
                )
                break
            sent.append(row.seq)
        # whatever got out is marked sent, even when a later publish failed
        if sent:
            conn.execute(update(table).where(table.c.seq.in_(sent)).values(sent_at=func.now()))
    if failure is not None:
        raise failure
    return len(sent)


class Outbox(DependencyProvider):
    """Injects an `OutboxWriter`; runs the relay for this service instance."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def setup(self) -> None:
        config = self.container.config
        service = self.container.service_name
        self.engine = make_engine(
            config["DATABASE_URLS"][service], pool_size=1, application_name=f"huiyuan-{service}-relay"
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
        self.running = False

    def start(self) -> None:
        self.running = True
        self.thread = self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def stop(self) -> None:
        self.running = False
        self.kick()
        # one last flush, so a clean shutdown leaves nothing behind
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - the next start publishes what is left
            log.warning("outbox flush at stop failed; rows stay for the next start")
        self.thread.kill()
        self.engine.dispose()

    def kill(self) -> None:
        self.running = False
        if getattr(self, "thread", None) is not None:
            self.thread.kill()
        self.engine.dispose()

    def get_dependency(self, worker_ctx) -> OutboxWriter:
        return OutboxWriter(self.table, self.container.service_name, worker_ctx.data)

    def worker_teardown(self, worker_ctx) -> None:
        # the worker's transaction is over: publish what it committed now
        self.kick()

    def kick(self) -> None:
        if self.kicks.empty():
            try:
                self.kicks.put_nowait(True)
            except Exception:  # noqa: BLE001 - already kicked
                pass

    def _publish(self, payload: dict, event_type: str) -> None:
        headers = {}
        if payload.get("correlation_id"):
            headers[f"nameko.{CORRELATION_KEY}"] = payload["correlation_id"]
        self.publisher.publish(payload, routing_key=event_type, extra_headers=headers)

    def flush(self) -> int:
        total = 0
        while True:
            sent = relay_batch(self.engine, self.table, self._publish)
            total += sent
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
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
