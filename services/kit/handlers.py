"""Event handlers that survive redelivery (non-negotiable 6).

`@handles("org", "chain_created")` on a service method subscribes it with one
durable queue per service (several instances share it), parses the envelope
against its contract, and runs the method inside one transaction together
with the inbox record: a redelivered event finds its id there and changes
nothing twice. The service class names its kit tables in `kit_tables` and its
session dependency `db`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from nameko.events import SERVICE_POOL, event_handler

from contracts.events import Event, parse
from services.kit.inbox import first_delivery

log = logging.getLogger(__name__)


def handles(source: str, event_type: str) -> Callable:
    def decorate(method: Callable[[object, Event], None]) -> Callable:
        @wraps(method)
        def handler(self, payload: dict) -> None:
            event = parse(payload, source, event_type)
            with self.db.begin():
                if not first_delivery(self.db, self.kit_tables.inbox, event):
                    log.info("event %s %s.%s already handled", event.id, source, event_type)
                    return
                method(self, event)

        return event_handler(source, event_type, handler_type=SERVICE_POOL, reliable_delivery=True)(handler)

    return decorate
