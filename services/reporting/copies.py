"""Member and org events into copies (members, tiers, chains, stores, staff): the newest by
the event's time wins (`services.kit.copies.keep_newest`), whatever the arrival order."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from contracts.events import Event
from services.kit.copies import keep_newest
from services.reporting import loyalty, rollup
from services.reporting.models import ChainCopy, MemberCopy, MemberTier, StaffCopy, StoreCopy
from services.reporting.money import at

# ---- member -------------------------------------------------------------------------------


def _member(session: Session, event: Event, enrolled: bool) -> None:
    d = event.data
    keep_newest(
        session,
        MemberCopy.__table__,
        "member_id",
        event,
        member_id=d["member_id"],
        chain_id=event.chain_id,
        member_no=d["member_no"],
        name=d["name"][:100],
        home_store_id=d["home_store_id"],
    )
    if enrolled:  # whichever arrived first, the enrolment's time is the member's start
        session.execute(
            update(MemberCopy.__table__).where(MemberCopy.member_id == d["member_id"]).values(enrolled_at=at(event))
        )


def enrolled(session: Session, event: Event) -> None:
    _member(session, event, enrolled=True)


def member_updated(session: Session, event: Event) -> None:
    _member(session, event, enrolled=False)


def tier(session: Session, event: Event) -> None:
    d = event.data
    keep_newest(
        session,
        MemberTier.__table__,
        "member_id",
        event,
        member_id=d["member_id"],
        chain_id=event.chain_id,
        tier_code=d["tier_code"],
    )


def card_issued(session: Session, event: Event) -> None:
    """The tier the card gives, and the card's number by its id (R-6 names cards by number)."""
    tier(session, event)
    loyalty.card_issued(session, event)


# ---- org ----------------------------------------------------------------------------------


def _time_zone(session: Session, event: Event, zone: str | None) -> None:
    if not zone:
        return
    chain_id = event.data["chain_id"]
    before = rollup.lock_zone(session, chain_id, exclusive=True)
    keep_newest(session, ChainCopy.__table__, "chain_id", event, chain_id=chain_id, time_zone=zone)
    now = session.scalar(select(ChainCopy.time_zone).where(ChainCopy.chain_id == chain_id))
    if now != before:  # the days are the chain's own: count them again in its new zone
        rollup.regroup(session, chain_id, now)


def chain_created(session: Session, event: Event) -> None:
    _time_zone(session, event, event.data["time_zone"])


def chain_changed(session: Session, event: Event) -> None:
    _time_zone(session, event, event.data["settings"].get("time_zone"))


def store_changed(session: Session, event: Event) -> None:
    d = event.data
    keep_newest(
        session,
        StoreCopy.__table__,
        "store_id",
        event,
        store_id=d["store_id"],
        chain_id=d["chain_id"],
        code=d["code"],
        name=d["name"][:200],
        franchisee_id=d["franchisee_id"],
        status=d["status"],
    )


def staff_changed(session: Session, event: Event) -> None:
    d = event.data
    keep_newest(
        session,
        StaffCopy.__table__,
        "staff_id",
        event,
        staff_id=d["staff_id"],
        chain_id=d["chain_id"],
        store_id=d["store_id"],
        display_name=d["display_name"][:200],
        role=d["role"],
        level=d["level"][:40],
    )
