"""The `health` RPC every service has: is its database there, and is work piling up?

A service class mixes in `HealthCheck` (it has `db` and `kit_tables`). The
gateway's `/ready` and `/metrics` call `health` on every service at once. The
mixin also gives the service its own `/metrics`, `/health` and `/ready` on the
process's metrics port (`services.kit.metrics`), which use `check` too.
"""

from __future__ import annotations

import logging

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.kit.metrics import Metrics
from services.kit.outbox import backlog
from services.kit.rpc import rpc
from services.kit.tables import KitTables

log = logging.getLogger(__name__)

# a health check must answer well inside the gateway's probe timeout
STATEMENT_TIMEOUT_MS = 1000
DATABASE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def check(session: Session, kit: KitTables) -> dict:
    """`{"database": bool, "figures": {...} | None}`: `SELECT 1`, then the outbox and parked figures."""
    # twice: after a database restart the first try meets a dead pooled connection, which
    # discards the pool; the second connects afresh and tells whether the database is back
    for attempt in (1, 2):
        try:
            with session.begin():
                # LOCAL: gone with the transaction, so a pooled (or PgBouncer) connection keeps no trace
                session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
                session.execute(text("SELECT 1"))
            break
        except DATABASE_ERRORS as error:
            if attempt == 1 and getattr(error, "connection_invalidated", False):
                continue
            log.warning("health: the database is not reachable: %s", error)
            return {"database": False, "figures": None}
    try:
        with session.begin():
            session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
            figures = backlog(session.connection(), kit.outbox, kit.event_failures)
    except sa_exc.DBAPIError as error:  # reachable, but the figures did not come in time
        log.warning("health: the outbox figures could not be read: %s", error)
        figures = None
    return {"database": True, "figures": figures}


class HealthCheck:
    """Mixin: the `health` RPC, for a service class with `db` and `kit_tables`; its figures."""

    metrics = Metrics()

    @rpc
    def health(self) -> dict:
        return check(self.db, self.kit_tables)
