"""Per-chain state: default tiers, the chain's time zone, and the number counters.

Default tiers appear when `org.chain_created` arrives, or on first use if that
event has not been handled yet; both paths insert with ON CONFLICT DO NOTHING,
so they may race and still make each tier once.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.kit import clock
from services.kit.db import new_id
from services.kit.outbox import OutboxWriter
from services.member import card_numbers, rules, views
from services.member.models import ChainState, Tier


def ensure(session: Session, events: OutboxWriter, chain_id: str, time_zone: str | None = None) -> None:
    """Make the chain's state row and default tiers, if missing; publish the tiers made."""
    session.execute(
        insert(ChainState)
        .values(chain_id=chain_id, time_zone=time_zone or clock.DEFAULT_TIME_ZONE, last_card_seq=0, last_member_seq=0)
        .on_conflict_do_nothing(index_elements=[ChainState.chain_id])
    )
    if time_zone:
        session.execute(update(ChainState).where(ChainState.chain_id == chain_id).values(time_zone=time_zone))
    made = session.scalars(
        insert(Tier)
        .values([{"id": new_id(), "chain_id": chain_id, "active": True, **tier} for tier in rules.DEFAULT_TIERS])
        .on_conflict_do_nothing(index_elements=[Tier.chain_id, Tier.code])
        .returning(Tier.id)
    ).all()
    if made:
        session.flush()
        for tier in session.scalars(select(Tier).where(Tier.id.in_(made)).order_by(Tier.rank)):
            events.add(session, "tier_configuration_changed", {"tier": views.tier(tier)}, chain_id=chain_id)


def today(session: Session, chain_id: str) -> date:
    """Today in the chain's time zone: card validity is counted in local days."""
    return clock.today(session.scalar(select(ChainState.time_zone).where(ChainState.chain_id == chain_id)))


def _next(session: Session, chain_id: str, column) -> int:
    # the row lock serialises numbering per chain; the counter only grows, so numbers are never reused
    return session.execute(
        update(ChainState).where(ChainState.chain_id == chain_id).values({column: column + 1}).returning(column)
    ).scalar_one()


def next_card_no(session: Session, chain_id: str) -> str:
    return card_numbers.format_card_no(_next(session, chain_id, ChainState.last_card_seq))


def next_member_no(session: Session, chain_id: str) -> str:
    return card_numbers.format_member_no(_next(session, chain_id, ChainState.last_member_seq))
