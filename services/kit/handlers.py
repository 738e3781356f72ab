"""Event handlers that survive redelivery (non-negotiable 6).

`@handles("org", "chain_created")` on a service method subscribes it with one
durable queue per service (several instances share it), parses the envelope
against its contract, and runs the method inside one transaction together
with the inbox record: a redelivered event finds its id there and changes
nothing twice. The service class names its kit tables in `kit_tables` and its
session dependency `db`.

A handler that fails rolls back and the message goes back on the queue
(nameko would otherwise acknowledge it and the event would be lost); a short
pause first keeps a failing event from spinning the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

import eventlet
from nameko.events import SERVICE_POOL, event_handler

from contracts.events import Event, parse
from services.kit.inbox import first_delivery

log = logging.getLogger(__name__)
RETRY_PAUSE_SECONDS = 1.0


def handles(source: str, event_type: str) -> Callable:
    def decorate(method: Callable[[object, Event], None]) -> Callable:
        @wraps(method)
        def handler(self, payload: dict) -> None:
            event = parse(payload, source, event_type)
            try:
                with self.db.begin():
                    if not first_delivery(self.db, self.kit_tables.inbox, event):
                        log.info("event %s %s.%s already handled", event.id, source, event_type)
                        return
                    method(self, event)
            except Exception:
                log.exception("event %s %s.%s failed; it goes back on the queue", event.id, source, event_type)
                eventlet.sleep(RETRY_PAUSE_SECONDS)
                raise

        return event_handler(
            source, event_type, handler_type=SERVICE_POOL, reliable_delivery=True, requeue_on_error=True
        )(handler)

    return decorate
