"""Where an operation happens: a real, open store of the chain, asked of org;
and whether a payment method is one of the chain's.

Services other than org know stores only by id. Member asks org about the
store before a card moves there; the wallet keeps stores' status from org's
events and asks org only about a store it has not seen yet. Asked before the
caller's transaction opens, so no database lock waits on another service.
"""

from __future__ import annotations

from contracts.auth import Actor
from contracts.errors import NotFound, ValidationFailed
from services.kit.rpc import ServiceRpc


def require_open_store(org: ServiceRpc, actor: Actor, chain_id: str, store_id: str, field: str = "store_id") -> dict:
    """The store, if it exists in `chain_id`, `actor` may see it, and it is open."""
    try:
        store = org.get_store(actor.to_dict(), chain_id, store_id)
    except NotFound:
        raise ValidationFailed("No such store in your scope.", {field: ["No such store in this chain."]}) from None
    require_open(store["status"], field)
    return store


def require_open(status: str, field: str = "store_id") -> None:
    if status != "active":
        raise ValidationFailed(f"The store is {status}.", {field: [f"The store is {status}."]})


def require_payment_method(
    org: ServiceRpc, actor: Actor, chain_id: str, code: str, field: str = "payment_method"
) -> None:
    """`code` is one of the chain's active payment methods (S-2), so the till's
    figures add up by method and a typo is caught at the counter."""
    methods = org.list_dictionary(actor.to_dict(), chain_id, "payment_methods", {})
    known = sorted(m["code"] for m in methods["items"])
    if code not in known:
        raise ValidationFailed(
            f"{code!r} is not a payment method of this chain.", {field: [f"Use one of: {', '.join(known)}."]}
        )
