"""Who sees what of a member, and at which store an operation happens (O-7). No I/O."""

from __future__ import annotations

from contracts.auth import Actor
from contracts.errors import ValidationFailed


def sees_member(actor: Actor, chain_id: str, home_store_id: str | None) -> bool:
    """HQ sees the whole chain; other staff the members enrolled at their store(s)."""
    return actor.can_access_store(chain_id, home_store_id)


def operator_store(actor: Actor, chain_id: str, requested: str | None, field: str = "store_id") -> str:
    """The store where the counter is: HQ names it; store staff are at theirs."""
    if actor.sees_whole_chain:
        if requested is None:
            raise ValidationFailed("Name the store where this happens.", {field: ["Required for HQ."]})
        return requested
    if requested is None:
        if len(actor.store_ids) == 1:
            return actor.store_ids[0]
        raise ValidationFailed("Name the store where this happens.", {field: ["You work in several stores; name one."]})
    if not actor.can_access_store(chain_id, requested):
        raise ValidationFailed("That is not your store.", {field: ["Not one of your stores."]})
    return requested
