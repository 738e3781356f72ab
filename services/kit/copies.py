"""Copies a service keeps of another service's data, from its events (non-negotiable 12).

Events may arrive in any order (redelivery, several instances, a parked event
replayed later), so a copy remembers when the fact it holds was true (`as_of`,
the event's `occurred_at`) and an older event never overwrites a newer one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.events import Event


def keep_newest(session: Session, table: Table, key: str | tuple[str, ...], event: Event, **values: object) -> None:
    """Upsert the copy keyed by `key` with `values` as of the event's time; an event older
    than what the copy already holds changes nothing. The table has an `as_of` column."""
    keys = (key,) if isinstance(key, str) else key
    as_of = datetime.fromisoformat(event.occurred_at)
    statement = insert(table).values(as_of=as_of, **values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={**{k: v for k, v in values.items() if k not in keys}, "as_of": as_of},
            where=table.c.as_of.is_(None) | (table.c.as_of < statement.excluded.as_of),
        )
    )
