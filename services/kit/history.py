"""The `history` RPC: a service's events so far, from its own outbox, in the order written.

Outbox rows are kept after they are sent, so they are the service's history of
facts. A consumer that builds its own read model (reporting) pages through it
to rebuild from nothing; the events are the very payloads once published, and
its inbox makes any it also receives live count once.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.kit.rpc import rpc
from services.kit.tables import KitTables

MAX_PAGE = 1000


def page(session: Session, kit: KitTables, after_seq: int, limit: int) -> dict:
    """Up to `limit` events written after `after_seq`; `next_seq` is None at the end."""
    limit = max(1, min(int(limit), MAX_PAGE))
    outbox = kit.outbox
    with session.begin():
        rows = session.execute(
            select(outbox.c.seq, outbox.c.payload)
            .where(outbox.c.seq > int(after_seq))
            .order_by(outbox.c.seq)
            .limit(limit)
        ).all()
    return {
        "events": [row.payload for row in rows],
        "next_seq": rows[-1].seq if len(rows) == limit else None,
    }


class History:
    """Mixin: the `history` RPC, for a service class with `db` and `kit_tables`. Internal:
    the gateway has no route to it."""

    @rpc
    def history(self, after_seq: int, limit: int = 500) -> dict:
        return page(self.db, self.kit_tables, after_seq, limit)
