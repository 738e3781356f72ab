"""HTTP operations of the `gift` service: the chain's catalogue (HQ manages it, staff see what
their store offers), redemption for points and its cancellation, the record and receipts."""

from __future__ import annotations

from contracts import gift as c
from contracts.auth import CHAIN_STAFF, HQ, HQ_ADMIN, PLATFORM_ADMIN, STORE_MANAGER
from contracts.base import page_of
from gateway.operations import ACTOR, BODY, KEY, QUERY, Operation, forward

GIFTS = "/chains/{chain_id}/gifts"
GIFT = f"{GIFTS}/{{gift_id}}"
REDEMPTIONS = "/chains/{chain_id}/gift-redemptions"
REDEMPTION = f"{REDEMPTIONS}/{{redemption_id}}"
KEYED = "Send an Idempotency-Key: a retry with the same key and body returns the first answer."
SAGA = (
    "G-2: the stock and the points are taken together or neither. 201 completed; 202 pending when the points "
    "service's answer is not known yet: the redemption completes (or is refused and the stock released) by "
    "itself, and a retry with the same key returns where it stands. "
)

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        GIFTS,
        "The chain's gifts; with store_id, what that store offers today",
        "gift",
        forward("gift.list_gifts", ACTOR, "chain_id", QUERY),
        query=c.GiftQuery,
        response=page_of(c.Gift),
        roles=CHAIN_STAFF,
        description="G-1. Staff of a store see what their store offers now (active, within its valid dates, "
        "offered there) with the stock they can hand out; HQ sees the whole catalogue.",
    ),
    Operation(
        "POST",
        GIFTS,
        "Add a gift to the catalogue (HQ)",
        "gift",
        forward("gift.create_gift", ACTOR, "chain_id", BODY, KEY),
        body=c.GiftCreate,
        response=c.Gift,
        status=201,
        roles=HQ,
        needs_key=True,
        description="G-1. Market price in fen; valid dates are the chain's local days, both included; a per-member "
        "limit per year or for ever; stock for the chain or per store. " + KEYED,
    ),
    Operation(
        "GET",
        GIFT,
        "One gift",
        "gift",
        forward("gift.get_gift", ACTOR, "chain_id", "gift_id"),
        response=c.Gift,
        roles=CHAIN_STAFF,
    ),
    Operation(
        "PATCH",
        GIFT,
        "Change a gift (HQ)",
        "gift",
        forward("gift.update_gift", ACTOR, "chain_id", "gift_id", BODY),
        body=c.GiftUpdate,
        response=c.Gift,
        roles=HQ,
        description="G-1. The stock moves by its own operation; a retired gift is kept as it was (422).",
    ),
    Operation(
        "DELETE",
        GIFT,
        "Remove a gift (HQ): deleted if never redeemed, else retired and kept",
        "gift",
        forward("gift.remove_gift", ACTOR, "chain_id", "gift_id"),
        response=c.GiftRemoved,
        roles=HQ,
    ),
    Operation(
        "POST",
        f"{GIFT}/stock",
        "Add or take out stock (HQ)",
        "gift",
        forward("gift.change_stock", ACTOR, "chain_id", "gift_id", BODY, KEY),
        body=c.StockChange,
        response=c.Gift,
        roles=HQ,
        needs_key=True,
        description="Name the store when the gift keeps stock per store. Never below zero (409 `out_of_stock`). "
        "At or under the gift's threshold, `gift.stock_low` is sent once per dip. " + KEYED,
    ),
    Operation(
        "GET",
        "/chains/{chain_id}/gift-settings",
        "The chain's redemption settings",
        "gift",
        forward("gift.get_settings", ACTOR, "chain_id", name="get_gift_settings"),
        response=c.GiftSettingsView,
        roles=CHAIN_STAFF,
    ),
    Operation(
        "POST",
        "/chains/{chain_id}/gift-settings",
        "Set the chain's redemption settings (HQ)",
        "gift",
        forward("gift.set_settings", ACTOR, "chain_id", BODY, KEY, name="set_gift_settings"),
        body=c.GiftSettings,
        response=c.GiftSettingsView,
        roles=HQ,
        needs_key=True,
        description="How many hours after a redemption it may still be cancelled (0: never). " + KEYED,
    ),
    Operation(
        "POST",
        REDEMPTIONS,
        "Redeem a gift for a card's points",
        "gift",
        forward("gift.redeem", ACTOR, "chain_id", BODY, KEY, name="redeem_gift"),
        body=c.GiftRedeemRequest,
        response=c.GiftRedemption,
        status=201,
        roles=CHAIN_STAFF,
        needs_key=True,
        acts_at_store=True,
        accepts_pending=True,
        description=SAGA + "409: not enough points (`insufficient_points`), not enough stock (`out_of_stock`, "
        "naming `quantity`), the member's limit (`limit_exceeded`, naming `limit_quantity`), a gift not "
        "offered now (`invalid_state`, naming `valid_from`, `valid_to`, `store_id` or `active`). " + KEYED,
    ),
    Operation(
        "GET",
        REDEMPTIONS,
        "Search the redemption record",
        "gift",
        forward("gift.list_redemptions", ACTOR, "chain_id", QUERY),
        query=c.RedemptionQuery,
        response=page_of(c.GiftRedemption),
        roles=CHAIN_STAFF,
        description="G-2, R-6. Newest first; by member, store, gift, status and the chain's local days. Staff of "
        "a store see their store's.",
    ),
    Operation(
        "GET",
        REDEMPTION,
        "One redemption",
        "gift",
        forward("gift.get_redemption", ACTOR, "chain_id", "redemption_id"),
        response=c.GiftRedemption,
        roles=CHAIN_STAFF,
    ),
    Operation(
        "POST",
        f"{REDEMPTION}/cancel",
        "Cancel a redemption: the points and the stock back, both or neither",
        "gift",
        forward("gift.cancel_redemption", ACTOR, "chain_id", "redemption_id", BODY, KEY, name="cancel_gift"),
        body=c.CancelRequest,
        response=c.GiftRedemption,
        status=201,
        roles=(PLATFORM_ADMIN, HQ_ADMIN, STORE_MANAGER),
        needs_key=True,
        accepts_pending=True,
        description="G-2. HQ, or the manager of the store where it was redeemed, within the chain's "
        "`cancel_hours` (409 naming `cancel_hours` after). 201 cancelled; 202 cancelling when the points "
        "service's answer is not known yet (it completes by itself). " + KEYED,
    ),
    Operation(
        "GET",
        f"{REDEMPTION}/receipt",
        "A printable receipt of a redemption (HTML, 80 mm or A4)",
        "gift",
        forward("gift.receipt", ACTOR, "chain_id", "redemption_id", QUERY, name="gift_receipt"),
        query=c.ReceiptQuery,
        roles=CHAIN_STAFF,
        media_type="text/html",
        description="S-3: the chain's receipt footer and a signature line; print it as it is.",
    ),
]
