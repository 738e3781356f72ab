"""Contracts of the `gift` service: the catalogue of gifts for points, redemption and its
cancellation, the redemption record and its receipt (G-1, G-2, S-3).

A gift's stock is kept for the whole chain (`stock_mode` "chain") or per store ("store").
Valid dates are the chain's local days, both included. Points are integers (P-1); the
market price is integer fen.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.base import (  # noqa: F401 - ReceiptQuery: a redemption's receipt query, shared with the wallet
    NOT_BLANK,
    Contract,
    Day,
    Flag,
    Id,
    Money,
    Page,
    Pattern,
    QueryFlag,
    ReceiptQuery,
    Text,
    Total,
    not_before,
)
from contracts.events import event
from contracts.points import POINTS_MAX, Points
from contracts.wallet import CardNo

STOCK_MODES = ("chain", "store")
LIMIT_PERIODS = ("year", "ever")  # per calendar year in the chain's time zone, or for ever
STATUSES = ("pending", "completed", "refused", "cancelling", "cancelled")
QUANTITY_MAX = 100  # one redemption at the counter
STOCK_MAX = 10**6
URL_PATTERN = r"^https?://[!-~]{1,490}$"  # visible ASCII after the scheme: no spaces, no NUL


def _picture(**kwargs):
    return fields.String(validate=Pattern(URL_PATTERN, "An http(s) URL without spaces."), **kwargs)


def _limit(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=10000), **kwargs)


def _period(**kwargs):
    # a pattern, not OneOf: the field may be null, and an enum with null in it documents badly
    return fields.String(allow_none=True, validate=Pattern(r"^(?:year|ever)$", "Either year or ever."), **kwargs)


def _threshold(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=STOCK_MAX), **kwargs)


class _LimitPair:
    @validates_schema
    def _limit_pair(self, data: dict, **kwargs) -> None:
        if "limit_quantity" not in data and "limit_period" not in data:
            return
        if (data.get("limit_quantity") is None) != (data.get("limit_period") is None):
            raise ValidationError("A per-member limit needs both its quantity and its period.", "limit_period")


class GiftCreate(_LimitPair, Contract):
    name = Text(100, required=True)
    description = Text(2000, load_default="")
    picture_url = _picture(load_default=None, allow_none=True)
    market_price = Money(required=True)  # fen, what the gift would cost in a shop
    points_cost = Points(required=True, validate=validate.Range(min=1, max=POINTS_MAX))
    stock_mode = fields.String(load_default="chain", validate=validate.OneOf(STOCK_MODES))
    stock = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=STOCK_MAX))
    store_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=200))  # empty: every store
    valid_from = Day(load_default=None, allow_none=True)
    valid_to = Day(load_default=None, allow_none=True)
    limit_quantity = _limit(load_default=None, allow_none=True)
    limit_period = _period(load_default=None)
    low_stock_threshold = _threshold(load_default=0)
    active = Flag(load_default=True)

    _window = not_before("valid_from", "valid_to")

    @validates_schema
    def _stock_where(self, data: dict, **kwargs) -> None:
        if data.get("stock_mode") == "store" and data.get("stock"):
            raise ValidationError("Stock kept per store is added store by store (the stock operation).", "stock")


class GiftUpdate(Contract):
    """What HQ may change of a gift; the stock moves by its own operation. Rules across fields
    (both halves of a limit, the dates in order) are checked against the gift as it becomes."""

    name = fields.String(validate=[validate.Length(min=1, max=100), Pattern(NOT_BLANK, "Must not be blank.")])
    description = Text(2000)
    picture_url = _picture(allow_none=True)
    market_price = Money()
    points_cost = Points(validate=validate.Range(min=1, max=POINTS_MAX))
    store_ids = fields.List(Id(), validate=validate.Length(max=200))
    valid_from = Day(allow_none=True)
    valid_to = Day(allow_none=True)
    limit_quantity = _limit(allow_none=True)
    limit_period = _period()
    low_stock_threshold = _threshold()
    active = Flag()

    _window = not_before("valid_from", "valid_to")


class StockChange(Contract):
    """Stock added (positive) or taken out (negative) by HQ; never below zero."""

    store_id = Id(load_default=None, allow_none=True)  # required when the gift keeps stock per store
    change = fields.Integer(strict=True, required=True, validate=validate.Range(min=-STOCK_MAX, max=STOCK_MAX))
    reason = Text(200, load_default="")

    @validates_schema
    def _moves(self, data: dict, **kwargs) -> None:
        if data.get("change") == 0:
            raise ValidationError("Zero changes nothing.", "change")


class StockLevel(Contract):
    store_id = fields.String(required=True, allow_none=True)  # none: the chain's stock
    quantity = Total(required=True)


class Gift(Contract):
    id = Id(required=True)
    chain_id = Id(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    picture_url = fields.String(required=True, allow_none=True)
    market_price = Total(required=True)
    points_cost = Total(required=True)
    stock_mode = fields.String(required=True)
    stock = Total(required=True)  # all that is left, every store together
    stocks = fields.List(fields.Nested(StockLevel), required=True)
    store_ids = fields.List(fields.String(), required=True)
    valid_from = fields.String(required=True, allow_none=True)
    valid_to = fields.String(required=True, allow_none=True)
    limit_quantity = fields.Integer(required=True, allow_none=True)
    limit_period = fields.String(required=True, allow_none=True)
    low_stock_threshold = Total(required=True)
    active = fields.Boolean(required=True)
    retired = fields.Boolean(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)


class GiftRemoved(Contract):
    """The answer to removing a gift: never redeemed, it is gone; else it is retired and kept."""

    id = Id(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(("deleted", "retired")))


class GiftQuery(Page):
    store_id = Id()  # what this store offers now; staff of a store see only their store's
    include_inactive = QueryFlag(load_default=False)  # HQ: inactive and retired gifts too


class GiftSettings(Contract):
    """A chain's rules for redemptions: how long after a redemption it may still be cancelled."""

    cancel_hours = fields.Integer(strict=True, load_default=72, validate=validate.Range(min=0, max=24 * 90))


class GiftSettingsView(GiftSettings):
    chain_id = Id(required=True)


# ---- redemption (G-2) -----------------------------------------------------------------


class GiftRedeemRequest(Contract):
    gift_id = Id(required=True)
    card_no = CardNo(required=True)
    store_id = Id(required=True)  # where the gift is handed over (and its stock taken, if per store)
    quantity = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=QUANTITY_MAX))
    remark = Text(200, load_default="")


class CancelRequest(Contract):
    reason = Text(200, required=True)


class Refusal(Contract):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(required=True)


class GiftRedemption(Contract):
    id = Id(required=True)
    chain_id = Id(required=True)
    gift_id = Id(required=True)
    gift_name = fields.String(required=True)
    member_id = Id(required=True)
    card_id = Id(required=True)
    card_no = fields.String(required=True)
    quantity = fields.Integer(required=True)
    points = Total(required=True)
    store_id = Id(required=True)
    operator_id = Id(required=True)
    operator_name = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    refusal = fields.Nested(Refusal, required=True, allow_none=True)
    remark = fields.String(required=True)
    created_at = fields.String(required=True)
    completed_at = fields.String(required=True, allow_none=True)
    cancelled_at = fields.String(required=True, allow_none=True)
    cancel_operator_id = fields.String(required=True, allow_none=True)
    cancel_reason = fields.String(required=True, allow_none=True)


class RedemptionQuery(Page):
    """Search the record: by member, store, gift, status and the chain's local days (both included)."""

    member_id = Id()
    store_id = Id()
    gift_id = Id()
    status = fields.String(validate=validate.OneOf(STATUSES))
    since = Day(load_default=None)
    until = Day(load_default=None)

    _order = not_before("since", "until")


# ---- events -------------------------------------------------------------------------------


class _RedemptionEvent(Contract):
    chain_id = Id(required=True)
    redemption_id = Id(required=True)
    gift_id = Id(required=True)
    gift_name = fields.String(required=True)
    member_id = Id(required=True)
    card_id = Id(required=True)
    store_id = Id(required=True)
    operator_id = Id(required=True)
    quantity = fields.Integer(required=True)
    points = Total(required=True)


@event("gift", "redeemed")
class Redeemed(_RedemptionEvent):
    pass


@event("gift", "redemption_cancelled")
class RedemptionCancelled(_RedemptionEvent):
    reason = fields.String(required=True)


@event("gift", "stock_low")
class StockLow(Contract):
    chain_id = Id(required=True)
    gift_id = Id(required=True)
    gift_name = fields.String(required=True)
    store_id = fields.String(required=True, allow_none=True)
    quantity = Total(required=True)
    threshold = Total(required=True)
