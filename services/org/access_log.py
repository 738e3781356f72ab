"""Reading the access log (O-8): HQ sees the chain, others their own stores."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from contracts.auth import FRANCHISEE, HQ_ADMIN, PLATFORM_ADMIN, STORE_MANAGER, Actor
from services.kit.paging import keyset_page
from services.org import stores, views
from services.org.chains import get_visible as get_chain
from services.org.models import AccessLog


def listing(session: Session, actor: Actor, chain_id: str, query: dict) -> dict:
    get_chain(session, actor, chain_id)
    actor.require_role(PLATFORM_ADMIN, HQ_ADMIN, FRANCHISEE, STORE_MANAGER)
    stmt = select(AccessLog).where(AccessLog.chain_id == chain_id)
    if not actor.sees_whole_chain:
        in_scope = stores.ids_in_scope(actor, chain_id)
        stmt = stmt.where(or_(AccessLog.store_id.in_(in_scope), AccessLog.staff_id == actor.staff_id))
    if query.get("staff_id"):
        stmt = stmt.where(AccessLog.staff_id == query["staff_id"])
    if query.get("event"):
        stmt = stmt.where(AccessLog.event == query["event"])
    if query.get("since"):
        stmt = stmt.where(AccessLog.at >= query["since"])
    if query.get("until"):
        stmt = stmt.where(AccessLog.at < query["until"])
    rows, cursor = keyset_page(
        session, stmt, [AccessLog.id], limit=query["limit"], after=query["after"], descending=True
    )
    return {"items": [views.access_entry(r) for r in rows], "next_cursor": cursor}
