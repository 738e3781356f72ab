"""Contracts of the `points` service: earning rules, promotions, the points ledger (P-1..P-7).

Points are integers (P-1). Rates and multipliers are decimals written as strings
("1.5"), so they are stored and multiplied exactly; a result is rounded down once,
at the end. Requests name the card by its number, as the wallet's do.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.base import (
    Code,
    Contract,
    Day,
    Flag,
    Id,
    Money,
    Page,
    Pattern,
    QueryFlag,
    Text,
    Timestamp,
    Total,
    not_before,
)
from contracts.events import event
from contracts.wallet import CardNo

# P-3: every way points move
KINDS = (
    "earn",
    "reverse",
    "cash",
    "gift",
    "rebate",
    "referral",
    "redeem",
    "redeem_cancel",
    "expire",
    "reset",
    "adjust",
)
GRANT_KINDS = ("gift", "rebate", "adjust")  # what staff give or correct by hand
POINTS_MAX = 10**9  # the most one operation moves
# a decimal of up to 3 integer digits and 4 decimals: 0, 1, 1.5, 0.0125
RATE_PATTERN = r"^(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,4})?$"


def Rate(**kwargs):  # noqa: N802 - reads like a field class
    """A decimal as a string (exact; never a float)."""
    return fields.String(validate=Pattern(RATE_PATTERN, "A decimal such as 1 or 1.5 (at most 999.9999)."), **kwargs)


def Points(signed: bool = False, **kwargs):  # noqa: N802
    kwargs.setdefault("validate", validate.Range(min=-POINTS_MAX if signed else 0, max=POINTS_MAX))
    return fields.Integer(strict=True, **kwargs)


def PointsTotal(signed: bool = False, **kwargs):  # noqa: N802
    return Total(signed=signed, **kwargs)


def _distinct(field: str, key: str, what: str):
    """A schema check: no two entries of list `field` share `key`."""

    @validates_schema
    def check(self, data: dict, **kwargs) -> None:
        seen = set()
        for entry in data.get(field) or []:
            if entry[key] in seen:
                raise ValidationError(f"{what} {entry[key]!r} is given twice.", field)
            seen.add(entry[key])

    return check


# ---- earning rules (P-2, P-4, P-5) ------------------------------------------------------


class CategoryRate(Contract):
    category = Code(required=True)
    rate = Rate(required=True)


class TierMultiplier(Contract):
    tier_code = Code(required=True)
    multiplier = Rate(required=True)


class SpendLevel(Contract):
    """From this much spent in the calendar year (fen), the multiplier applies."""

    from_spend = Money(required=True)
    multiplier = Rate(required=True)


class EarningRules(Contract):
    """A chain's rules as HQ sets them; every field has the default a new chain gets."""

    base_rate = Rate(load_default="1")  # points per yuan paid
    category_rates = fields.List(fields.Nested(CategoryRate), load_default=list, validate=validate.Length(max=100))
    tier_multipliers = fields.List(fields.Nested(TierMultiplier), load_default=list, validate=validate.Length(max=50))
    spend_levels = fields.List(fields.Nested(SpendLevel), load_default=list, validate=validate.Length(max=20))
    bonus_earns = Flag(load_default=False)  # money paid from the bonus balance earns too
    expiry_months = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1, max=120)
    )
    reset_month = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(1, 12))
    reset_day = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(1, 28))
    remind_days = fields.Integer(strict=True, load_default=7, validate=validate.Range(min=0, max=90))
    referral_points = Points(load_default=0)

    _categories = _distinct("category_rates", "category", "Category")
    _tiers = _distinct("tier_multipliers", "tier_code", "Tier")
    _levels = _distinct("spend_levels", "from_spend", "Level")

    @validates_schema
    def _reset(self, data: dict, **kwargs) -> None:
        if (data.get("reset_month") is None) != (data.get("reset_day") is None):
            raise ValidationError("A yearly reset needs both its month and its day.", "reset_day")


class EarningRulesView(EarningRules):
    chain_id = Id(required=True)
    updated_at = fields.String(required=True, allow_none=True)


# ---- promotions (P-2) --------------------------------------------------------------------


class PromotionCreate(Contract):
    name = Text(100, required=True)
    starts_on = Day(required=True)  # the chain's local days, both included
    ends_on = Day(required=True)
    store_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=100))
    categories = fields.List(Code(), load_default=list, validate=validate.Length(max=100))
    item_codes = fields.List(Code(), load_default=list, validate=validate.Length(max=100))
    weekdays = fields.List(  # ISO: 1 Monday .. 7 Sunday; empty: every day
        fields.Integer(strict=True, validate=validate.Range(min=1, max=7)),
        load_default=list,
        validate=validate.Length(max=7),
    )
    multiplier = Rate(load_default=None, allow_none=True)
    extra_points = Points(load_default=None, allow_none=True)

    _order = not_before("starts_on", "ends_on")

    @validates_schema
    def _one_effect(self, data: dict, **kwargs) -> None:
        if (data.get("multiplier") is None) == (data.get("extra_points") is None):
            raise ValidationError("Give either a multiplier or extra_points.", "multiplier")


class PromotionUpdate(Contract):
    active = Flag(required=True)


class Promotion(Contract):
    id = Id(required=True)
    chain_id = Id(required=True)
    name = fields.String(required=True)
    starts_on = fields.String(required=True)
    ends_on = fields.String(required=True)
    store_ids = fields.List(fields.String(), required=True)
    categories = fields.List(fields.String(), required=True)
    item_codes = fields.List(fields.String(), required=True)
    weekdays = fields.List(fields.Integer(), required=True)
    multiplier = fields.String(required=True, allow_none=True)
    extra_points = fields.Integer(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    created_at = fields.String(required=True)


class PromotionQuery(Contract):
    include_inactive = QueryFlag(load_default=False)


class PromotionList(Contract):
    items = fields.List(fields.Nested(Promotion), required=True)


# ---- operations by staff (P-3, P-4, P-6) ------------------------------------------------------


class GrantRequest(Contract):
    """A gift, a rebate or an adjustment by HQ or a store manager; only an adjustment may take away."""

    card_no = CardNo(required=True)
    store_id = Id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(GRANT_KINDS))
    points = Points(signed=True, required=True)
    reason = Text(200, required=True)

    @validates_schema
    def _sign(self, data: dict, **kwargs) -> None:
        if data["points"] == 0:
            raise ValidationError("Zero points changes nothing.", "points")
        if data["points"] < 0 and data["kind"] != "adjust":
            raise ValidationError("Only an adjustment takes points away.", "points")


class CashPointsRequest(Contract):
    """Points for a purchase paid outside the card, entered from its receipt."""

    card_no = CardNo(required=True)
    store_id = Id(required=True)
    amount = Money(required=True, validate=validate.Range(min=1, max=10**10))
    receipt_no = Code(required=True)  # a receipt earns once
    category = Code(load_default=None, allow_none=True)


class RedeemRequest(Contract):
    card_no = CardNo(required=True)
    store_id = Id(required=True)
    points = Points(required=True, validate=validate.Range(min=1, max=POINTS_MAX))
    reference = Text(120, required=True)  # what the points bought (the gift redemption)
    reason = Text(200, load_default="")


class CancelRedemptionRequest(Contract):
    store_id = Id(required=True)
    reason = Text(200, required=True)


class PointsCard(Contract):
    card_id = Id(required=True)
    card_no = fields.String(required=True)
    member_id = Id(required=True)
    tier_code = fields.String(required=True)


class PointsMove(Contract):
    """The answer to every operation that moves points, and what its receipt needs."""

    transaction_id = Id(required=True)
    kind = fields.String(required=True)
    created_at = fields.String(required=True)
    store_id = fields.String(required=True, allow_none=True)
    operator_id = fields.String(required=True, allow_none=True)
    card = fields.Nested(PointsCard, required=True, allow_none=True)  # none on a cancellation (no card named)
    points = PointsTotal(signed=True, required=True)
    shortfall = PointsTotal(required=True)
    balance = PointsTotal(required=True)
    reference = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)


class Redemption(PointsMove):
    redemption_id = Id(required=True)
    status = fields.String(required=True)


# ---- reads --------------------------------------------------------------------------------------


class Lot(Contract):
    lot_id = fields.Integer(required=True)
    points = PointsTotal(required=True)
    remaining = PointsTotal(required=True)
    earned_at = fields.String(required=True)
    expires_at = fields.String(required=True, allow_none=True)


class Balance(Contract):
    card = fields.Nested(PointsCard, required=True)
    balance = PointsTotal(required=True)
    lifetime_points = PointsTotal(required=True)
    year_spend = Total(required=True)
    lots = fields.List(fields.Nested(Lot), required=True)


class HistoryQuery(Page):
    kind = fields.String(validate=validate.OneOf(KINDS))  # absent: every kind
    since = Timestamp(load_default=None)
    until = Timestamp(load_default=None)

    _order = not_before("since", "until")


class HistoryEntry(Contract):
    transaction_id = Id(required=True)
    kind = fields.String(required=True)
    created_at = fields.String(required=True)
    points = PointsTotal(signed=True, required=True)
    shortfall = PointsTotal(required=True)
    balance_after = PointsTotal(required=True)
    store_id = fields.String(required=True, allow_none=True)
    operator_id = fields.String(required=True, allow_none=True)
    reference = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)


class Referral(Contract):
    member_id = Id(required=True)
    rewarded = fields.Boolean(required=True)
    points = PointsTotal(required=True)


class ReferralList(Contract):
    card = fields.Nested(PointsCard, required=True)
    items = fields.List(fields.Nested(Referral), required=True)


class ExpiringMembersRequest(Contract):
    """`points.expiring_members`, for the notification service's segment (N-4)."""

    chain_id = Id(required=True)
    within_days = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=365))


class ExpiringMember(Contract):
    member_id = Id(required=True)
    points = PointsTotal(required=True)  # going first, on `on`
    on = fields.String(required=True)


# ---- events -------------------------------------------------------------------------------------------


class _MemberPoints(Contract):
    chain_id = Id(required=True)
    member_id = Id(required=True)
    transaction_id = Id(required=True)
    points = PointsTotal(signed=True, required=True)
    balance = PointsTotal(required=True)
    reference = fields.String(required=True, allow_none=True)


@event("points", "earned")
class Earned(_MemberPoints):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    store_id = fields.String(required=True, allow_none=True)


@event("points", "reversed")
class Reversed(_MemberPoints):
    consume_id = Id(required=True)
    shortfall = PointsTotal(required=True)


@event("points", "changed")
class Changed(Contract):
    """After every move: the balance, and the totals that drive tier upgrades (P-7). `version`
    counts the member's changes, so a consumer keeps the newest whatever the order of arrival."""

    chain_id = Id(required=True)
    member_id = Id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    points = PointsTotal(signed=True, required=True)
    balance = PointsTotal(required=True)
    lifetime_points = PointsTotal(required=True)
    year_spend = Total(required=True)
    version = PointsTotal(required=True)
    # what the move was for: for an `earn`, the consume (the wallet's transaction id), sent for
    # every consume, 0 points included, so its message knows the figures (N-3)
    reference = fields.String(load_default=None, allow_none=True)


@event("points", "expiring_soon")
class ExpiringSoon(Contract):
    """P-5's reminder, once per member and local expiry day: `points` go as `expires_on` begins;
    `balance` is all the member holds now."""

    chain_id = Id(required=True)
    member_id = Id(required=True)
    points = PointsTotal(required=True)
    balance = PointsTotal(load_default=None, allow_none=True)  # None: written before it was carried
    expires_on = fields.String(required=True)


@event("points", "reset_coming")
class ResetComing(Contract):
    """P-5's reminder of the yearly reset, once per member and reset day."""

    chain_id = Id(required=True)
    member_id = Id(required=True)
    points = PointsTotal(required=True)
    balance = PointsTotal(load_default=None, allow_none=True)  # None: written before it was carried
    reset_on = fields.String(required=True)


@event("points", "redeemed")
class Redeemed(_MemberPoints):
    redemption_id = Id(required=True)
    store_id = fields.String(required=True, allow_none=True)


@event("points", "redemption_cancelled")
class RedemptionCancelled(_MemberPoints):
    redemption_id = Id(required=True)
    store_id = fields.String(required=True, allow_none=True)
