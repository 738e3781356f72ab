"""Contracts of the `reporting` service: queries and answers of the reports (R-1..R-8),
their export columns, and the commission rules HQ sets (R-7).

Every report is of one chain, filtered by store (the caller's scope always
applies), a date range in the chain's time zone and, where it applies, tier
and operator. Every answer says how fresh it is (`as_of`).
"""

from __future__ import annotations

from marshmallow import fields, validate

from contracts.base import (
    BasisPoints,
    Code,
    Contract,
    Day,
    Id,
    Money,
    Page,
    QueryInteger,
    Text,
    Total,
    not_before,
)

GROUPS = ("day", "month")
FORMATS = ("csv", "xlsx")
# the reports, by the name in their path
STORE_SUMMARY, CONSUMPTIONS, RECHARGES, MEMBER_TOTALS = "store-summary", "consumptions", "recharges", "member-totals"
LIABILITY, SETTLEMENT, MEMBER_STATS, RANKINGS, EMPLOYEES = (
    "liability",
    "settlement",
    "member-stats",
    "rankings",
    "employees",
)
POINTS_RANKINGS, GIFT_REDEMPTIONS, GIFT_STATS = "points-rankings", "gift-redemptions", "gift-stats"
GIFT_STATUSES = ("completed", "cancelled")


# ---- queries -------------------------------------------------------------------------------


class _Range(Contract):
    since = Day(required=True)
    until = Day(required=True)
    store_id = Id(load_default=None)

    _order = not_before("since", "until")


class _Grouped(_Range):
    group = fields.String(load_default="day", validate=validate.OneOf(GROUPS))


class SummaryQuery(_Grouped):
    operator_id = Id(load_default=None)  # one operator's takings


class DetailQuery(_Range, Page):
    tier_code = Code(load_default=None)
    operator_id = Id(load_default=None)
    member_id = Id(load_default=None)  # one member's detail (R-2: recharge and consumption per member)


class MemberTotalsQuery(_Range, Page):
    tier_code = Code(load_default=None)


class LiabilityReportQuery(Contract):
    as_of = Day(load_default=None)
    store_id = Id(load_default=None)


class SettlementReportQuery(_Grouped):
    pass


class MemberStatsQuery(_Grouped):
    tier_code = Code(load_default=None)


class RankingQuery(_Range):
    tier_code = Code(load_default=None)
    limit = QueryInteger(load_default=20, validate=validate.Range(min=1, max=100))


class EmployeeQuery(_Range):
    operator_id = Id(load_default=None)


class GiftRedemptionQuery(_Range, Page):
    tier_code = Code(load_default=None)
    operator_id = Id(load_default=None)
    member_id = Id(load_default=None)
    gift_id = Id(load_default=None)
    status = fields.String(validate=validate.OneOf(GIFT_STATUSES))


class GiftStatsQuery(_Grouped):
    gift_id = Id(load_default=None)


def export_query(query: type[Contract]) -> type[Contract]:
    """The report's query, less paging (an export holds every row), plus the file format. A
    ranking's `limit` is how many it ranks, not a page: it stays."""
    paged = ("limit", "after") if issubclass(query, Page) else ()
    meta = type("Meta", (Contract.Meta,), {"exclude": paged})
    attrs = {"Meta": meta, "format": fields.String(required=True, validate=validate.OneOf(FORMATS))}
    return type(f"{query.__name__.removesuffix('Query')}ExportQuery", (query,), attrs)


# ---- answers -------------------------------------------------------------------------------


class AsOf(Contract):
    """How fresh the report is: the newest event applied, when it was applied, and the lag."""

    newest_event_at = fields.String(required=True, allow_none=True)
    applied_at = fields.String(required=True, allow_none=True)
    lag_ms = fields.Integer(required=True, allow_none=True)


class _Report(Contract):
    as_of = fields.Nested(AsOf, required=True)
    time_zone = fields.String(required=True)


class SummaryFigures(Contract):
    consume_count = Total(required=True)
    gross = Total(required=True)
    discount = Total(required=True)
    actual = Total(required=True)
    paid_cash = Total(required=True)
    paid_bonus = Total(required=True)
    paid_credit = Total(required=True)
    paid_external = Total(required=True)
    refund_count = Total(required=True)
    refunded = Total(required=True)
    net = Total(signed=True, required=True)
    recharge_count = Total(required=True)
    recharged = Total(required=True)
    bonus_issued = Total(required=True)


class SummaryRow(SummaryFigures):
    period = fields.String(required=True)
    store_id = fields.String(required=True)
    store_name = fields.String(required=True)


class StoreSummary(_Report):
    group = fields.String(required=True)
    rows = fields.List(fields.Nested(SummaryRow), required=True)
    totals = fields.Nested(SummaryFigures, required=True)


class DetailLine(Contract):
    line_no = fields.Integer(required=True)
    item_code = fields.String(required=True, allow_none=True)
    name = fields.String(required=True)
    category = fields.String(required=True, allow_none=True)
    quantity = fields.Integer(required=True)
    unit_price = Money(required=True)
    gross = Money(required=True)
    discount = Money(required=True)
    net = Money(required=True)


class _Who(Contract):
    transaction_id = Id(required=True)
    occurred_at = fields.String(required=True)
    store_id = fields.String(required=True, allow_none=True)
    store_name = fields.String(required=True)
    member_id = fields.String(required=True, allow_none=True)
    member_name = fields.String(required=True)
    card_no = fields.String(required=True, allow_none=True)
    tier_code = fields.String(required=True, allow_none=True)
    operator_id = fields.String(required=True, allow_none=True)
    operator_name = fields.String(required=True)


class ConsumptionRow(_Who):
    employee_id = fields.String(required=True, allow_none=True)
    employee_name = fields.String(required=True)
    gross = Money(required=True)
    discount = Money(required=True)
    actual = Money(required=True)
    paid_cash = Money(required=True)
    paid_bonus = Money(required=True)
    paid_credit = Money(required=True)
    paid_external = Money(required=True)
    refunded = Total(required=True)
    points_earned = Total(required=True)  # what the consume earned (points.earned, kind earn)
    points_reversed = Total(signed=True, required=True)  # taken back by its refunds (negative)
    remark = fields.String(required=True)
    items = fields.String(required=True)  # the lines in a word, for a spreadsheet's one cell
    lines = fields.List(fields.Nested(DetailLine), required=True)


class Consumptions(_Report):
    items = fields.List(fields.Nested(ConsumptionRow), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class RechargeRow(_Who):
    kind = fields.String(required=True)
    amount = Money(required=True)
    bonus = Money(required=True)
    payment_method = fields.String(required=True, allow_none=True)
    remark = fields.String(required=True)


class Recharges(_Report):
    items = fields.List(fields.Nested(RechargeRow), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class MemberTotalsRow(Contract):
    member_id = Id(required=True)
    member_no = fields.String(required=True)
    member_name = fields.String(required=True)
    tier_code = fields.String(required=True, allow_none=True)
    recharge_count = Total(required=True)
    recharged = Total(required=True)
    bonus_issued = Total(required=True)
    consume_count = Total(required=True)
    consumed = Total(required=True)
    refunded = Total(required=True)


class MemberTotals(_Report):
    items = fields.List(fields.Nested(MemberTotalsRow), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class LiabilityReportRow(Contract):
    store_id = fields.String(required=True)
    store_name = fields.String(required=True)
    cash = Total(signed=True, required=True)
    bonus = Total(signed=True, required=True)


class Owed(Contract):
    cash = Total(signed=True, required=True)
    bonus = Total(signed=True, required=True)


class LiabilityReport(_Report):
    date = fields.String(required=True)
    stores = fields.List(fields.Nested(LiabilityReportRow), required=True)
    chain = fields.Nested(Owed, required=True)


class SettlementReportRow(Contract):
    """Netted per pair of stores and period: `debtor` spent more of `creditor`'s cash than the
    other way round, and owes it `amount`."""

    period = fields.String(required=True)
    debtor_store_id = fields.String(required=True)
    debtor_store_name = fields.String(required=True)
    creditor_store_id = fields.String(required=True)
    creditor_store_name = fields.String(required=True)
    amount = Total(required=True)


class SettlementReport(_Report):
    group = fields.String(required=True)
    rows = fields.List(fields.Nested(SettlementReportRow), required=True)


class MemberStatsRow(Contract):
    store_id = fields.String(required=True, allow_none=True)
    store_name = fields.String(required=True)
    tier_code = fields.String(required=True, allow_none=True)
    members = Total(required=True)


class PeriodCount(Contract):
    period = fields.String(required=True)
    new_members = Total(required=True)
    active_members = Total(required=True)


class MemberStats(_Report):
    group = fields.String(required=True)
    by_store_and_tier = fields.List(fields.Nested(MemberStatsRow), required=True)
    periods = fields.List(fields.Nested(PeriodCount), required=True)


class RankingRow(Contract):
    rank = fields.Integer(required=True)
    member_id = Id(required=True)
    member_no = fields.String(required=True)
    member_name = fields.String(required=True)
    tier_code = fields.String(required=True, allow_none=True)
    consume_count = Total(required=True)
    consumed = Total(signed=True, required=True)


class Rankings(_Report):
    by_consumption = fields.List(fields.Nested(RankingRow), required=True)


class PointsRankingRow(Contract):
    rank = fields.Integer(required=True)
    member_id = Id(required=True)
    member_no = fields.String(required=True)
    member_name = fields.String(required=True)
    tier_code = fields.String(required=True, allow_none=True)
    points_earned = Total(signed=True, required=True)  # every way points were earned or given
    points_reversed = Total(signed=True, required=True)  # taken back by refunds (negative)
    points = Total(signed=True, required=True)  # the two together: what ranks


class PointsRankings(_Report):
    by_points = fields.List(fields.Nested(PointsRankingRow), required=True)


class GiftRedemptionRow(Contract):
    redemption_id = Id(required=True)
    redeemed_at = fields.String(required=True)
    store_id = fields.String(required=True)
    store_name = fields.String(required=True)
    member_id = fields.String(required=True)
    member_name = fields.String(required=True)
    card_id = fields.String(required=True)
    card_no = fields.String(required=True, allow_none=True)
    tier_code = fields.String(required=True, allow_none=True)
    gift_id = fields.String(required=True)
    gift_name = fields.String(required=True)
    quantity = Total(required=True)
    points = Total(required=True)
    operator_id = fields.String(required=True)
    operator_name = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(GIFT_STATUSES))
    cancelled_at = fields.String(required=True, allow_none=True)
    cancel_operator_id = fields.String(required=True, allow_none=True)
    cancel_operator_name = fields.String(required=True)
    cancel_reason = fields.String(required=True, allow_none=True)


class GiftRedemptions(_Report):
    items = fields.List(fields.Nested(GiftRedemptionRow), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class GiftFigures(Contract):
    redemptions = Total(required=True)
    quantity = Total(required=True)
    points = Total(required=True)


class GiftStatsRow(GiftFigures):
    period = fields.String(required=True)
    store_id = fields.String(required=True)
    store_name = fields.String(required=True)
    gift_id = fields.String(required=True)
    gift_name = fields.String(required=True)


class GiftStats(_Report):
    group = fields.String(required=True)
    rows = fields.List(fields.Nested(GiftStatsRow), required=True)
    totals = fields.Nested(GiftFigures, required=True)


class EmployeeRow(Contract):
    employee_id = fields.String(required=True)
    employee_name = fields.String(required=True)
    level = fields.String(required=True)
    consume_count = Total(required=True)
    services = Total(signed=True, required=True)
    sales = Total(signed=True, required=True)
    commission_sales = Total(signed=True, required=True)
    commission_fixed = Total(signed=True, required=True)
    commission = Total(signed=True, required=True)


class Employees(_Report):
    rows = fields.List(fields.Nested(EmployeeRow), required=True)


class DayTakings(Contract):
    period = fields.String(required=True)
    actual = Total(required=True)
    net = Total(signed=True, required=True)
    recharged = Total(required=True)


class OwedOnDay(Owed):
    date = fields.String(required=True)


class DashboardLiability(Contract):
    stores = fields.List(fields.Nested(LiabilityReportRow), required=True)
    chain = fields.Nested(Owed, required=True)


class Dashboard(_Report):
    """HQ's summary: today, this month (by store too), the month's top members, liability now
    and at the end of each of the last 30 days, and the chain's takings on each of them."""

    date = fields.String(required=True)
    today = fields.Nested(SummaryFigures, required=True)
    month = fields.Nested(SummaryFigures, required=True)
    by_store = fields.List(fields.Nested(SummaryRow), required=True)
    top_members = fields.List(fields.Nested(RankingRow), required=True)
    liability = fields.Nested(DashboardLiability, required=True)
    daily = fields.List(fields.Nested(DayTakings), required=True)
    liability_daily = fields.List(fields.Nested(OwedOnDay), required=True)


# ---- commission rules (R-7, O-9) -------------------------------------------------------------


class CommissionRuleRequest(Contract):
    level = Text(40, required=True)
    sales_bp = BasisPoints(load_default=0)
    item_fixed = fields.Dict(keys=Code(), values=Money(validate=validate.Range(min=0, max=10**8)), load_default=dict)


class CommissionRule(Contract):
    level = fields.String(required=True)
    sales_bp = BasisPoints(required=True)
    item_fixed = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class CommissionRules(Contract):
    items = fields.List(fields.Nested(CommissionRule), required=True)


# ---- export columns ----------------------------------------------------------------------------
# (field, header, type): "text", "int", "money" (fen, shown as yuan with two decimals) or "time"

COLUMNS: dict[str, tuple[tuple[str, str, str], ...]] = {
    STORE_SUMMARY: (
        ("period", "期间", "text"),
        ("store_name", "门店", "text"),
        ("consume_count", "消费笔数", "int"),
        ("gross", "原价金额", "money"),
        ("discount", "折扣金额", "money"),
        ("actual", "实收金额", "money"),
        ("paid_cash", "本金支付", "money"),
        ("paid_bonus", "赠送金支付", "money"),
        ("paid_credit", "挂账支付", "money"),
        ("paid_external", "现场支付", "money"),
        ("refund_count", "退款笔数", "int"),
        ("refunded", "退款金额", "money"),
        ("net", "净收入", "money"),
        ("recharge_count", "充值笔数", "int"),
        ("recharged", "充值金额", "money"),
        ("bonus_issued", "赠送金额", "money"),
    ),
    CONSUMPTIONS: (
        ("occurred_at", "时间", "time"),
        ("store_name", "门店", "text"),
        ("member_name", "会员", "text"),
        ("card_no", "卡号", "text"),
        ("tier_code", "等级", "text"),
        ("operator_name", "操作员", "text"),
        ("employee_name", "服务员工", "text"),
        ("items", "消费项目", "text"),
        ("gross", "原价金额", "money"),
        ("discount", "折扣金额", "money"),
        ("actual", "实收金额", "money"),
        ("paid_cash", "本金支付", "money"),
        ("paid_bonus", "赠送金支付", "money"),
        ("paid_credit", "挂账支付", "money"),
        ("paid_external", "现场支付", "money"),
        ("refunded", "已退金额", "money"),
        ("points_earned", "获得积分", "int"),
        ("points_reversed", "冲回积分", "int"),
        ("remark", "备注", "text"),
        ("transaction_id", "交易号", "text"),
    ),
    RECHARGES: (
        ("occurred_at", "时间", "time"),
        ("store_name", "门店", "text"),
        ("member_name", "会员", "text"),
        ("card_no", "卡号", "text"),
        ("tier_code", "等级", "text"),
        ("operator_name", "操作员", "text"),
        ("kind", "类型", "text"),
        ("amount", "充值金额", "money"),
        ("bonus", "赠送金额", "money"),
        ("payment_method", "支付方式", "text"),
        ("remark", "备注", "text"),
        ("transaction_id", "交易号", "text"),
    ),
    MEMBER_TOTALS: (
        ("member_no", "会员编号", "text"),
        ("member_name", "会员", "text"),
        ("tier_code", "等级", "text"),
        ("recharge_count", "充值笔数", "int"),
        ("recharged", "充值金额", "money"),
        ("bonus_issued", "赠送金额", "money"),
        ("consume_count", "消费笔数", "int"),
        ("consumed", "消费金额", "money"),
        ("refunded", "退款金额", "money"),
    ),
    LIABILITY: (
        ("store_name", "门店", "text"),
        ("cash", "本金余额", "money"),
        ("bonus", "赠送金余额", "money"),
    ),
    SETTLEMENT: (
        ("period", "期间", "text"),
        ("debtor_store_name", "应付门店", "text"),
        ("creditor_store_name", "应收门店", "text"),
        ("amount", "结算金额", "money"),
    ),
    RANKINGS: (
        ("rank", "排名", "int"),
        ("member_no", "会员编号", "text"),
        ("member_name", "会员", "text"),
        ("tier_code", "等级", "text"),
        ("consume_count", "消费笔数", "int"),
        ("consumed", "消费金额", "money"),
    ),
    POINTS_RANKINGS: (
        ("rank", "排名", "int"),
        ("member_no", "会员编号", "text"),
        ("member_name", "会员", "text"),
        ("tier_code", "等级", "text"),
        ("points_earned", "获得积分", "int"),
        ("points_reversed", "冲回积分", "int"),
        ("points", "净积分", "int"),
    ),
    GIFT_REDEMPTIONS: (
        ("redeemed_at", "时间", "time"),
        ("store_name", "门店", "text"),
        ("member_name", "会员", "text"),
        ("card_no", "卡号", "text"),
        ("tier_code", "等级", "text"),
        ("gift_name", "礼品", "text"),
        ("quantity", "数量", "int"),
        ("points", "积分", "int"),
        ("operator_name", "操作员", "text"),
        ("status", "状态", "text"),
        ("cancelled_at", "取消时间", "time"),
        ("cancel_operator_name", "取消操作员", "text"),
        ("cancel_reason", "取消原因", "text"),
        ("redemption_id", "兑换号", "text"),
    ),
    GIFT_STATS: (
        ("period", "期间", "text"),
        ("store_name", "门店", "text"),
        ("gift_name", "礼品", "text"),
        ("redemptions", "兑换笔数", "int"),
        ("quantity", "兑换数量", "int"),
        ("points", "消耗积分", "int"),
    ),
    EMPLOYEES: (
        ("employee_name", "员工", "text"),
        ("level", "级别", "text"),
        ("consume_count", "服务笔数", "int"),
        ("services", "服务项目数", "int"),
        ("sales", "销售额", "money"),
        ("commission_sales", "销售提成", "money"),
        ("commission_fixed", "项目提成", "money"),
        ("commission", "提成合计", "money"),
    ),
    MEMBER_STATS: (
        ("store_name", "门店", "text"),
        ("tier_code", "等级", "text"),
        ("members", "会员数", "int"),
    ),
}
