"""Tiers per chain (M-6): HQ edits them, everyone in the chain reads them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.auth import Actor
from contracts.errors import AlreadyExists, Forbidden, NotFound, ValidationFailed
from services.kit.outbox import OutboxWriter
from services.member import chain_state, rules, views
from services.member.models import Tier


def _require_hq(actor: Actor, chain_id: str) -> None:
    actor.require_chain(chain_id)
    if not actor.sees_whole_chain:
        raise Forbidden("Only HQ may change the chain's tiers.")


def listing(session: Session, actor: Actor, chain_id: str, include_inactive: bool) -> dict:
    """The chain's tiers (its default ones appear when member has heard of the chain from org)."""
    actor.require_chain(chain_id)
    stmt = select(Tier).where(Tier.chain_id == chain_id).order_by(Tier.rank)
    if not include_inactive:
        stmt = stmt.where(Tier.active.is_(True))
    return {"items": [views.tier(t) for t in session.scalars(stmt)], "next_cursor": None}


def load(session: Session, chain_id: str, tier_id: str, *, lock: bool = False) -> Tier:
    tier = session.get(Tier, tier_id, with_for_update=lock)
    if tier is None or tier.chain_id != chain_id:
        raise NotFound("No such tier in this chain.")
    return tier


def by_code(session: Session, chain_id: str, code: str, field: str = "tier_code") -> Tier:
    tier = session.scalar(select(Tier).where(Tier.chain_id == chain_id, Tier.code == code))
    if tier is None:
        raise ValidationFailed(fields={field: [f"No tier {code!r} in this chain."]})
    if not tier.active:
        raise ValidationFailed(fields={field: [f"The tier {code!r} is retired."]})
    return tier


def entry_tier(session: Session, chain_id: str) -> Tier:
    """The tier a card gets when none is named: the lowest active rank."""
    tier = session.scalar(
        select(Tier).where(Tier.chain_id == chain_id, Tier.active.is_(True)).order_by(Tier.rank).limit(1)
    )
    if tier is None:
        raise ValidationFailed(fields={"tier_code": ["The chain has no active tier; HQ must configure one."]})
    return tier


def get(session: Session, actor: Actor, chain_id: str, tier_id: str) -> dict:
    actor.require_chain(chain_id)
    return views.tier(load(session, chain_id, tier_id))


def _check_unique(session: Session, chain_id: str, tier_id: str | None, data: dict) -> None:
    for field in ("code", "rank"):
        if field not in data:
            continue
        same = getattr(Tier, field) == data[field]
        clash = session.scalar(select(Tier.id).where(Tier.chain_id == chain_id, same, Tier.id != (tier_id or "")))
        if clash:
            raise AlreadyExists(fields={field: [f"Another tier of the chain has this {field}."]})


def create(session: Session, events: OutboxWriter, actor: Actor, chain_id: str, data: dict) -> dict:
    _require_hq(actor, chain_id)
    chain_state.ensure(session, events, chain_id)
    data = dict(data, recharge_bonus_rules=rules.check_bonus_rules(data["recharge_bonus_rules"]))
    _check_unique(session, chain_id, None, data)
    tier = Tier(chain_id=chain_id, active=True, **data)
    session.add(tier)
    session.flush()
    return _changed(session, events, tier)


def update(session: Session, events: OutboxWriter, actor: Actor, chain_id: str, tier_id: str, data: dict) -> dict:
    _require_hq(actor, chain_id)
    chain_state.ensure(session, events, chain_id)
    tier = load(session, chain_id, tier_id, lock=True)
    if "recharge_bonus_rules" in data:
        data = dict(data, recharge_bonus_rules=rules.check_bonus_rules(data["recharge_bonus_rules"]))
    _check_unique(session, chain_id, tier.id, data)
    for key, value in data.items():
        setattr(tier, key, value)
    session.flush()
    session.refresh(tier)  # updated_at from the database
    return _changed(session, events, tier)


def _changed(session: Session, events: OutboxWriter, tier: Tier) -> dict:
    view = views.tier(tier)
    events.add(session, "tier_configuration_changed", {"tier": view}, chain_id=tier.chain_id)
    return view
