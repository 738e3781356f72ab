"""The printable receipt of a recharge, a consume or a refund (S-3), on the kit's receipt page
(services/kit/receipts.py). Plain functions of the transaction and what else the receipt
names: no database and no framework, so the layout is tested with worked numbers directly."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.kit.receipts import Receipt, Section, local_time, mask_card, percent_off, render, yuan

TITLES = {"recharge": "充值 Recharge", "consume": "消费 Consume", "refund": "退款 Refund"}
KINDS = tuple(TITLES)  # what has a receipt: the money a member hands over, spends or gets back


@dataclass(frozen=True)
class Facts:
    """What a receipt prints besides the transaction: where and when it is read, who is named."""

    chain_name: str
    store_name: str
    time_zone: str
    footer: str
    staff_names: dict[str, str] = field(default_factory=dict)  # staff id -> display name
    method_names: dict[str, str] = field(default_factory=dict)  # payment method code -> its name
    # a refund's consume: its id and when it was made
    original: dict | None = None


def _staff(facts: Facts, staff_id: str | None) -> str:
    return facts.staff_names.get(staff_id, staff_id) if staff_id else ""


def _method(facts: Facts, code: str | None) -> str:
    """The payment method as the chain names it (S-2); its code when the name is not known."""
    return facts.method_names.get(code, code) if code else ""


def _head(tx: dict, facts: Facts) -> list[tuple[str, str]]:
    return [
        ("单号 No.", tx["transaction_id"]),
        ("时间 Time", local_time(tx["created_at"], facts.time_zone)),
        ("卡号 Card", mask_card(tx["card_no"])),
        ("操作员 Operator", _staff(facts, tx["operator_id"])),
    ]


def _balances(tx: dict) -> Section:
    rows = [("本金 Cash", yuan(tx["cash_after"])), ("赠送金 Bonus", yuan(tx["bonus_after"]))]
    if tx["credit_used_after"]:
        rows.append(("已用信用 Credit used", yuan(tx["credit_used_after"])))
    return Section(rows, "余额 Balances after")


def _sources(paid: dict, payment_method: str) -> list[tuple[str, str]]:
    counter = f"柜台 Counter ({payment_method})" if paid["external"] and payment_method else "柜台 Counter"
    return [
        ("本金 Cash", yuan(paid["cash"])),
        ("赠送金 Bonus", yuan(paid["bonus"])),
        ("挂账 Credit", yuan(paid["credit"])),
        (counter, yuan(paid["external"])),
    ]


def _remark(tx: dict, label: str = "备注 Remark") -> list[tuple[str, str]]:
    return [(label, tx["remark"])] if tx["remark"] else []


def _recharge(tx: dict, facts: Facts) -> list[Section]:
    rows = [
        ("充值金额 Amount", yuan(tx["amount"])),
        ("赠送金额 Bonus", yuan(tx["bonus"])),
        ("支付方式 Paid by", _method(facts, tx["payment_method"])),
        *_remark(tx),
    ]
    return [Section(rows, "充值 Recharge"), _balances(tx)]


def _line(line: dict) -> list[tuple[str, str]]:
    # the name on a row of its own, as a till prints it: the narrow paper keeps the figures in one line
    rows = [
        (line["name"] or line["item_code"], ""),
        (f"  {line['quantity']} × {yuan(line['unit_price'])}", yuan(line["gross"])),
    ]
    if line["discount"]:
        rows.append((f"  会员折扣 Tier {percent_off(line['discount_bp'])}", yuan(-line["discount"])))
    if line["entitlement_id"]:
        rows.append((f"  次卡 Package, {line['counts_used']} used", ""))
    return rows


def _consume(tx: dict, facts: Facts) -> list[Section]:
    served = _staff(facts, tx["serving_employee_id"])
    # who served and which vehicle belong with the sale, before the money
    sale = [
        *([("服务员工 Served by", served)] if served else []),
        *([("车牌 Plate", tx["plate"])] if tx["plate"] else []),
    ]
    items = [row for line in tx["lines"] for row in _line(line)]
    totals = [
        ("原价 Before discount", yuan(tx["gross"])),
        ("折扣 Discount", yuan(-tx["discount"])),
        ("应付 Amount due", yuan(tx["amount"])),
        *_remark(tx),
    ]
    return [
        *([Section(sale)] if sale else []),
        Section(items, "商品 Items"),
        Section(totals),
        Section(_sources(tx["paid"], _method(facts, tx["payment_method"])), "支付 Paid from"),
        _balances(tx),
    ]


def _refund(tx: dict, facts: Facts) -> list[Section]:
    original = facts.original or {"transaction_id": tx["ref_transaction_id"], "created_at": None}
    rows = [
        ("原单号 Original No.", original["transaction_id"] or ""),
        ("原单时间 Sold at", local_time(original["created_at"], facts.time_zone)),
        ("退款金额 Amount", yuan(tx["amount"])),
        *_remark(tx, "原因 Reason"),
    ]
    return [
        Section(rows, "退款 Refund"),
        Section(_sources(tx["paid"], _method(facts, tx["payment_method"])), "退回 Back to"),
        _balances(tx),
    ]


def receipt(tx: dict, facts: Facts, paper: str) -> str:
    """The page for a transaction of one of `KINDS` (`tx`: `views.receipt_record`)."""
    if tx["kind"] not in KINDS:
        raise ValueError(f"a {tx['kind']} has no receipt")
    body = {"recharge": _recharge, "consume": _consume, "refund": _refund}
    sections = [Section(_head(tx, facts)), *body[tx["kind"]](tx, facts)]
    title = TITLES[tx["kind"]]
    return render(Receipt(title, facts.chain_name, facts.store_name, sections, facts.footer), paper)
