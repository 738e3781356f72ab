"""Inbox de-duplication for event handlers (non-negotiable 6).

A handler records the event id in the same transaction as its effect; a
redelivered event finds its id already there and changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from sqlalchemy import String, Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, Insert, insert
from sqlalchemy.orm import Session

from contracts.events import Event
from services.kit import direct


def first_delivery(session: Session, table: Table, event: Event) -> bool:
    """Record `event` as handled; False if it was handled before."""
    return event.id in first_deliveries(session, table, [event])


def first_deliveries(session: Session, table: Table, events: Sequence[Event]) -> set[str]:
    """Record events as handled (one, or a batch), in one statement; the ids of those not
    handled before. In event-id order: two transactions recording overlapping batches (a redelivery
    racing the first delivery) wait for each other in one order rather than deadlock."""
    rows = sorted({(event.id, event.source, event.type) for event in events})
    inserted = direct.run(
        session,
        _recording(table),
        {"ids": [r[0] for r in rows], "sources": [r[1] for r in rows], "types": [r[2] for r in rows]},
    )
    return {row[0] for row in inserted}


@cache
def _recording(table: Table) -> Insert:
    """Built once per inbox: every event of every handler runs it, and building and keying a
    statement afresh costs about twice what running a built one does."""
    text_array = ARRAY(String)
    given = (
        func.unnest(
            bindparam("ids", type_=text_array),
            bindparam("sources", type_=text_array),
            bindparam("types", type_=text_array),
        )
        .table_valued("event_id", "source", "event_type")
        .render_derived()
    )
    return (
        insert(table)
        .from_select(["event_id", "source", "event_type"], select(given.c.event_id, given.c.source, given.c.event_type))
        .on_conflict_do_nothing(index_elements=[table.c.event_id])
        .returning(table.c.event_id)
    )
