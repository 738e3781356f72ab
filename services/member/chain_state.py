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

from contracts.events import Event
from services.kit import clock
from services.kit.copies import keep_newest
from services.kit.db import new_id
from services.kit.outbox import OutboxWriter
from services.member import card_numbers, rules, views
from services.member.models import ChainState, Tier


def follow_time_zone(session: Session, events: OutboxWriter, event: Event, time_zone: str | None) -> None:
    """org said the chain's time zone is `time_zone` at the event's time: keep it unless a newer
    word has already arrived (a late `chain_changed` must not roll the zone back)."""
    ensure(session, events, event.data["chain_id"])
    if time_zone:
        keep_newest(
            session, ChainState.__table__, "chain_id", event, chain_id=event.data["chain_id"], time_zone=time_zone
        )


def ensure(session: Session, events: OutboxWriter, chain_id: str) -> None:
    """Make the chain's state row and default tiers, if missing; publish the tiers made.
    Called by mutations (and org's chain events), never by reads."""
    session.execute(
        insert(ChainState)
        .values(chain_id=chain_id, time_zone=clock.DEFAULT_TIME_ZONE, last_card_seq=0, last_member_seq=0)
        .on_conflict_do_nothing(index_elements=[ChainState.chain_id])
    )
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
