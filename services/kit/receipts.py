"""The printable receipt page every service prints (S-3): HTML for an 80 mm thermal printer or
an A4 page, the chain's and the store's names on top, label and value rows, a signature line
and the chain's receipt footer.

Each service says what its receipt holds (gift: a redemption; wallet: a recharge, a consume,
a refund) as rows; the page, its styles, money in yuan, local times, masked card numbers and
escaping are written here once. Every value is escaped; the page prints itself as it is shown.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from contracts.base import RECEIPT_FORMATS

PAGES = {  # one per paper of RECEIPT_FORMATS
    # 80 mm paper prints about 72 mm: one narrow column, a monospace face the printer knows, at
    # about the 42 to 48 characters a line a thermal printer's own font gives
    "80mm": "@page{size:80mm auto;margin:2mm}body{width:72mm;font:11px/1.4 monospace;margin:0}",
    "a4": "@page{size:A4;margin:20mm}body{max-width:170mm;font:14px/1.6 serif;margin:0 auto}",
}
STYLE = (
    "h1{font-size:1.3em;text-align:center;margin:0 0 .3em}h2{font-size:1em;text-align:center;margin:0 0 .8em}"
    # cells keep their spaces: a row indented under the one above (a line's discount) stays indented
    "table{width:100%;border-collapse:collapse}td{padding:1px 0;vertical-align:top;white-space:pre-wrap}"
    "td.v{text-align:right;overflow-wrap:anywhere}"
    ".sig{margin-top:2.5em;border-top:1px solid #000;padding-top:.2em}.foot{margin-top:1.2em;text-align:center;"
    "white-space:pre-wrap}"
    # a section's heading (a consume's items, what paid it) is a rule across the column
    "th{text-align:left;border-bottom:1px dashed #000;padding:.6em 0 .1em}"
)
SIGNATURE = "会员签名 Member signature"
# a value longer than this (an id, a remark) goes on a line of its own under its label: beside
# it, it would squeeze every label of the 80 mm column into two lines
WIDE_VALUE = 20
VISIBLE_CARD_DIGITS = 4  # enough for the member to know their card, too few to use it


@dataclass(frozen=True)
class Section:
    """Rows under an optional heading: (label, value) pairs, printed left and right."""

    rows: Sequence[tuple[str, str]]
    heading: str | None = None


@dataclass(frozen=True)
class Receipt:
    """What one receipt says: its title, where it was made, its sections, the chain's footer."""

    title: str
    chain_name: str
    store_name: str
    sections: Sequence[Section] = field(default_factory=tuple)
    footer: str = ""


def yuan(fen: int) -> str:
    """Integer fen as yuan with two decimals ("1234.50", "-0.05"), in integers: no float near money."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def percent_off(basis_points: int) -> str:
    """A discount in basis points as a percentage: 1000 -> "10%", 1250 -> "12.5%"."""
    whole, rest = divmod(basis_points, 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


def local_time(moment: str | datetime | None, zone: str) -> str:
    """An instant (ISO-8601 string or aware datetime) as the chain's wall-clock time."""
    if not moment:
        return ""
    instant = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def mask_card(card_no: str | None) -> str:
    """A card number with all but its last digits hidden: a receipt left on the counter must
    not let anyone else pay with the card."""
    if not card_no:
        return ""
    shown = card_no[-VISIBLE_CARD_DIGITS:]
    return "*" * (len(card_no) - len(shown)) + shown


def _rows(section: Section) -> str:
    esc = html.escape
    heading = f"<tr><th colspan='2'>{esc(section.heading)}</th></tr>" if section.heading else ""
    return heading + "".join(_row(label, value) for label, value in section.rows)


def _row(label: str, value: str) -> str:
    esc = html.escape
    if len(value) > WIDE_VALUE:
        return f"<tr><td colspan='2'>{esc(label)}</td></tr><tr><td colspan='2' class='v'>{esc(value)}</td></tr>"
    return f"<tr><td>{esc(label)}</td><td class='v'>{esc(value)}</td></tr>"


def render(receipt: Receipt, paper: str) -> str:
    """The receipt as a page for `paper` ("80mm" or "a4")."""
    if paper not in RECEIPT_FORMATS:
        raise ValueError(f"paper must be one of {RECEIPT_FORMATS}, not {paper!r}")
    esc = html.escape
    body = "".join(_rows(section) for section in receipt.sections)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{esc(receipt.title)}</title><style>{PAGES[paper]}{STYLE}</style></head><body>"
        f"<h1>{esc(receipt.chain_name)}</h1><h2>{esc(receipt.store_name)} · {esc(receipt.title)}</h2>"
        f"<table>{body}</table>"
        f"<div class='sig'>{esc(SIGNATURE)}</div>"
        f"<div class='foot'>{esc(receipt.footer)}</div></body></html>"
    )
