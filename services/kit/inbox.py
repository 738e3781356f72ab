"""Inbox de-duplication for event handlers (non-negotiable 6).

A handler records the event id in the same transaction as its effect; a
redelivered event finds its id already there and changes nothing twice.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.orm import Session

from contracts.events import Event
from services.kit import direct


def first_delivery(session: Session, table: Table, event: Event) -> bool:
    """Record `event` as handled; False if it was handled before."""
    inserted = direct.run(
        session, _recording(table), {"event_id": event.id, "source": event.source, "type": event.type}
    )
    return inserted.first() is not None


@cache
def _recording(table: Table) -> Insert:
    """Built once per inbox: every event of every handler runs it, and building and keying a
    statement afresh costs about twice what running a built one does."""
    return (
        insert(table)
        .values(event_id=bindparam("event_id"), source=bindparam("source"), event_type=bindparam("type"))
        .on_conflict_do_nothing(index_elements=[table.c.event_id])
        .returning(table.c.event_id)
    )
