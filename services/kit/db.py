"""Database access: one SQLAlchemy session per nameko worker.

Each service connects as its own role, which owns its schema and nothing else
(non-negotiable 1). Always `postgresql+psycopg2://`: under eventlet's monkey
patch psycopg2 waits cooperatively, where psycopg 3 would block the hub.

Connections (README, "Database connections"): a nameko worker uses at most one
connection at a time, so the workers' pool is exactly `max_workers` with no
overflow, and the outbox relay has one more: `max_workers + 1` per service
instance, never more. No ping before each checkout (a round trip on the hot
path): a connection found dead fails its statement, SQLAlchemy then discards
every connection made before it, and the next worker connects afresh.

A database that cannot be reached answers `DependencyUnavailable` (503:
nothing was done), except when the connection is lost during COMMIT: the
commit may have happened, so that is `ServiceTimeout` (504, outcome unknown).
"""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary, WeakSet

from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, MetaData, create_engine, event, func
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from contracts.errors import DependencyUnavailable, HuiyuanError, ServiceTimeout
from services.kit.deadlines import guard_commits
from services.kit.prepared import install as install_prepared

log = logging.getLogger(__name__)

# seconds: how long a worker waits for a pooled connection, and for PostgreSQL to accept a new
# one, before it answers 503; both short, since the caller is waiting and nothing was done yet
POOL_TIMEOUT = 2.0
CONNECT_TIMEOUT = 2  # libpq takes whole seconds, and 2 is its least
# connections older than this are replaced at their next checkout (a proxy or PgBouncer that
# drops old server connections, a failover that left them pointing at the old primary)
POOL_RECYCLE = 1800
# a runaway statement must not hold a worker (and its locks) forever
STATEMENT_TIMEOUT_MS = 30000
LOCK_TIMEOUT_MS = 10000

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


def pool_budget(max_workers: int) -> dict[str, int]:
    """PostgreSQL connections one service instance may hold: one per worker, one for the relay."""
    return {"workers": max_workers, "relay": 1, "total": max_workers + 1}


def make_engine(
    url: str,
    pool_size: int,
    application_name: str,
    settings: dict[str, str] | None = None,
    *,
    prepared: bool = False,
) -> Engine:
    """An engine that never holds more than `pool_size` connections. `settings`: further
    PostgreSQL settings of its connections, as startup options (a pooler may drop them:
    only for what changes speed, never behaviour). `prepared`: the statements it runs
    again and again are prepared on the server (services.kit.prepared; not behind a
    pooler in transaction mode)."""
    extra = "".join(f" -c {name}={value}" for name, value in (settings or {}).items())
    if not url.startswith("postgresql+psycopg2://"):
        raise ValueError("use postgresql+psycopg2:// (psycopg 3 blocks the eventlet hub)")
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT,
        pool_recycle=POOL_RECYCLE,
        connect_args={
            "application_name": application_name,
            "connect_timeout": CONNECT_TIMEOUT,
            # a database host that vanished (no reset, no answer) is noticed in about a minute
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
            # provisioning sets the same on each role, for a pooler that drops startup options
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}{extra}",
        },
    )
    _track_commits(engine)
    if prepared:
        install_prepared(engine)
    return engine


# Connections whose COMMIT has been sent: a failure then leaves the outcome unknown.
_committing: WeakSet[Connection] = WeakSet()


def _track_commits(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _began(conn: Connection) -> None:
        _committing.discard(conn)

    @event.listens_for(engine, "commit")
    def _committing_now(conn: Connection) -> None:
        _committing.add(conn)

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn: Connection) -> None:
        _committing.discard(conn)

    @event.listens_for(engine, "handle_error")
    def _mark(context: Any) -> None:
        error = context.sqlalchemy_exception
        if error is not None and context.connection is not None and context.connection in _committing:
            error.during_commit = True


# SQLSTATEs of a database that is busy rather than away: lock timeout, deadlock, serialization
# failure, statement timeout. The statement failed and the transaction rolled back: nothing done.
BUSY_CODES = {"55P03", "40P01", "40001", "57014"}


def outage_answer(error: BaseException) -> HuiyuanError | None:
    """The typed answer for a database failure, or None when `error` is not one.

    Connection refused, lost or terminated, no connection slots left, a pool
    timeout, a lock or statement timeout: the transaction did not commit, so
    503 (nothing was done). The same during COMMIT: 504, the commit may have
    happened and only a retry with the same idempotency key is safe."""
    if isinstance(error, sa_exc.TimeoutError):
        return DependencyUnavailable("Every database connection of the service is busy; nothing was done. Try again.")
    if not isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
        return None
    if getattr(error, "during_commit", False):
        return ServiceTimeout(
            "The connection to the database was lost while committing: the outcome is not known. "
            "Retry with the same Idempotency-Key."
        )
    if getattr(error.orig, "pgcode", None) in BUSY_CODES:
        return DependencyUnavailable("The database was busy; nothing was done. Try again.")
    return DependencyUnavailable()


def answering_outages(method: Callable) -> Callable:
    """Wrap an RPC method so a database failure is its typed answer (see `outage_answer`), not a 500.
    The wrapper keeps the method's signature, which nameko checks before running it."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as error:
            answer = outage_answer(error)
            log.warning("%s: database failure answered as %s: %s", method.__name__, answer.error_code, error)
            raise answer from error

    wrapper.__signature__ = inspect.signature(method)
    return wrapper


def prepares(config: dict) -> bool:
    """Whether a service's engines prepare statements (`Settings.db_prepared`; on by default)."""
    settings = config.get("HUIYUAN")
    return True if settings is None else settings.db_prepared


class Database(DependencyProvider):
    """Injects a `Session`; the worker commits with `session.begin()` blocks."""

    def setup(self) -> None:
        config = self.container.config
        service = self.container.service_name
        self.engine = make_engine(
            config["DATABASE_URLS"][service],
            pool_size=pool_budget(int(config.get("max_workers", 10)))["workers"],
            application_name=f"huiyuan-{service}",
            prepared=prepares(config),
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
        if session is None:
            return
        try:
            session.close()
        except Exception:  # noqa: BLE001 - a dead connection must not stop the service
            # nameko treats an error in teardown as fatal to the whole service; the pool
            # throws the broken connection away and the next worker connects afresh
            log.warning("closing a worker's session failed (database away?)", exc_info=True)

    def stop(self) -> None:
        self.engine.dispose()

    def kill(self) -> None:
        self.engine.dispose()
