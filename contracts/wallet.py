"""Contracts of the `wallet` service: stored value, packages, credit, refunds (W-1..W-12).

Money is integer fen everywhere. Requests name the card by its number (the
key a cashier types) and the store where the operation happens; the answer of
every money operation carries what a receipt and the reports need.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.base import (
    CARD_NO_PATTERN,
    OPERATION_MAX,
    BasisPoints,
    Code,
    Contract,
    Count,
    Day,
    Flag,
    Id,
    Money,
    Page,
    Pattern,
    QueryFlag,
    ReceiptQuery,  # noqa: F401 - the query of `wallet.receipt`, shared with gift's receipts
    SignedMoney,
    Text,
    Timestamp,
    Total,
    not_before,
)
from contracts.events import event

ENTITLEMENT_KINDS = ("package", "pass")
TRANSACTION_KINDS = (
    "recharge",
    "bonus_grant",
    "consume",
    "refund",
    "package_sale",
    "card_return",
    "credit_limit",
    "credit_settlement",
    "fee",
)
# a card payment, as opposed to money handed over the counter
CARD = "card"


def CardNo(**kwargs):  # noqa: N802 - reads like a field class
    """12 digits (spaces and dashes between them are dropped); the last is a Luhn check digit."""
    return fields.String(
        validate=[validate.Length(min=12, max=32), Pattern(CARD_NO_PATTERN, "A card number has 12 digits.")],
        **kwargs,
    )


def Plate(**kwargs):  # noqa: N802
    return fields.String(validate=validate.Length(min=2, max=16), **kwargs)


# ---- shared answer parts --------------------------------------------------------


class Balances(Contract):
    cash = Money(required=True)
    bonus = Money(required=True)
    credit_limit = Money(required=True)
    credit_used = Money(required=True)
    credit_available = Money(required=True)


def counter_only(field: str, reason: str):
    """A schema check: `field` names money at the counter, never the card itself."""

    @validates_schema
    def check(self, data: dict, **kwargs) -> None:
        if data.get(field) == CARD:
            raise ValidationError(reason, field)

    return check


class Paid(Contract):
    """Where the money of a consume came from (or went back to, on a refund)."""

    cash = Money(required=True)
    bonus = Money(required=True)
    credit = Money(required=True)
    external = Money(required=True)


class CardRef(Contract):
    card_id = Id(required=True)
    card_no = fields.String(required=True)
    member_id = Id(required=True)
    member_name = fields.String(required=True)
    masked_phone = fields.String(required=True)
    tier_code = fields.String(required=True)


class _Operation(Contract):
    """What every answer about one money operation starts with, and its balances after."""

    transaction_id = Id(required=True)
    kind = fields.String(required=True)
    created_at = fields.String(required=True)
    store_id = Id(required=True)
    operator_id = Id(required=True)
    card = fields.Nested(CardRef, required=True)
    balances = fields.Nested(Balances, required=True)


# ---- recharge and bonus (W-3) -----------------------------------------------------


class RechargeRequest(Contract):
    card_no = CardNo(required=True)
    store_id = Id(required=True)
    amount = Money(required=True, validate=validate.Range(min=1, max=OPERATION_MAX))
    payment_method = Code(required=True)
    remark = Text(200, load_default="")

    _not_card = counter_only("payment_method", "A recharge is paid at the counter, not from the card.")


class BonusGrantRequest(Contract):
    card_no = CardNo(required=True)
    store_id = Id(required=True)
    amount = Money(required=True, validate=validate.Range(min=1, max=10**9))
    reason = Text(200, required=True)


class _RechargeFigures(Contract):
    """A recharge's figures: in its answer and in its event alike."""

    amount = Money(required=True)
    bonus = Money(required=True)
    payment_method = fields.String(required=True, allow_none=True)


class Recharge(_Operation, _RechargeFigures):
    remark = fields.String(required=True)


# ---- consume (W-4, W-5, W-8) ---------------------------------------------------------


class ConsumeLineRequest(Contract):
    item_code = Code(required=True)
    name = Text(100, load_default="")
    category = Code(required=True)
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10000))
    unit_price = Money(required=True, validate=validate.Range(min=0, max=10**9))
    # a specific package or pass to use; without it one is picked when `use_entitlements`
    entitlement_id = Id(load_default=None, allow_none=True)

    @validates_schema
    def _total(self, data: dict, **kwargs) -> None:
        gross = data["quantity"] * data["unit_price"]
        if gross > OPERATION_MAX:
            raise ValidationError(
                f"quantity x unit_price is {gross} fen; one line comes to at most {OPERATION_MAX}.", "unit_price"
            )


class ConsumeRequest(Contract):
    card_no = CardNo(required=True)
    store_id = Id(required=True)
    serving_employee_id = Id(load_default=None, allow_none=True)
    lines = fields.List(fields.Nested(ConsumeLineRequest), required=True, validate=validate.Length(min=1, max=100))
    allow_credit = Flag(load_default=False)
    # the remainder the card cannot cover is paid at the counter by this method; without it the consume is refused
    external_payment_method = Code(load_default=None, allow_none=True)
    use_entitlements = Flag(load_default=True)
    plate = Plate(load_default=None, allow_none=True)
    remark = Text(200, load_default="")

    _external_not_card = counter_only("external_payment_method", "External payment is money at the counter.")

    @validates_schema
    def _total(self, data: dict, **kwargs) -> None:
        gross = sum(line["quantity"] * line["unit_price"] for line in data["lines"])
        if gross > OPERATION_MAX:
            raise ValidationError(
                f"The lines come to {gross} fen; one purchase comes to at most {OPERATION_MAX}.", "lines"
            )


class ConsumeLine(Contract):
    line_no = fields.Integer(required=True)
    item_code = fields.String(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_price = Money(required=True)
    gross = Money(required=True)
    discount_bp = BasisPoints(required=True)
    discount = Money(required=True)
    net = Money(required=True)
    entitlement_id = fields.String(required=True, allow_none=True)
    counts_used = Count(required=True)
    refunded_quantity = Count(required=True)


class _ConsumeFigures(Contract):
    """A consume's figures: in its answer (the receipt) and in its event alike."""

    serving_employee_id = fields.String(required=True, allow_none=True)
    lines = fields.List(fields.Nested(ConsumeLine), required=True)
    gross = Money(required=True)
    discount = Money(required=True)
    amount_due = Money(required=True)
    paid = fields.Nested(Paid, required=True)
    external_payment_method = fields.String(required=True, allow_none=True)
    cumulative_spend = Total(required=True)


class Consume(_Operation, _ConsumeFigures):
    plate = fields.String(required=True, allow_none=True)
    remark = fields.String(required=True)


# ---- refunds (W-6) ---------------------------------------------------------------------


class RefundLineRequest(Contract):
    line_no = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=1000))
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10000))


class RefundRequest(Contract):
    transaction_id = Id(required=True)
    store_id = Id(required=True)
    # omitted: everything not yet refunded
    lines = fields.List(
        fields.Nested(RefundLineRequest), load_default=None, allow_none=True, validate=validate.Length(min=1, max=100)
    )
    reason = Text(200, required=True)


class RefundLine(Contract):
    line_no = fields.Integer(required=True)
    quantity = fields.Integer(required=True)
    amount = Money(required=True)
    counts_restored = Count(required=True)


class _RefundFigures(Contract):
    """A refund's figures: in its answer and in its event alike."""

    consume_id = Id(required=True)
    lines = fields.List(fields.Nested(RefundLine), required=True)
    amount = Money(required=True)
    refunded = fields.Nested(Paid, required=True)
    cumulative_spend = Total(required=True)


class Refund(_Operation, _RefundFigures):
    external_payment_method = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)


# ---- packages and passes (W-5) -----------------------------------------------------------


class PackageSaleRequest(Contract):
    card_no = CardNo(required=True)
    store_id = Id(required=True)
    kind = fields.String(load_default="package", validate=validate.OneOf(ENTITLEMENT_KINDS))
    item_code = Code(required=True)
    name = Text(100, required=True)
    count = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1, max=10000))
    price = Money(required=True, validate=validate.Range(min=0, max=OPERATION_MAX))
    valid_from = Day(load_default=None, allow_none=True)
    valid_until = Day(load_default=None, allow_none=True)
    daily_limit = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1, max=100)
    )
    plates = fields.List(Plate(), load_default=list, validate=validate.Length(max=10))
    # a counter payment method, or "card" to pay from the balances (cash, then bonus)
    payment_method = Code(required=True)

    @validates_schema
    def _shape(self, data, **kwargs):
        kind = data.get("kind", "package")
        if kind == "package" and data.get("count") is None:
            raise ValidationError("A package has a number of uses.", "count")
        if kind == "pass":
            if data.get("count") is not None:
                raise ValidationError("A pass is unlimited within its dates; it has no count.", "count")
            if data.get("valid_from") is None or data.get("valid_until") is None:
                raise ValidationError("A pass needs both dates.", "valid_until")
        if kind == "package" and data.get("daily_limit") is not None:
            raise ValidationError("Only a pass has a daily limit.", "daily_limit")
        start, end = data.get("valid_from"), data.get("valid_until")
        if start is not None and end is not None and end < start:
            raise ValidationError("Ends before it starts.", "valid_until")


class Entitlement(Contract):
    id = Id(required=True)
    kind = fields.String(required=True)
    item_code = fields.String(required=True)
    name = fields.String(required=True)
    total_count = fields.Integer(required=True, allow_none=True)
    remaining_count = fields.Integer(required=True, allow_none=True)
    price = Money(required=True)
    valid_from = fields.String(required=True)
    valid_until = fields.String(required=True, allow_none=True)
    daily_limit = fields.Integer(required=True, allow_none=True)
    plates = fields.List(fields.String(), required=True)
    store_id = Id(required=True)
    status = fields.String(required=True)
    created_at = fields.String(required=True)


class _SaleFigures(Contract):
    entitlement = fields.Nested(Entitlement, required=True)
    payment_method = fields.String(required=True)
    paid = fields.Nested(Paid, required=True)


class PackageSale(_Operation, _SaleFigures):
    """A package or pass sold: the answer carries what the event does."""


class PackageRefundRequest(Contract):
    """Give back what is left of a package: its unused value, where the sale's money came from."""

    card_no = CardNo(required=True)
    entitlement_id = Id(required=True)
    store_id = Id(required=True)
    reason = Text(200, load_default="")


class _PaidBack(Contract):
    amount = Money(required=True)
    refunded = fields.Nested(Paid, required=True)


class PackageRefund(_Operation, _PaidBack):
    entitlement = fields.Nested(Entitlement, required=True)
    external_payment_method = fields.String(required=True, allow_none=True)


class EntitlementQuery(Contract):
    include_inactive = QueryFlag(load_default=False)


class EntitlementList(Contract):
    items = fields.List(fields.Nested(Entitlement), required=True)


# ---- return card (W-7) and credit ----------------------------------------------------------


class CardReturnRequest(Contract):
    card_no = CardNo(required=True)
    store_id = Id(required=True)
    payment_method = Code(required=True)
    reason = Text(200, load_default="")

    _not_card = counter_only("payment_method", "The cash goes back at the counter, not onto the card.")


class _ReturnFigures(Contract):
    cash_paid_back = Money(required=True)
    bonus_forfeited = Money(required=True)
    payment_method = fields.String(required=True)


class CardReturn(_Operation, _ReturnFigures):
    """A card returned (W-7): the answer carries what the event does."""


class CreditLimitRequest(Contract):
    card_no = CardNo(required=True)
    credit_limit = Money(required=True, validate=validate.Range(min=0, max=OPERATION_MAX))
    reason = Text(200, load_default="")


class CreditSettlementRequest(Contract):
    card_no = CardNo(required=True)
    store_id = Id(required=True)
    amount = Money(required=True, validate=validate.Range(min=1, max=OPERATION_MAX))
    payment_method = Code(required=True)

    _not_card = counter_only("payment_method", "Credit is paid back at the counter.")


class CreditChange(Contract):
    transaction_id = Id(required=True)
    kind = fields.String(required=True)
    created_at = fields.String(required=True)
    store_id = fields.String(required=True, allow_none=True)
    operator_id = Id(required=True)
    card = fields.Nested(CardRef, required=True)
    amount = Money(required=True)
    payment_method = fields.String(required=True, allow_none=True)
    balances = fields.Nested(Balances, required=True)


# ---- reads (W-10, W-11) ------------------------------------------------------------------------


class CardBalances(Contract):
    card = fields.Nested(CardRef, required=True)
    status = fields.String(required=True)
    wallet_status = fields.String(required=True)
    balances = fields.Nested(Balances, required=True)
    cumulative_spend = Total(required=True)


class StatementQuery(Page):
    since = Timestamp(load_default=None)
    until = Timestamp(load_default=None)

    _order = not_before("since", "until")


class StatementEntry(Contract):
    transaction_id = Id(required=True)
    kind = fields.String(required=True)
    created_at = fields.String(required=True)
    store_id = fields.String(required=True, allow_none=True)
    operator_id = fields.String(required=True, allow_none=True)
    card_no = fields.String(required=True, allow_none=True)
    amount = Money(required=True)
    cash_change = SignedMoney(required=True)
    bonus_change = SignedMoney(required=True)
    credit_used_change = SignedMoney(required=True)
    cash_after = Money(required=True)
    bonus_after = Money(required=True)
    credit_used_after = Money(required=True)
    remark = fields.String(required=True)


class TransactionView(Contract):
    """One transaction as stored: the figures, whatever its kind."""

    transaction_id = Id(required=True)
    kind = fields.String(required=True)
    created_at = fields.String(required=True)
    store_id = fields.String(required=True, allow_none=True)
    operator_id = fields.String(required=True, allow_none=True)
    member_id = fields.String(required=True, allow_none=True)
    card_no = fields.String(required=True, allow_none=True)
    ref_transaction_id = fields.String(required=True, allow_none=True)
    payment_method = fields.String(required=True, allow_none=True)
    gross = Money(required=True)
    discount = Money(required=True)
    amount = Money(required=True)
    bonus = Money(required=True)
    paid = fields.Nested(Paid, required=True)
    lines = fields.List(fields.Nested(ConsumeLine), required=True)
    remark = fields.String(required=True)


# S-3: `wallet.receipt(actor, chain_id, transaction_id, query)` takes the paper in `ReceiptQuery`
# (contracts/base.py: "80mm" or "a4") and answers the page as an HTML string, for a recharge,
# a consume or a refund only (another kind: 422 naming transaction_id).


class LiabilityQuery(Contract):
    as_of = Day(load_default=None, allow_none=True)


class StoreLiability(Contract):
    store_id = Id(required=True)
    cash = Total(signed=True, required=True)
    bonus = Total(signed=True, required=True)


class ChainLiability(Contract):
    cash = Total(signed=True, required=True)
    bonus = Total(signed=True, required=True)


class Liability(Contract):
    as_of = fields.String(required=True)
    time_zone = fields.String(required=True)
    stores = fields.List(fields.Nested(StoreLiability), required=True)
    chain = fields.Nested(ChainLiability, required=True)


class SettlementQuery(Contract):
    since = Day(required=True)
    until = Day(required=True)

    _order = not_before("since", "until")


class SettlementRow(Contract):
    """Cash recharged at `received_store_id` spent (or paid back) at `spent_store_id`: what one owes the other."""

    received_store_id = Id(required=True)
    spent_store_id = Id(required=True)
    amount = Total(signed=True, required=True)


class Settlement(Contract):
    since = fields.String(required=True)
    until = fields.String(required=True)
    time_zone = fields.String(required=True)
    rows = fields.List(fields.Nested(SettlementRow), required=True)


# ---- events ----------------------------------------------------------------------------------------


class LotChange(Contract):
    """Money of a kind into (+) or out of (-) the lots a store took in (W-11): what liability
    per store and inter-store settlement (R-8) are sums of, outside the wallet too."""

    kind = fields.String(required=True, validate=validate.OneOf(("cash", "bonus")))
    lot_store_id = Id(required=True)
    amount = SignedMoney(required=True)


class _MemberMoneyEvent(Contract):
    transaction_id = Id(required=True)
    chain_id = Id(required=True)
    store_id = fields.String(required=True, allow_none=True)
    operator_id = fields.String(required=True, allow_none=True)
    member_id = Id(required=True)
    card_id = fields.String(required=True, allow_none=True)
    card_no = fields.String(required=True, allow_none=True)
    balances = fields.Nested(Balances, required=True)
    # the operation's moves of the lots, summed per kind and lot store (none for credit alone)
    lots = fields.List(fields.Nested(LotChange), load_default=list)


@event("wallet", "recharged")
class Recharged(_MemberMoneyEvent, _RechargeFigures):
    pass


@event("wallet", "bonus_granted")
class BonusGranted(_MemberMoneyEvent):
    amount = Money(required=True)
    reason = fields.String(required=True)


@event("wallet", "consumed")
class Consumed(_MemberMoneyEvent, _ConsumeFigures):
    tier_code = fields.String(required=True)
    # when the total was struck: a consumer keeps the newest, whatever order events arrive in
    spend_as_of = fields.String(required=True)


@event("wallet", "refunded")
class Refunded(_MemberMoneyEvent, _RefundFigures):
    # when the total was struck: a consumer keeps the newest, whatever order events arrive in
    spend_as_of = fields.String(required=True)


@event("wallet", "package_sold")
class PackageSold(_MemberMoneyEvent, _SaleFigures):
    pass


@event("wallet", "package_refunded")
class PackageRefunded(_MemberMoneyEvent, _PaidBack):
    entitlement_id = Id(required=True)


@event("wallet", "package_used")
class PackageUsed(Contract):
    transaction_id = Id(required=True)
    chain_id = Id(required=True)
    store_id = Id(required=True)
    member_id = Id(required=True)
    entitlement_id = Id(required=True)
    item_code = fields.String(required=True)
    count = fields.Integer(required=True)  # negative when a refund restores counts
    remaining_count = fields.Integer(required=True, allow_none=True)


@event("wallet", "card_returned")
class CardReturned(_MemberMoneyEvent, _ReturnFigures):
    # for the card's operation log (M-8): who did it, and what they said
    operator_name = fields.String(load_default="")
    reason = fields.String(load_default="")


@event("wallet", "credit_limit_set")
class CreditLimitSet(_MemberMoneyEvent):
    credit_limit = Money(required=True)


@event("wallet", "credit_settled")
class CreditSettled(_MemberMoneyEvent):
    amount = Money(required=True)
    payment_method = fields.String(required=True)


@event("wallet", "fee_charged")
class FeeRecorded(Contract):
    transaction_id = Id(required=True)
    fee_id = Id(required=True)
    chain_id = Id(required=True)
    store_id = Id(required=True)
    member_id = Id(required=True)
    card_id = Id(required=True)
    kind = fields.String(required=True)
    amount = Money(required=True)
    payment_method = fields.String(required=True)
    card_no = fields.String(load_default=None, allow_none=True)
