"""The kit's own tables, created in every service's schema.

`outbox` holds events written in the business transaction until the relay
publishes them (a row the broker keeps refusing waits out a growing pause,
then is parked there, so it cannot hold up the rows behind it); `inbox` remembers which events a service has handled;
`idempotency_keys` remembers the first answer to a mutating request;
`event_failures` counts the failed attempts at an event, and parks it after
too many so one bad event cannot block or spin its queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Integer, MetaData, String, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class KitTables:
    outbox: Table
    inbox: Table
    idempotency: Table
    event_failures: Table


def define_kit_tables(metadata: MetaData) -> KitTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, Identity(), primary_key=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(80), nullable=False),
        Column("chain_id", String(36)),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("last_error", Text),
        # times this row itself was refused (it cannot be serialised, the broker rejects it);
        # a broker that cannot be reached counts in `attempts` only
        Column("rejections", Integer, nullable=False, server_default="0"),
        # not tried again before this time, after a refusal
        Column("retry_at", DateTime(timezone=True)),
        # given up on after too many refusals: kept, never relayed until an operator releases it
        Column("parked_at", DateTime(timezone=True)),
    )
    # the relay only ever scans what is still unsent
    Index("ix_outbox_unsent", outbox.c.seq, postgresql_where=text("sent_at IS NULL"))
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("source", String(40), nullable=False),
        Column("event_type", String(80), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    idempotency = Table(
        "idempotency_keys",
        metadata,
        Column("scope", String(64), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("operation", String(80), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("response", JSONB),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    event_failures = Table(
        "event_failures",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("source", String(40), nullable=False),
        Column("event_type", String(80), nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("last_error", Text, nullable=False),
        Column("first_failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("last_failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        # set when given up on: the message was acknowledged, the event waits here for an operator
        Column("parked_at", DateTime(timezone=True)),
    )
    return KitTables(outbox=outbox, inbox=inbox, idempotency=idempotency, event_failures=event_failures)
