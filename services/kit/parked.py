"""Events a service gave up on: `python -m services.kit.parked list|replay|release <service> [id ...]`.

An event whose handler failed `MAX_ATTEMPTS` times (or that broke its
contract) is parked in the service's `event_failures` table and its message
acknowledged, so it no longer blocks or spins the queue. Once the cause is
fixed, `replay` publishes it again: the service that failed handles it now,
the others find it in their inbox and change nothing.

An outgoing event the broker kept refusing is parked in the service's own
`outbox` (`parked_at`); `list` shows those too, and `release` hands them back
to the relay, which tries them again (seq numbers, or all).
"""

from __future__ import annotations

import sys

from kombu import Connection, Exchange
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from services.kit import config
from services.kit.db import make_engine


def _table(service: str):
    return _kit(service).event_failures


def _kit(service: str):
    return __import__(f"services.{service}.models", fromlist=["kit"]).kit


def parked_outbox(engine: Engine, service: str) -> list:
    table = _kit(service).outbox
    with engine.connect() as conn:
        return conn.execute(
            select(table).where(table.c.sent_at.is_(None), table.c.parked_at.is_not(None)).order_by(table.c.seq)
        ).all()


def release(engine: Engine, service: str, seqs: list[int] | None = None) -> int:
    """Give parked outbox rows back to the relay, with their refusals forgotten; returns how many."""
    table = _kit(service).outbox
    where = [table.c.sent_at.is_(None), table.c.parked_at.is_not(None)]
    if seqs:
        where.append(table.c.seq.in_(seqs))
    with engine.begin() as conn:
        result = conn.execute(update(table).where(*where).values(parked_at=None, retry_at=None, rejections=0))
    return result.rowcount


def parked(engine: Engine, service: str) -> list:
    table = _table(service)
    with engine.connect() as conn:
        return conn.execute(select(table).where(table.c.parked_at.is_not(None)).order_by(table.c.parked_at)).all()


def replay(engine: Engine, service: str, amqp_uri: str, event_ids: list[str] | None = None) -> int:
    """Publish parked events again and forget their failures; returns how many."""
    table = _table(service)
    rows = [r for r in parked(engine, service) if not event_ids or r.event_id in event_ids]
    with Connection(amqp_uri) as connection:
        producer = connection.Producer(serializer="json")
        for row in rows:
            exchange = Exchange(f"{row.source}.events", type="topic", durable=True)
            producer.publish(row.payload, exchange=exchange, routing_key=row.event_type, declare=[exchange])
            with engine.begin() as conn:
                conn.execute(delete(table).where(table.c.event_id == row.event_id))
    return len(rows)


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] not in ("list", "replay", "release") or argv[1] not in config.SERVICES:
        sys.exit(
            f"usage: python -m services.kit.parked list|replay|release <{'|'.join(config.SERVICES)}> "
            "[event_id ... | outbox seq ...]"
        )
    settings = config.load()
    engine = make_engine(settings.database_url(argv[1]), pool_size=1, application_name="huiyuan-parked")
    try:
        if argv[0] == "list":
            for row in parked(engine, argv[1]):
                print(f"{row.event_id} {row.source}.{row.event_type} attempts={row.attempts} {row.last_error}")
            for row in parked_outbox(engine, argv[1]):
                refused = f"refusals={row.rejections} {row.last_error}"
                print(f"outbox seq={row.seq} {row.event_id} {row.event_type} {refused}")
        elif argv[0] == "release":
            print(f"released {release(engine, argv[1], [int(s) for s in argv[2:]] or None)} outbox row(s)")
        else:
            print(f"replayed {replay(engine, argv[1], settings.amqp_uri, argv[2:] or None)} event(s)")
    finally:
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
