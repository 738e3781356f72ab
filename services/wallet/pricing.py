"""Pure money arithmetic: discounts (W-4), the payment split (W-4), recharge bonus (W-3).

Integers only: money in fen, rates in basis points. No database, no nameko,
so every worked example of DOMAIN can be checked by a unit test.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BP = 10000
# W-4: the order a card pays in; anything left is paid at the counter or refused
CARD_SOURCES = ("cash", "bonus", "credit")


def half_up(amount: int, bp: int) -> int:
    """`amount * bp / 10000`, rounded half-up to the fen."""
    return (amount * bp * 2 + BP) // (2 * BP)


def discount_bp(tier: dict, category: str) -> int:
    """The tier's discount (basis points off) for a category, or its default."""
    overrides = tier.get("category_discounts") or {}
    return int(overrides.get(category, tier.get("default_discount_bp") or 0))


@dataclass(frozen=True)
class PricedLine:
    line_no: int
    gross: int
    discount_bp: int
    discount: int

    @property
    def net(self) -> int:
        return self.gross - self.discount


def price_line(line_no: int, quantity: int, unit_price: int, bp: int) -> PricedLine:
    gross = quantity * unit_price
    # rounded per line, not per unit: 3 x 3.33 at 10 % is one rounding, not three
    return PricedLine(line_no, gross, bp, half_up(gross, bp))


def price_lines(lines: Sequence[dict], tier: dict) -> list[PricedLine]:
    return [
        price_line(i, line["quantity"], line["unit_price"], discount_bp(tier, line["category"]))
        for i, line in enumerate(lines, start=1)
    ]


@dataclass(frozen=True)
class Split:
    cash: int = 0
    bonus: int = 0
    credit: int = 0
    external: int = 0

    @property
    def from_card(self) -> int:
        return self.cash + self.bonus + self.credit

    @property
    def total(self) -> int:
        return self.from_card + self.external

    def as_dict(self) -> dict:
        return {"cash": self.cash, "bonus": self.bonus, "credit": self.credit, "external": self.external}


def split_payment(due: int, available: dict[str, int], sources: Iterable[str] = CARD_SOURCES) -> tuple[Split, int]:
    """Take `due` from the sources in order; returns the split and what is still unpaid.

    `available` says how much each source can give (a missing source gives
    nothing: credit not allowed is simply absent). The caller decides whether
    the remainder goes to the counter or refuses the whole (W-4).
    """
    if due < 0:
        raise ValueError("amount due cannot be negative")
    taken: dict[str, int] = {}
    left = due
    for source in sources:
        take = min(left, max(0, available.get(source, 0)))
        taken[source] = take
        left -= take
    return Split(**taken), left


def recharge_bonus(amount: int, rules: Sequence[dict]) -> int:
    """W-3: the rule with the highest threshold reached applies, fixed or as a rate."""
    reached = [r for r in rules if r["threshold"] <= amount]
    if not reached:
        return 0
    rule = max(reached, key=lambda r: r["threshold"])
    if rule.get("bonus_fixed") is not None:
        return int(rule["bonus_fixed"])
    return half_up(amount, int(rule.get("bonus_rate_bp") or 0))


def share(total: int, part: int, whole: int) -> int:
    """`total * part / whole` rounded down; the last part takes the remainder,
    so shares of a whole always add up to it exactly."""
    if whole <= 0:
        raise ValueError("whole must be positive")
    if part >= whole:
        return total
    return total * part // whole


def refund_allocation(amount: int, paid: dict[str, int], already: dict[str, int]) -> Split:
    """W-6: give `amount` back to where it came from.

    Sources are refilled in the reverse of the order they paid in (counter,
    then credit, then bonus, then cash), each up to what it paid less what
    earlier refunds already gave back, so a series of partial refunds never
    returns more to a source than it paid.
    """
    back: dict[str, int] = {}
    left = amount
    for source in ("external", "credit", "bonus", "cash"):
        room = paid.get(source, 0) - already.get(source, 0)
        take = min(left, max(0, room))
        back[source] = take
        left -= take
    if left:
        raise ValueError("refund exceeds what was paid")
    return Split(**back)
