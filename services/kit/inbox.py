"""Inbox de-duplication for event handlers (non-negotiable 6).

A handler records the event id in the same transaction as its effect; a
redelivered event finds its id already there and changes nothing twice.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.events import Event


def first_delivery(session: Session, table: Table, event: Event) -> bool:
    """Record `event` as handled; False if it was handled before."""
    inserted = session.execute(
        insert(table)
        .values(event_id=event.id, source=event.source, event_type=event.type)
        .on_conflict_do_nothing(index_elements=[table.c.event_id])
        .returning(table.c.event_id)
    ).first()
    return inserted is not None
