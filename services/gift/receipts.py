"""The receipt of a redemption (S-3), on the kit's receipt page (services/kit/receipts.py)."""

from __future__ import annotations

from services.kit.receipts import Receipt, Section, local_time, mask_card, render

STATUS_WORDS = {
    "pending": "处理中 Pending",
    "completed": "已兑换 Redeemed",
    "refused": "未兑换 Refused",
    "cancelling": "撤销中 Cancelling",
    "cancelled": "已撤销 Cancelled",
}


def redemption(r: dict, facts: dict, paper: str) -> str:
    """`facts`: the chain's name, time zone and footer, and the store's name."""
    zone = facts["time_zone"]
    rows = [
        ("单号 No.", r["id"]),
        ("时间 Time", local_time(r["created_at"], zone)),
        ("卡号 Card", mask_card(r["card_no"])),
        ("礼品 Gift", r["gift_name"]),
        ("数量 Quantity", str(r["quantity"])),
        ("积分 Points", str(r["points"])),
        ("操作员 Operator", r["operator_name"]),
        ("状态 Status", STATUS_WORDS.get(r["status"], r["status"])),
    ]
    if r["cancelled_at"]:
        rows.append(("撤销时间 Cancelled", local_time(r["cancelled_at"], zone)))
    if r["remark"]:
        rows.append(("备注 Remark", r["remark"]))
    title = "积分兑换 Gift redemption"
    return render(Receipt(title, facts["chain_name"], facts["store_name"], [Section(rows)], facts["footer"]), paper)
