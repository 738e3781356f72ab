"""Events a service gave up on: `python -m services.kit.parked list|replay <service> [event_id ...]`.

An event whose handler failed `MAX_ATTEMPTS` times (or that broke its
contract) is parked in the service's `event_failures` table and its message
acknowledged, so it no longer blocks or spins the queue. Once the cause is
fixed, `replay` publishes it again: the service that failed handles it now,
the others find it in their inbox and change nothing.
"""

from __future__ import annotations

import sys

from kombu import Connection, Exchange
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from services.kit import config
from services.kit.db import make_engine


def _table(service: str):
    module = __import__(f"services.{service}.models", fromlist=["kit"])
    return module.kit.event_failures


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
    if len(argv) < 2 or argv[0] not in ("list", "replay") or argv[1] not in config.SERVICES:
        sys.exit(f"usage: python -m services.kit.parked list|replay <{'|'.join(config.SERVICES)}> [event_id ...]")
    settings = config.load()
    engine = make_engine(settings.database_url(argv[1]), pool_size=1, application_name="huiyuan-parked")
    try:
        if argv[0] == "list":
            for row in parked(engine, argv[1]):
                print(f"{row.event_id} {row.source}.{row.event_type} attempts={row.attempts} {row.last_error}")
        else:
            print(f"replayed {replay(engine, argv[1], settings.amqp_uri, argv[2:] or None)} event(s)")
    finally:
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
