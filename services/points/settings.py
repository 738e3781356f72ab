"""What HQ configures (P-2, P-4, P-5): the chain's earning rules and its promotions,
and the chain's time zone as org last said it."""

from __future__ import annotations

import uuid
from collections import namedtuple
from decimal import Decimal
from functools import cache

from sqlalchemy import Select, String, Text, bindparam, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, ScalarSelect

from contracts.errors import NotFound
from services.kit import clock, direct
from services.points.models import ChainClock, Promotion, Rules

DEFAULTS = {
    "base_rate": "1",
    "category_rates": [],
    "tier_multipliers": [],
    "spend_levels": [],
    "bonus_earns": False,
    "expiry_months": None,
    "reset_month": None,
    "reset_day": None,
    "remind_days": 7,
    "referral_points": 0,
}


def active_promotions(chain_id: str | ColumnElement) -> ScalarSelect:
    """The chain's active promotions as one JSON array (a scalar subquery, `[]` when none);
    the multiplier as text, so it stays exact."""
    p = Promotion.__table__.c  # columns of the table: no ORM compile on the path of every consume
    fields = {
        "id": p.id,
        "starts_on": p.starts_on,
        "ends_on": p.ends_on,
        "store_ids": p.store_ids,
        "categories": p.categories,
        "item_codes": p.item_codes,
        "weekdays": p.weekdays,
        "multiplier": cast(p.multiplier, Text),
        "extra_points": p.extra_points,
    }
    # the keys as SQL text, not parameters: a prepared statement cannot type a parameter there
    promotion = func.jsonb_build_object(*(part for key, value in fields.items() for part in (_key(key), value)))
    return (
        select(func.coalesce(func.jsonb_agg(promotion), literal_column("'[]'::jsonb"), type_=JSONB))
        .where(p.chain_id == chain_id, p.active.is_(True))
        .scalar_subquery()
    )


def _key(name: str) -> ColumnElement:
    return literal_column(f"'{name}'", type_=Text)


# the chain's `rules` row as a consume reads it: its values by the columns' names, not a mapped
# `Rules` (loading mapped objects costs several times the read on the path of every consume)
_RULES = Rules.__table__
StoredRules = namedtuple("StoredRules", list(_RULES.columns.keys()))  # noqa: PYI024 - fields from the table


def rules_zone_and_promotions(session: Session, chain_id: str) -> tuple[StoredRules | None, str, list[dict]]:
    """The chain's stored rules (None: the defaults), its time zone and its active promotions
    (as `active_promotions` gives them): what a consume earns by, in one statement."""
    *rules, zone, promotions = direct.run(session, _rules_zone_and_promotions(), {"the_chain": chain_id}).one()
    stored = StoredRules(*rules) if rules[_RULES_KEY] is not None else None  # no row: an outer join's nulls
    return stored, zone or clock.DEFAULT_TIME_ZONE, promotions


_RULES_KEY = list(_RULES.columns.keys()).index("chain_id")


@cache
def _rules_zone_and_promotions() -> Select:
    """Built once: every consume earns by it (see services.kit.built)."""
    chain = select(bindparam("the_chain", type_=String).label("chain_id")).subquery()
    clocks = ChainClock.__table__
    return (
        select(*_RULES.columns, clocks.c.time_zone, active_promotions(bindparam("the_chain", type_=String)))
        .select_from(chain)
        .outerjoin(_RULES, _RULES.c.chain_id == chain.c.chain_id)
        .outerjoin(clocks, clocks.c.chain_id == chain.c.chain_id)
    )


def time_zone(session: Session, chain_id: str) -> str:
    return (
        session.scalar(select(ChainClock.time_zone).where(ChainClock.chain_id == chain_id)) or clock.DEFAULT_TIME_ZONE
    )


def _decimal(text: str) -> str:
    """A rate as it was given, normalised ("1.50" and "1.5" are one rate)."""
    value = Decimal(text).normalize()
    return format(value, "f")


def rules_view(chain_id: str, row: Rules | None) -> dict:
    if row is None:
        return {"chain_id": chain_id, **DEFAULTS, "updated_at": None}
    return {
        "chain_id": chain_id,
        "base_rate": _decimal(str(row.base_rate)),
        "category_rates": row.category_rates,
        "tier_multipliers": row.tier_multipliers,
        "spend_levels": row.spend_levels,
        "bonus_earns": row.bonus_earns,
        "expiry_months": row.expiry_months,
        "reset_month": row.reset_month,
        "reset_day": row.reset_day,
        "remind_days": row.remind_days,
        "referral_points": row.referral_points,
        "updated_at": row.updated_at.isoformat(),
    }


def get_rules(session: Session, chain_id: str) -> dict:
    return rules_view(chain_id, session.get(Rules, chain_id))


def set_rules(session: Session, chain_id: str, data: dict) -> dict:
    """Replace the chain's rules as a whole: what HQ sends is what applies from now on."""
    row = session.get(Rules, chain_id, with_for_update=True) or Rules(chain_id=chain_id)
    row.base_rate = Decimal(data["base_rate"])
    row.category_rates = [{"category": c["category"], "rate": _decimal(c["rate"])} for c in data["category_rates"]]
    row.tier_multipliers = [
        {"tier_code": t["tier_code"], "multiplier": _decimal(t["multiplier"])} for t in data["tier_multipliers"]
    ]
    row.spend_levels = sorted(
        ({"from_spend": s["from_spend"], "multiplier": _decimal(s["multiplier"])} for s in data["spend_levels"]),
        key=lambda s: s["from_spend"],
    )
    for name in ("bonus_earns", "expiry_months", "reset_month", "reset_day", "remind_days", "referral_points"):
        setattr(row, name, data[name])
    row.updated_at = func.now()
    session.add(row)
    session.flush()
    session.refresh(row)
    return rules_view(chain_id, row)


def promotion_view(p: Promotion) -> dict:
    return {
        "id": p.id,
        "chain_id": p.chain_id,
        "name": p.name,
        "starts_on": p.starts_on.isoformat(),
        "ends_on": p.ends_on.isoformat(),
        "store_ids": p.store_ids,
        "categories": p.categories,
        "item_codes": p.item_codes,
        "weekdays": p.weekdays,
        "multiplier": _decimal(str(p.multiplier)) if p.multiplier is not None else None,
        "extra_points": p.extra_points,
        "active": p.active,
        "created_at": p.created_at.isoformat(),
    }


def create_promotion(session: Session, chain_id: str, data: dict) -> dict:
    promotion = Promotion(
        id=str(uuid.uuid4()),
        chain_id=chain_id,
        name=data["name"],
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        store_ids=sorted(set(data["store_ids"])),
        categories=sorted(set(data["categories"])),
        item_codes=sorted(set(data["item_codes"])),
        weekdays=sorted(set(data["weekdays"])),
        multiplier=Decimal(data["multiplier"]) if data["multiplier"] is not None else None,
        extra_points=data["extra_points"],
        active=True,
    )
    session.add(promotion)
    session.flush()
    session.refresh(promotion)
    return promotion_view(promotion)


def list_promotions(session: Session, chain_id: str, include_inactive: bool) -> dict:
    stmt = select(Promotion).where(Promotion.chain_id == chain_id)
    if not include_inactive:
        stmt = stmt.where(Promotion.active.is_(True))
    return {"items": [promotion_view(p) for p in session.scalars(stmt.order_by(Promotion.starts_on, Promotion.id))]}


def update_promotion(session: Session, chain_id: str, promotion_id: str, data: dict) -> dict:
    promotion = session.get(Promotion, promotion_id, with_for_update=True)
    if promotion is None or promotion.chain_id != chain_id:
        raise NotFound("No such promotion in this chain.")
    promotion.active = data["active"]
    session.flush()
    return promotion_view(promotion)
