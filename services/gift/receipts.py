"""Printable receipts (S-3): HTML for an 80 mm thermal printer or an A4 page, with the chain's
footer and a signature line. Every value is escaped; the page prints itself as it is shown."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

STATUS_WORDS = {
    "pending": "处理中 Pending",
    "completed": "已兑换 Redeemed",
    "refused": "未兑换 Refused",
    "cancelling": "撤销中 Cancelling",
    "cancelled": "已撤销 Cancelled",
}
PAGES = {
    # 80 mm paper prints about 72 mm: one narrow column, a monospace face the printer knows
    "80mm": "@page{size:80mm auto;margin:2mm}body{width:72mm;font:12px/1.4 monospace;margin:0}",
    "a4": "@page{size:A4;margin:20mm}body{max-width:170mm;font:14px/1.6 serif;margin:0 auto}",
}
STYLE = (
    "h1{font-size:1.3em;text-align:center;margin:0 0 .3em}h2{font-size:1em;text-align:center;margin:0 0 .8em}"
    "table{width:100%;border-collapse:collapse}td{padding:1px 0;vertical-align:top}td.v{text-align:right}"
    ".sig{margin-top:2.5em;border-top:1px solid #000;padding-top:.2em}.foot{margin-top:1.2em;text-align:center;"
    "white-space:pre-wrap}"
)


def local_time(moment: str | None, zone: str) -> str:
    if not moment:
        return ""
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def render(title: str, header: dict, rows: list[tuple[str, str]], footer: str, paper: str) -> str:
    """A receipt page: `header` has the chain and store names, `rows` label and value pairs."""
    esc = html.escape
    body = "".join(f"<tr><td>{esc(label)}</td><td class='v'>{esc(value)}</td></tr>" for label, value in rows)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{PAGES[paper]}{STYLE}</style></head><body>"
        f"<h1>{esc(header['chain_name'])}</h1><h2>{esc(header['store_name'])} · {esc(title)}</h2>"
        f"<table>{body}</table>"
        "<div class='sig'>会员签名 Member signature</div>"
        f"<div class='foot'>{esc(footer)}</div></body></html>"
    )


def redemption(r: dict, facts: dict, paper: str) -> str:
    zone = facts["time_zone"]
    rows = [
        ("单号 No.", r["id"]),
        ("时间 Time", local_time(r["created_at"], zone)),
        ("卡号 Card", r["card_no"]),
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
    return render("积分兑换 Gift redemption", facts, rows, facts["footer"], paper)
