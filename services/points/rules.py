"""The earning rules (P-1, P-2, P-5), with no framework: unit tested with worked numbers.

Points on a consume line = yuan paid that earn × base rate × the line's category
rate × the tier's multiplier × the multiplier of the year's spend level × the best
promotion. Everything is an exact fraction until the very end, where the consume's
total is rounded down once (P-1); that total is then shared out over the lines
(largest remainder), so a refund of a line can reverse what that line earned.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

ONE = Fraction(1)


@dataclass(frozen=True)
class RuleSet:
    base_rate: Fraction = ONE
    category_rates: dict[str, Fraction] = field(default_factory=dict)
    tier_multipliers: dict[str, Fraction] = field(default_factory=dict)
    spend_levels: tuple[tuple[int, Fraction], ...] = ()  # (from fen spent this year, multiplier)
    bonus_earns: bool = False

    @classmethod
    def from_stored(cls, row: object | None) -> RuleSet:
        """From a `rules` row (None: the defaults, 1 point per yuan paid from money)."""
        if row is None:
            return cls()
        return cls(
            base_rate=Fraction(Decimal(row.base_rate)),
            category_rates={r["category"]: Fraction(Decimal(r["rate"])) for r in row.category_rates},
            tier_multipliers={t["tier_code"]: Fraction(Decimal(t["multiplier"])) for t in row.tier_multipliers},
            spend_levels=tuple(sorted((s["from_spend"], Fraction(Decimal(s["multiplier"]))) for s in row.spend_levels)),
            bonus_earns=row.bonus_earns,
        )


@dataclass(frozen=True)
class PromotionTerms:
    id: str
    starts_on: date
    ends_on: date
    store_ids: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    item_codes: frozenset[str] = frozenset()
    weekdays: frozenset[int] = frozenset()
    multiplier: Fraction | None = None
    extra_points: int | None = None


@dataclass(frozen=True)
class Line:
    line_no: int
    item_code: str
    category: str
    net: int  # fen due for the line


@dataclass(frozen=True)
class Earned:
    total: int
    lines: dict[int, int]  # line_no -> points
    promotion_id: str | None


def level_multiplier(levels: Sequence[tuple[int, Fraction]], year_spend: int) -> Fraction:
    """The multiplier of the highest level reached (none reached: 1)."""
    reached = [m for start, m in levels if year_spend >= start]
    return reached[-1] if reached else ONE


def earning_share(paid: dict, amount_due: int, bonus_earns: bool) -> Fraction:
    """The part of the amount due that earns: money paid, except the bonus balance unless the
    chain says bonus earns too (P-2). The wallet takes cash first, then bonus, for the whole
    consume, so each line is paid in the same proportions."""
    if amount_due <= 0:
        return Fraction(0)
    earning = paid["cash"] + paid["credit"] + paid["external"] + (paid["bonus"] if bonus_earns else 0)
    return Fraction(min(earning, amount_due), amount_due)


def in_window(promotion: PromotionTerms, local: datetime, store_id: str | None) -> bool:
    """The promotion is on at that local moment, at that store."""
    if not promotion.starts_on <= local.date() <= promotion.ends_on:
        return False
    if promotion.weekdays and local.isoweekday() not in promotion.weekdays:
        return False
    return not promotion.store_ids or store_id in promotion.store_ids


def covers(promotion: PromotionTerms, line: Line) -> bool:
    if promotion.categories and line.category not in promotion.categories:
        return False
    return not promotion.item_codes or line.item_code in promotion.item_codes


def line_values(rules: RuleSet, lines: Sequence[Line], share: Fraction, tier_code: str, year_spend: int) -> dict:
    """Each line's exact points before any promotion."""
    common = (
        rules.base_rate * rules.tier_multipliers.get(tier_code, ONE) * level_multiplier(rules.spend_levels, year_spend)
    )
    return {
        line.line_no: Fraction(line.net, 100) * share * common * rules.category_rates.get(line.category, ONE)
        for line in lines
    }


def _boost(promotion: PromotionTerms, lines: Sequence[Line], values: dict) -> dict[int, Fraction]:
    """What the promotion adds to each line it covers."""
    covered = [line for line in lines if covers(promotion, line)]
    if not covered:
        return {}
    if promotion.multiplier is not None:
        return {line.line_no: values[line.line_no] * (promotion.multiplier - 1) for line in covered}
    return {covered[0].line_no: Fraction(promotion.extra_points or 0)}


def earn(
    rules: RuleSet,
    promotions: Sequence[PromotionTerms],
    lines: Sequence[Line],
    share: Fraction,
    tier_code: str,
    year_spend: int,
    store_id: str | None,
    local: datetime,
) -> Earned:
    """P-2: the points a consume earns. Of the promotions on at that moment and store, the one
    that adds the most applies (never a product of several)."""
    values = line_values(rules, lines, share, tier_code, year_spend)
    best_id, best = None, {}
    for promotion in promotions:
        if not in_window(promotion, local, store_id):
            continue
        boost = _boost(promotion, lines, values)
        if sum(boost.values()) > sum(best.values()):
            best_id, best = promotion.id, boost
    exact = {n: v + best.get(n, 0) for n, v in values.items()}
    total = math.floor(sum(exact.values(), Fraction(0)))  # rounded down once (P-1)
    return Earned(max(total, 0), share_out(exact, max(total, 0)), best_id)


def share_out(exact: dict[int, Fraction], total: int) -> dict[int, int]:
    """Split an integer total over the lines in proportion to their exact values: each line
    gets its whole part, and the points left go to the largest remainders."""
    if not exact:
        return {}
    floors = {n: max(0, math.floor(v)) for n, v in exact.items()}
    left = total - sum(floors.values())
    by_remainder = sorted(exact, key=lambda n: (-(exact[n] - math.floor(exact[n])), n))
    for n in by_remainder[: max(0, left)]:
        floors[n] += 1
    return floors


def reversed_after(line_points: int, line_net: int, refunded: int) -> int:
    """What a line has reversed once `refunded` fen of its `line_net` are refunded: the same
    proportion, rounded down, and exactly the line's points when all of it is refunded. A
    refund reverses the difference from the refunds before it, so refunds of all parts
    together reverse exactly what was earned."""
    if line_net <= 0 or refunded >= line_net:
        return line_points
    return line_points * refunded // line_net


# ---- time (P-5) ---------------------------------------------------------------------------------


def day_start(zone: str, day: date) -> datetime:
    """The instant `day` begins in `zone`, in UTC."""
    return datetime.combine(day, time.min, ZoneInfo(zone)).astimezone(UTC)


def local_day(zone: str, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def add_months(start: date, months: int) -> date:
    """Same day `months` later; the 31st becomes the month's last day."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def expires_at(zone: str, earned_at: datetime, months: int | None) -> datetime | None:
    """Points earned on a local day expire as the same day `months` later begins."""
    if months is None:
        return None
    return day_start(zone, add_months(local_day(zone, earned_at), months))


def last_reset(zone: str, now: datetime, month: int | None, day: int | None) -> datetime | None:
    """The most recent yearly reset at or before `now` (None: the chain has no reset)."""
    if month is None or day is None:
        return None
    today = local_day(zone, now)
    this_year = date(today.year, month, day)
    return day_start(zone, this_year if this_year <= today else date(today.year - 1, month, day))


def next_reset_day(zone: str, now: datetime, month: int | None, day: int | None) -> date | None:
    if month is None or day is None:
        return None
    today = local_day(zone, now)
    this_year = date(today.year, month, day)
    return this_year if this_year > today else date(today.year + 1, month, day)


def expiring_by_day(zone: str, lots: Iterable[tuple[str, datetime, int]]) -> dict[tuple[str, date], int]:
    """Points expiring per member and local day, from (member, expires_at, points) of lots: lots
    earned at different moments of one day expire at different instants but are one reminder."""
    by_day: dict[tuple[str, date], int] = {}
    for member_id, moment, points in lots:
        key = (member_id, local_day(zone, moment))
        by_day[key] = by_day.get(key, 0) + int(points)
    return by_day
