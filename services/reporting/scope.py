"""Who sees which report (O-2..O-5, non-negotiable 8), checked again here after the gateway.

HQ (and the platform admin) see the whole chain; a franchisee their stores; a store manager
their store; a cashier only their own takings of today. A store outside one's scope is not
found, never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.auth import CASHIER, CHAIN_STAFF, HQ, Actor
from contracts.errors import Forbidden, NotFound
from contracts.reporting import CONSUMPTIONS, RECHARGES, STORE_SUMMARY

# what a cashier's "own takings of the day" are made of
CASHIER_REPORTS = (STORE_SUMMARY, CONSUMPTIONS, RECHARGES)


@dataclass(frozen=True)
class Scope:
    stores: tuple[str, ...] | None  # None: every store of the chain
    operator_id: str | None  # only this operator's transactions (a cashier's own)

    def shows(self, store_id: str | None) -> bool:
        return self.stores is None or store_id in self.stores


def scope_of(
    actor: Actor,
    chain_id: str,
    report: str,
    store_id: str | None,
    days: tuple[date, date] | None,
    today: date,
) -> Scope:
    actor.require_chain(chain_id)
    actor.require_role(*HQ, *CHAIN_STAFF)
    if actor.sees_whole_chain:
        return Scope((store_id,) if store_id else None, None)
    if store_id is not None and store_id not in actor.store_ids:
        raise NotFound("No such store in your scope.", {"store_id": ["Not one of your stores."]})
    stores = (store_id,) if store_id else tuple(actor.store_ids)
    if actor.role != CASHIER:
        return Scope(stores, None)
    if report not in CASHIER_REPORTS:
        raise Forbidden("A cashier sees only their own takings of the day.")
    if days != (today, today):
        raise Forbidden(
            "A cashier sees only their own takings of today.",
            {"since": [f"A cashier may ask for {today.isoformat()} only."]},
        )
    return Scope(stores, actor.staff_id)
