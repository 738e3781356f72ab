"""Reads of the redemption record (G-2): search by member, store, gift, status and the
chain's local days; one redemption; what its receipt shows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.auth import Actor
from services.gift import rules, saga
from services.gift.models import ChainCopy, Redemption, StoreCopy
from services.kit.paging import keyset_page


def chain_zone(session: Session, chain_id: str) -> str:
    copy = session.get(ChainCopy, chain_id)
    return (copy.time_zone if copy else None) or rules.DEFAULT_ZONE


def _start_of(day: date, zone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))


def search(session: Session, actor: Actor, chain_id: str, query: dict) -> dict:
    """Newest first. Staff of a store see their store's redemptions only (O-7)."""
    stmt = select(Redemption).where(Redemption.chain_id == chain_id)
    if not actor.sees_whole_chain:
        stmt = stmt.where(Redemption.store_id.in_(actor.store_ids))
    for name in ("member_id", "store_id", "gift_id", "status"):
        if query.get(name):
            stmt = stmt.where(getattr(Redemption, name) == query[name])
    zone = chain_zone(session, chain_id)
    if query.get("since"):
        stmt = stmt.where(Redemption.created_at >= _start_of(query["since"], zone))
    if query.get("until"):
        stmt = stmt.where(Redemption.created_at < _start_of(query["until"] + timedelta(days=1), zone))
    rows, cursor = keyset_page(
        session,
        stmt,
        [Redemption.created_at, Redemption.id],
        limit=query["limit"],
        after=query["after"],
        descending=True,
    )
    return {"items": [saga.view(r) for r in rows], "next_cursor": cursor}


def receipt_facts(session: Session, chain_id: str, r: Redemption) -> dict:
    """What a receipt prints besides the redemption: the chain's name, zone and footer, the store."""
    chain = session.get(ChainCopy, chain_id)
    store = session.get(StoreCopy, r.store_id)
    return {
        "chain_name": (chain.name if chain else None) or "",
        "time_zone": (chain.time_zone if chain else None) or rules.DEFAULT_ZONE,
        "footer": (chain.receipt_footer if chain else None) or "",
        "store_name": store.name if store else r.store_id,
    }
