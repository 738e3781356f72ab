"""Event handlers that survive redelivery (non-negotiable 6).

`@handles("org", "chain_created")` on a service method subscribes it with one
durable queue per service (several instances share it), parses the envelope
against its contract, and runs the method inside one transaction together
with the inbox record: a redelivered event finds its id there and changes
nothing twice. The service class names its kit tables in `kit_tables` and its
session dependency `db`.

A handler that fails rolls back and the message goes back on the queue
(nameko would otherwise acknowledge it and the event would be lost); a short
pause first keeps a failing event from spinning the worker. Each failure is
counted in `event_failures`; after `MAX_ATTEMPTS` (or at once, for an event
that breaks its contract and never could succeed) the event is parked there
and acknowledged, for `python -m services.kit.parked` to list and replay.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from functools import wraps

import eventlet
from nameko.events import SERVICE_POOL, event_handler
from sqlalchemy import Table, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.errors import ValidationFailed
from contracts.events import Event, parse
from services.kit.inbox import first_delivery

log = logging.getLogger(__name__)
RETRY_PAUSE_SECONDS = 1.0
MAX_ATTEMPTS = 5


def record_failure(session: Session, table: Table, payload: dict, error: Exception, *, hopeless: bool) -> bool:
    """Count a failed attempt at the event; True when it is now parked (given up on)."""
    event_id = str(
        payload.get("id") or uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(payload, sort_keys=True, default=str))
    )
    with session.begin():
        attempts = session.execute(
            insert(table)
            .values(
                event_id=event_id,
                source=str(payload.get("source", "?"))[:40],
                event_type=str(payload.get("type", "?"))[:80],
                payload=payload,
                attempts=1,
                last_error=repr(error)[:2000],
            )
            .on_conflict_do_update(
                index_elements=[table.c.event_id],
                set_={"attempts": table.c.attempts + 1, "last_error": repr(error)[:2000], "last_failed_at": func.now()},
            )
            .returning(table.c.attempts)
        ).scalar_one()
        parked = hopeless or attempts >= MAX_ATTEMPTS
        if parked:
            session.execute(update(table).where(table.c.event_id == event_id).values(parked_at=func.now()))
    return parked


def handles(source: str, event_type: str) -> Callable:
    def decorate(method: Callable[[object, Event], None]) -> Callable:
        @wraps(method)
        def handler(self, payload: dict) -> None:
            try:
                event = parse(payload, source, event_type)
            except (ValidationFailed, ValueError) as exc:  # breaks its contract: no retry can help
                record_failure(self.db, self.kit_tables.event_failures, _as_dict(payload), exc, hopeless=True)
                log.error("event %s.%s parked: it breaks its contract: %s", source, event_type, exc)
                return
            try:
                with self.db.begin():
                    if not first_delivery(self.db, self.kit_tables.inbox, event):
                        log.info("event %s %s.%s already handled", event.id, source, event_type)
                        return
                    method(self, event)
            except Exception as exc:
                try:
                    parked = record_failure(self.db, self.kit_tables.event_failures, payload, exc, hopeless=False)
                except Exception:  # the database itself is away: just retry later
                    log.exception("could not count the failure of event %s", event.id)
                    parked = False
                if parked:
                    log.exception("event %s %s.%s parked after %d attempts", event.id, source, event_type, MAX_ATTEMPTS)
                    return
                log.exception("event %s %s.%s failed; it goes back on the queue", event.id, source, event_type)
                eventlet.sleep(RETRY_PAUSE_SECONDS)
                raise

        return event_handler(
            source, event_type, handler_type=SERVICE_POOL, reliable_delivery=True, requeue_on_error=True
        )(handler)

    return decorate


def _as_dict(payload: object) -> dict:
    return payload if isinstance(payload, dict) else {"raw": repr(payload)[:2000]}
