"""The gift rules as plain functions (G-1, G-2): when and where a gift may be redeemed, the
per-member limit, the stock-low signal and the cancellation period. No framework, no
database: the service reads the figures and these decide, naming the field at fault."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.errors import InvalidState, LimitExceeded, ValidationFailed

DEFAULT_ZONE = "Asia/Shanghai"  # until org's event with the chain's own zone has arrived
CHAIN_WIDE = "*"


@dataclass(frozen=True)
class Offer:
    """What the rules need of a gift."""

    active: bool
    retired: bool
    store_ids: tuple[str, ...]
    valid_from: date | None
    valid_to: date | None
    stock_mode: str
    limit_quantity: int | None = None
    limit_period: str | None = None


def local_day(zone: str | None, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(zone or DEFAULT_ZONE)).date()


def place_of(stock_mode: str, store_id: str) -> str:
    """Where the stock is taken from: the chain's one row, or the store's."""
    return CHAIN_WIDE if stock_mode == "chain" else store_id


def check_redeemable(offer: Offer, store_id: str, today: date) -> None:
    """G-1: an active gift, offered at this store, on a day within its valid dates."""
    if offer.retired or not offer.active:
        raise InvalidState("This gift is not offered now.", {"active": ["The gift is not active."]})
    if offer.store_ids and store_id not in offer.store_ids:
        raise InvalidState("This gift is not offered at this store.", {"store_id": ["Not a store offering it."]})
    if offer.valid_from is not None and today < offer.valid_from:
        reason = f"Redeemable from {offer.valid_from.isoformat()} (today is {today.isoformat()})."
        raise InvalidState("This gift cannot be redeemed yet.", {"valid_from": [reason]})
    if offer.valid_to is not None and today > offer.valid_to:
        reason = f"Redeemable until {offer.valid_to.isoformat()} (today is {today.isoformat()})."
        raise InvalidState("This gift can no longer be redeemed.", {"valid_to": [reason]})


def check_limit(offer: Offer, already: int, quantity: int) -> None:
    """G-1: `already` is what the member holds of the gift in the limit's period (this year, or
    ever), counting redemptions completed or under way and not cancelled."""
    if offer.limit_quantity is None:
        return
    if already + quantity > offer.limit_quantity:
        period = "this year" if offer.limit_period == "year" else "in all"
        left = max(offer.limit_quantity - already, 0)
        reason = f"At most {offer.limit_quantity} per member {period}; {already} redeemed, {left} left."
        raise LimitExceeded("The member's limit for this gift would be exceeded.", {"limit_quantity": [reason]})


def stock_low_now(quantity: int, threshold: int, notified: bool) -> bool:
    """Send `gift.stock_low` once per dip: at or under the threshold and not yet told."""
    return quantity <= threshold and not notified


def cancel_until(redeemed_at: datetime, cancel_hours: int) -> datetime:
    return redeemed_at + timedelta(hours=cancel_hours)


def check_cancellable(status: str, redeemed_at: datetime, cancel_hours: int, now: datetime) -> None:
    if status != "completed":
        raise InvalidState(f"A {status} redemption cannot be cancelled.", {"status": [f"The redemption is {status}."]})
    until = cancel_until(redeemed_at, cancel_hours)
    if now > until:
        reason = f"Cancellable within {cancel_hours} hours, until {until.isoformat()}."
        raise InvalidState("The cancellation period is over.", {"cancel_hours": [reason]})


def check_stock_place(stock_mode: str, store_id: str | None) -> str:
    """The stock row a stock change moves: the chain's, or the named store's."""
    if stock_mode == "store":
        if store_id is None:
            raise ValidationFailed(fields={"store_id": ["This gift keeps stock per store: name the store."]})
        return store_id
    if store_id is not None:
        raise ValidationFailed(fields={"store_id": ["This gift keeps one stock for the chain: leave it out."]})
    return CHAIN_WIDE
