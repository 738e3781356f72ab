"""Tier rules as plain data and functions (M-6, M-7, W-3): no I/O, unit-tested."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from contracts.errors import ValidationFailed

SPEND = "cumulative_spend"
POINTS = "lifetime_points"

# Default tiers of a new chain; HQ edits them afterwards. Money in fen, rates in basis points.
DEFAULT_TIERS: tuple[dict, ...] = (
    {
        "code": "STANDARD",
        "name": "普通卡 Standard",
        "rank": 1,
        "default_discount_bp": 0,
        "category_discounts": {},
        "points_multiplier_bp": 10000,
        "upgrade_metric": SPEND,
        "upgrade_threshold": 0,
        "validity_months": 24,
        "renewal_fee": 0,
        "issue_fee": 0,
        "reissue_fee": 0,
        "replacement_fee": 1000,
        "recharge_bonus_rules": [{"threshold": 100000, "bonus_fixed": 3000, "bonus_rate_bp": None}],
        "per_transaction_limit": None,
        "daily_limit": None,
    },
    {
        "code": "SILVER",
        "name": "银卡 Silver",
        "rank": 2,
        "default_discount_bp": 500,
        "category_discounts": {},
        "points_multiplier_bp": 12000,
        "upgrade_metric": SPEND,
        "upgrade_threshold": 100000,
        "validity_months": 24,
        "renewal_fee": 2000,
        "issue_fee": 2000,
        "reissue_fee": 1000,
        "replacement_fee": 1000,
        # W-3: recharge >= 1000 yuan -> +50 yuan bonus
        "recharge_bonus_rules": [
            {"threshold": 100000, "bonus_fixed": 5000, "bonus_rate_bp": None},
            {"threshold": 50000, "bonus_fixed": 2000, "bonus_rate_bp": None},
        ],
        "per_transaction_limit": None,
        "daily_limit": None,
    },
    {
        "code": "GOLD",
        "name": "金卡 Gold",
        "rank": 3,
        "default_discount_bp": 1000,
        "category_discounts": {},
        "points_multiplier_bp": 15000,
        "upgrade_metric": SPEND,
        "upgrade_threshold": 500000,
        "validity_months": 24,
        "renewal_fee": 5000,
        "issue_fee": 5000,
        "reissue_fee": 1000,
        "replacement_fee": 1000,
        "recharge_bonus_rules": [
            {"threshold": 200000, "bonus_fixed": None, "bonus_rate_bp": 800},
            {"threshold": 100000, "bonus_fixed": None, "bonus_rate_bp": 600},
        ],
        "per_transaction_limit": None,
        "daily_limit": None,
    },
    {
        "code": "VIP",
        "name": "VIP卡 VIP",
        "rank": 4,
        "default_discount_bp": 1500,
        "category_discounts": {},
        "points_multiplier_bp": 20000,
        "upgrade_metric": SPEND,
        "upgrade_threshold": 2000000,
        "validity_months": 12,
        "renewal_fee": 10000,
        "issue_fee": 10000,
        "reissue_fee": 0,
        "replacement_fee": 0,
        "recharge_bonus_rules": [
            {"threshold": 500000, "bonus_fixed": None, "bonus_rate_bp": 1200},
            {"threshold": 100000, "bonus_fixed": None, "bonus_rate_bp": 1000},
        ],
        "per_transaction_limit": None,
        "daily_limit": None,
    },
)


def check_bonus_rules(rules: list[dict], field: str = "recharge_bonus_rules") -> list[dict]:
    """Exactly one of fixed or rate per rule, distinct thresholds; kept highest threshold first."""
    seen: set[int] = set()
    for i, rule in enumerate(rules):
        if (rule.get("bonus_fixed") is None) == (rule.get("bonus_rate_bp") is None):
            raise ValidationFailed(fields={field: {str(i): ["Give exactly one of bonus_fixed or bonus_rate_bp."]}})
        if rule["threshold"] in seen:
            raise ValidationFailed(fields={field: {str(i): ["Two rules have this threshold."]}})
        seen.add(rule["threshold"])
    normal = [
        {"threshold": r["threshold"], "bonus_fixed": r.get("bonus_fixed"), "bonus_rate_bp": r.get("bonus_rate_bp")}
        for r in rules
    ]
    return sorted(normal, key=lambda r: r["threshold"], reverse=True)


@dataclass(frozen=True)
class TierStep:
    """What the upgrade decision needs of a tier."""

    code: str
    rank: int
    metric: str
    threshold: int
    active: bool = True


def reached(step: TierStep, cumulative_spend: int, lifetime_points: int) -> bool:
    """A threshold of 0 is never reached automatically: that tier is given by hand
    (or is the entry tier everyone starts in)."""
    value = cumulative_spend if step.metric == SPEND else lifetime_points
    return step.threshold > 0 and value >= step.threshold


def upgrade_target(
    tiers: list[TierStep], current_rank: int, cumulative_spend: int, lifetime_points: int
) -> TierStep | None:
    """The highest active tier whose threshold the member has reached, if it ranks above
    the current one (M-7). Upgrades only: a refund never takes a tier away automatically."""
    candidates = [t for t in tiers if t.active and reached(t, cumulative_spend, lifetime_points)]
    if not candidates:
        return None
    best = max(candidates, key=lambda t: t.rank)
    return best if best.rank > current_rank else None


def add_months(start: date, months: int) -> date:
    """Same day `months` later; the 31st becomes the month's last day."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def status_on(status: str, expiry_date: date | None, today: date) -> str:
    """An active card past its expiry date is expired, whether or not anyone has written that down yet."""
    if status == "active" and expiry_date is not None and expiry_date < today:
        return "expired"
    return status
