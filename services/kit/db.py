"""Database access: one SQLAlchemy session per nameko worker.

Each service connects as its own role, which owns its schema and nothing else
(non-negotiable 1). Always `postgresql+psycopg2://`: under eventlet's monkey
patch psycopg2 waits cooperatively, where psycopg 3 would block the hub.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, MetaData, create_engine, func
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from services.kit.rpc import guard_commits

# stable constraint names, so migrations generated anywhere match
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def new_id() -> str:
    """Object ids are UUID strings (contracts.base.Id)."""
    return str(uuid.uuid4())


class Timestamps:
    """Model mixin: when a row was made and last changed, by the database clock."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


def make_engine(url: str, pool_size: int, application_name: str) -> Engine:
    if not url.startswith("postgresql+psycopg2://"):
        raise ValueError("use postgresql+psycopg2:// (psycopg 3 blocks the eventlet hub)")
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max(2, pool_size // 2),
        pool_pre_ping=True,
        connect_args={
            "application_name": application_name,
            # a runaway statement must not hold a worker (and its locks) forever
            "options": "-c statement_timeout=30000 -c lock_timeout=10000",
        },
    )


class Database(DependencyProvider):
    """Injects a `Session`; the worker commits with `session.begin()` blocks."""

    def setup(self) -> None:
        config = self.container.config
        service = self.container.service_name
        self.engine = make_engine(
            config["DATABASE_URLS"][service],
            pool_size=int(config.get("max_workers", 10)),
            application_name=f"huiyuan-{service}",
        )
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.sessions: WeakKeyDictionary = WeakKeyDictionary()

    def get_dependency(self, worker_ctx) -> Session:
        session = self.sessionmaker()
        guard_commits(session, worker_ctx)  # an RPC past its deadline commits nothing
        self.sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx) -> None:
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()

    def stop(self) -> None:
        self.engine.dispose()

    def kill(self) -> None:
        self.engine.dispose()
