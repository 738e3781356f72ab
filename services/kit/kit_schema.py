"""The kit's own tables in a service's migrations, written once.

Every service keeps an outbox, an inbox, idempotency records and event
failures in its own schema (`services.kit.tables` defines them for the
models). Their migrations are steps here, each frozen once released: a
service's migration calls the steps it needs (`create_messaging_tables`,
then `create_event_failures`), and a new service's first migration calls
`create_all(op, schema)`, which runs every step in order. A change to a kit
table is a new step, added to `STEPS` and called by a new migration of each
service, never an edit of a released one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def create_messaging_tables(op: Any, schema: str) -> None:
    """Step 1: idempotency records, inbox and outbox."""
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("operation", sa.String(length=80), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
        schema=schema,
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_inbox")),
        schema=schema,
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("chain_id", sa.String(length=36), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
        schema=schema,
    )
    op.create_index(
        "ix_outbox_unsent", "outbox", ["seq"], unique=False, schema=schema, postgresql_where=sa.text("sent_at IS NULL")
    )


def drop_messaging_tables(op: Any, schema: str) -> None:
    op.drop_index("ix_outbox_unsent", table_name="outbox", schema=schema, postgresql_where=sa.text("sent_at IS NULL"))
    op.drop_table("outbox", schema=schema)
    op.drop_table("inbox", schema=schema)
    op.drop_table("idempotency_keys", schema=schema)


def create_event_failures(op: Any, schema: str) -> None:
    """Step 2: failed attempts at events, and the parked ones."""
    op.create_table(
        "event_failures",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_failures")),
        schema=schema,
    )


def drop_event_failures(op: Any, schema: str) -> None:
    op.drop_table("event_failures", schema=schema)


def add_outbox_parking(op: Any, schema: str) -> None:
    """Step 3: an outbox row the broker refuses is retried later, then parked, never blocking the rest."""
    op.add_column("outbox", sa.Column("rejections", sa.Integer(), server_default="0", nullable=False), schema=schema)
    op.add_column("outbox", sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True), schema=schema)
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True), schema=schema)


def drop_outbox_parking(op: Any, schema: str) -> None:
    op.drop_column("outbox", "parked_at", schema=schema)
    op.drop_column("outbox", "retry_at", schema=schema)
    op.drop_column("outbox", "rejections", schema=schema)


# (upgrade, downgrade) in release order
STEPS: tuple[tuple[Callable[[Any, str], None], Callable[[Any, str], None]], ...] = (
    (create_messaging_tables, drop_messaging_tables),
    (create_event_failures, drop_event_failures),
    (add_outbox_parking, drop_outbox_parking),
)


def create_all(op: Any, schema: str) -> None:
    """Every kit table as it is now: for a new service's first migration."""
    for upgrade, _ in STEPS:
        upgrade(op, schema)


def drop_all(op: Any, schema: str) -> None:
    for _, downgrade in reversed(STEPS):
        downgrade(op, schema)
