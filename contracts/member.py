"""Contracts of the `member` service: members, cards, tiers, the card operation log (M-1..M-8)."""

from __future__ import annotations

from marshmallow import fields, validate

from contracts.base import (
    CARD_NO_PATTERN,
    EMAIL_CHECKS,
    ID_NUMBER_PATTERN,
    PHONE_CHECKS,
    PLATE_PATTERN,
    BasisPoints,
    Code,
    Contract,
    Flag,
    Id,
    Money,
    Page,
    Pattern,
    QueryFlag,
    Text,
    documented,
)
from contracts.events import event

GENDERS = ("male", "female", "unknown")
CARD_STATUSES = ("active", "frozen", "replaced", "returned", "expired")
UPGRADE_METRICS = ("cumulative_spend", "lifetime_points")
FEE_KINDS = ("issue", "reissue", "replacement", "renewal")
OPERATION_KINDS = ("issue", "tier_change", "freeze", "unfreeze", "replace", "return", "renew", "expire", "limits")


# What the member service accepts (services/member/pii.py, card_numbers.py), so the document
# says so. Phones, ID numbers and plates are judged by the service itself, whose refusals say
# exactly what is wrong ("a mobile number has 11 digits, this has 10"); card numbers here.
def _judged_by_member_service(pattern: str):
    """Documentation only: the member service normalises and checks the value (422 naming it)."""

    def check(value: str) -> None:
        return None

    return documented(check, pattern=pattern)


_PHONE = PHONE_CHECKS
_ID_NUMBER = [validate.Length(max=30), _judged_by_member_service(ID_NUMBER_PATTERN)]
_PLATE = [validate.Length(min=1, max=20), _judged_by_member_service(PLATE_PATTERN)]
PHONE_LAST4_PATTERN = r"^[0-9]{4}$"
_CARD_NO = [validate.Length(min=12, max=40), Pattern(CARD_NO_PATTERN, "A card number has 12 digits.")]


def _plates(**kwargs):
    item = fields.String(validate=_PLATE)
    return fields.List(item, validate=validate.Length(max=10), **kwargs)


def _tags(**kwargs):
    item = fields.String(validate=validate.Length(min=1, max=40))
    return fields.List(item, validate=validate.Length(max=20), **kwargs)


# ---- tiers (M-6) ----------------------------------------------------------------


class BonusRule(Contract):
    """Recharge at least `threshold` fen: a fixed bonus, or a rate of the amount (W-3)."""

    threshold = Money(required=True, validate=validate.Range(min=1, max=10**12))
    bonus_fixed = Money(load_default=None, allow_none=True)
    bonus_rate_bp = BasisPoints(load_default=None, allow_none=True)


def _category_discounts(**kwargs):
    return fields.Dict(
        keys=fields.String(validate=[validate.Length(min=1, max=40), Pattern(r"^[A-Za-z0-9_-]+$")]),
        values=BasisPoints(),
        **kwargs,
    )


class TierCreate(Contract):
    code = Code(required=True)
    name = Text(100, required=True)
    rank = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=100))
    default_discount_bp = BasisPoints(load_default=0)
    category_discounts = _category_discounts(load_default=dict)
    points_multiplier_bp = BasisPoints(100000, load_default=10000)
    upgrade_metric = fields.String(load_default="cumulative_spend", validate=validate.OneOf(UPGRADE_METRICS))
    # 0: never an automatic upgrade target (given by hand, or the entry tier)
    upgrade_threshold = Money(load_default=0)
    validity_months = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1, max=120)
    )
    renewal_fee = Money(load_default=0)
    issue_fee = Money(load_default=0)
    reissue_fee = Money(load_default=0)
    replacement_fee = Money(load_default=0)
    recharge_bonus_rules = fields.List(fields.Nested(BonusRule), load_default=list, validate=validate.Length(max=20))
    per_transaction_limit = Money(load_default=None, allow_none=True)
    daily_limit = Money(load_default=None, allow_none=True)


class TierUpdate(Contract):
    name = Text(100)
    rank = fields.Integer(strict=True, validate=validate.Range(min=1, max=100))
    default_discount_bp = BasisPoints()
    category_discounts = _category_discounts()
    points_multiplier_bp = BasisPoints(100000)
    upgrade_metric = fields.String(validate=validate.OneOf(UPGRADE_METRICS))
    upgrade_threshold = Money()
    validity_months = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=120))
    renewal_fee = Money()
    issue_fee = Money()
    reissue_fee = Money()
    replacement_fee = Money()
    recharge_bonus_rules = fields.List(fields.Nested(BonusRule), validate=validate.Length(max=20))
    per_transaction_limit = Money(allow_none=True)
    daily_limit = Money(allow_none=True)
    active = Flag()


class Tier(Contract):
    id = Id(required=True)
    chain_id = Id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    rank = fields.Integer(required=True)
    default_discount_bp = fields.Integer(required=True)
    category_discounts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    points_multiplier_bp = fields.Integer(required=True)
    upgrade_metric = fields.String(required=True)
    upgrade_threshold = fields.Integer(required=True)
    validity_months = fields.Integer(required=True, allow_none=True)
    renewal_fee = fields.Integer(required=True)
    issue_fee = fields.Integer(required=True)
    reissue_fee = fields.Integer(required=True)
    replacement_fee = fields.Integer(required=True)
    recharge_bonus_rules = fields.List(fields.Nested(BonusRule), required=True)
    per_transaction_limit = fields.Integer(required=True, allow_none=True)
    daily_limit = fields.Integer(required=True, allow_none=True)
    active = Flag(required=True)
    updated_at = fields.String(required=True)


class TierQuery(Contract):
    include_inactive = QueryFlag(load_default=False)


# ---- cards (M-2..M-5) --------------------------------------------------------------


class CardIssue(Contract):
    tier_code = Code(load_default=None, allow_none=True)
    store_id = Id(load_default=None, allow_none=True)
    payment_method = Code(load_default="cash")
    reason = Text(200, load_default="")


class CardAction(Contract):
    """Freeze, unfreeze, return: why, and at which store (HQ names it; store staff are at theirs)."""

    reason = Text(200, load_default="")
    store_id = Id(load_default=None, allow_none=True)


class CardFeeAction(CardAction):
    """Replace or renew: a fee may apply, paid at the counter by `payment_method`."""

    payment_method = Code(load_default="cash")


class TierChange(CardFeeAction):
    tier_code = Code(required=True)
    waive_fee = Flag(load_default=False)


class CardLimits(Contract):
    """W-8 on one card (a fleet card, a cautious parent): null is no limit of the card's own."""

    per_transaction_limit = Money(required=True, allow_none=True)
    daily_limit = Money(required=True, allow_none=True)


class CardLimitsChange(CardAction):
    limits = fields.Nested(CardLimits, required=True)


class Card(Contract):
    id = Id(required=True)
    chain_id = Id(required=True)
    member_id = Id(required=True)
    card_no = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CARD_STATUSES))
    version = fields.Integer(required=True)
    tier_id = Id(required=True)
    tier_code = fields.String(required=True)
    tier_name = fields.String(required=True)
    issued_store_id = fields.String(required=True, allow_none=True)
    effective_date = fields.String(required=True)
    expiry_date = fields.String(required=True, allow_none=True)
    replaces_card_id = fields.String(required=True, allow_none=True)
    replaced_by_card_id = fields.String(required=True, allow_none=True)
    limits = fields.Nested(CardLimits, required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)


class CardLookupQuery(Contract):
    card_no = fields.String(required=True, validate=_CARD_NO)


# ---- members (M-1) -------------------------------------------------------------------


class MemberCreate(Contract):
    name = Text(100, required=True)
    phone = fields.String(required=True, validate=_PHONE)
    # where e-mail messages go (N-1), if the member wants them; personal data like the phone
    email = fields.String(load_default=None, allow_none=True, validate=EMAIL_CHECKS)
    id_number = fields.String(load_default=None, allow_none=True, validate=_ID_NUMBER)
    gender = fields.String(load_default="unknown", validate=validate.OneOf(GENDERS))
    birthday = fields.Date(load_default=None, allow_none=True)
    plates = _plates(load_default=list)
    referrer_id = Id(load_default=None, allow_none=True)
    home_store_id = Id(load_default=None, allow_none=True)
    tags = _tags(load_default=list)
    notes = Text(500, load_default="")
    marketing_consent = Flag(load_default=False)


class MemberUpdate(Contract):
    name = Text(100)
    phone = fields.String(validate=_PHONE)
    email = fields.String(allow_none=True, validate=EMAIL_CHECKS, metadata={"description": "null removes it"})
    id_number = fields.String(allow_none=True, validate=_ID_NUMBER)
    gender = fields.String(validate=validate.OneOf(GENDERS))
    birthday = fields.Date(allow_none=True)
    plates = _plates()
    referrer_id = Id(allow_none=True)
    home_store_id = Id()
    tags = _tags()
    notes = Text(500)
    marketing_consent = Flag()


class Member(Contract):
    id = Id(required=True)
    chain_id = Id(required=True)
    member_no = fields.String(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True, metadata={"description": "masked (138****5678) unless you may see it"})
    email = fields.String(
        required=True, allow_none=True, metadata={"description": "masked (w***@example.com) unless you may see it"}
    )
    id_number = fields.String(required=True, allow_none=True)
    masked = Flag(required=True, metadata={"description": "true: personal data is masked for you"})
    gender = fields.String(required=True)
    birthday = fields.String(required=True, allow_none=True)
    plates = fields.List(fields.String(), required=True)
    referrer_id = fields.String(required=True, allow_none=True)
    home_store_id = fields.String(required=True, allow_none=True)
    tags = fields.List(fields.String(), required=True)
    notes = fields.String(required=True)
    marketing_consent = Flag(required=True)
    cumulative_spend = fields.Integer(required=True)
    lifetime_points = fields.Integer(required=True)
    cards = fields.List(fields.Nested(Card), required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)


class MemberQuery(Page):
    """Exact card number or phone searches the whole chain (masked, O-7); the rest only your stores."""

    card_no = fields.String(validate=_CARD_NO)
    phone = fields.String(validate=_PHONE)
    phone_last4 = fields.String(
        validate=Pattern(PHONE_LAST4_PATTERN, "Exactly the last four digits of a phone."),
        metadata={"description": "the last four digits of the phone; only your stores' members (O-7)"},
    )
    plate = fields.String(validate=_PLATE)
    member_no = fields.String(validate=validate.Length(min=1, max=20))
    name = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "name prefix"})
    store_id = Id(metadata={"description": "home store"})
    tag = fields.String(validate=validate.Length(min=1, max=40))


# ---- card operation log (M-8) ----------------------------------------------------------


class CardOperation(Contract):
    id = fields.Integer(required=True)
    chain_id = Id(required=True)
    card_id = Id(required=True)
    member_id = Id(required=True)
    card_no = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(OPERATION_KINDS))
    operator_id = fields.String(required=True, allow_none=True)
    operator_name = fields.String(required=True)
    store_id = fields.String(required=True, allow_none=True)
    at = fields.String(required=True)
    before = fields.Dict(required=True)
    after = fields.Dict(required=True)
    reason = fields.String(required=True)
    fee = fields.Integer(required=True)
    payment_method = fields.String(required=True, allow_none=True)


class CardOperationQuery(Page):
    kind = fields.String(validate=validate.OneOf(OPERATION_KINDS))


# ---- RPC for other services (shared interface with the wallet) --------------------------


class TierTerms(Contract):
    id = Id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    rank = fields.Integer(required=True)
    default_discount_bp = fields.Integer(required=True)
    category_discounts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    points_multiplier_bp = fields.Integer(required=True)
    recharge_bonus_rules = fields.List(fields.Nested(BonusRule), required=True)
    per_transaction_limit = fields.Integer(required=True, allow_none=True)
    daily_limit = fields.Integer(required=True, allow_none=True)


class CardContext(Contract):
    """What a transacting service needs of a card: `member.resolve_card` / `resolve_card_by_id`."""

    card_id = Id(required=True)
    card_no = fields.String(required=True)
    chain_id = Id(required=True)
    member_id = Id(required=True)
    member_name = fields.String(required=True)
    masked_phone = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CARD_STATUSES))
    version = fields.Integer(required=True)
    home_store_id = fields.String(required=True, allow_none=True)
    plates = fields.List(fields.String(), required=True)
    tier = fields.Nested(TierTerms, required=True)
    limits = fields.Nested(CardLimits, required=True)  # the card's own, on top of the tier's
    # when the card last changed at member (ISO-8601): a copy kept elsewhere takes the newest
    as_of = fields.String(load_default=None, allow_none=True)


class ContactsRequest(Contract):
    """`member.contacts`: how to reach up to 500 members of a chain (the notification service)."""

    chain_id = Id(required=True)
    member_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=500))


# ---- events ---------------------------------------------------------------------------------


class _MemberFacts(Contract):
    member_id = Id(required=True)
    member_no = fields.String(required=True)
    name = fields.String(required=True)
    masked_phone = fields.String(required=True)
    gender = fields.String(required=True)
    birthday = fields.String(required=True, allow_none=True)
    plates = fields.List(fields.String(), required=True)
    referrer_id = fields.String(required=True, allow_none=True)
    home_store_id = fields.String(required=True, allow_none=True)
    tags = fields.List(fields.String(), required=True)
    marketing_consent = Flag(required=True)


@event("member", "enrolled")
class MemberEnrolled(_MemberFacts):
    pass


@event("member", "updated")
class MemberUpdated(_MemberFacts):
    changed = fields.List(fields.String(), required=True)


@event("member", "card_issued")
class CardIssued(Contract):
    card_id = Id(required=True)
    member_id = Id(required=True)
    card_no = fields.String(required=True)
    tier_id = Id(required=True)
    tier_code = fields.String(required=True)
    version = fields.Integer(required=True)
    store_id = fields.String(required=True, allow_none=True)
    effective_date = fields.String(required=True)
    expiry_date = fields.String(required=True, allow_none=True)
    replaces_card_id = fields.String(required=True, allow_none=True)


@event("member", "card_status_changed")
class CardStatusChanged(Contract):
    card_id = Id(required=True)
    member_id = Id(required=True)
    card_no = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CARD_STATUSES))
    previous_status = fields.String(required=True, validate=validate.OneOf(CARD_STATUSES))
    reason = fields.String(required=True)


@event("member", "tier_changed")
class TierChanged(Contract):
    card_id = Id(required=True)
    member_id = Id(required=True)
    card_no = fields.String(required=True)
    version = fields.Integer(required=True)
    previous_tier_code = fields.String(required=True)
    tier_code = fields.String(required=True)
    automatic = Flag(required=True)
    store_id = fields.String(required=True, allow_none=True)


@event("member", "tier_configuration_changed")
class TierConfigurationChanged(Contract):
    tier = fields.Nested(Tier, required=True)


@event("member", "fee_charged")
class FeeCharged(Contract):
    """A card fee paid at the counter; the wallet books it (W-12). Never published for 0."""

    fee_id = Id(required=True)
    chain_id = Id(required=True)
    store_id = Id(required=True)
    member_id = Id(required=True)
    card_id = Id(required=True)
    card_no = fields.String(load_default=None, allow_none=True)  # for the member's statement (W-10)
    kind = fields.String(required=True, validate=validate.OneOf(FEE_KINDS))
    amount = Money(required=True, validate=validate.Range(min=1, max=10**12))
    payment_method = fields.String(required=True)
    operator_id = fields.String(required=True)
