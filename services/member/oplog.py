"""The card operation log (M-8): every issue, tier change, freeze, unfreeze,
replace, return and renew, with operator, store, time, before and after."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.auth import Actor
from services.kit.paging import keyset_page
from services.member import views
from services.member.models import Card, CardOperation


def record(
    session: Session,
    card: Card,
    kind: str,
    actor: Actor | None,
    store_id: str | None,
    before: dict,
    after: dict,
    *,
    reason: str = "",
    fee: int = 0,
    payment_method: str | None = None,
    operator_id: str | None = None,
    operator_name: str = "",
) -> CardOperation:
    entry = CardOperation(
        chain_id=card.chain_id,
        card_id=card.id,
        member_id=card.member_id,
        card_no=card.card_no,
        kind=kind,
        # no actor: the system acted (an automatic upgrade, an expiry found on
        # use), or another service did on a staff member's behalf (operator_id,
        # with the name that service had of them)
        operator_id=actor.staff_id if actor else operator_id,
        operator_name=(actor.display_name or actor.username) if actor else _name(operator_id, operator_name),
        store_id=store_id,
        before=before,
        after=after,
        reason=reason,
        fee=fee,
        payment_method=payment_method if fee else None,
    )
    session.add(entry)
    return entry


def _name(operator_id: str | None, given: str) -> str:
    if operator_id is None:
        return "system"
    return given[:100] or "counter"


def _page(session: Session, stmt, query: dict) -> dict:
    if query.get("kind"):
        stmt = stmt.where(CardOperation.kind == query["kind"])
    # newest first
    rows, cursor = keyset_page(
        session, stmt, [CardOperation.id], limit=query["limit"], after=query["after"], descending=True
    )
    return {"items": [views.operation(r) for r in rows], "next_cursor": cursor}


def for_card(session: Session, card: Card, query: dict) -> dict:
    stmt = select(CardOperation).where(CardOperation.chain_id == card.chain_id, CardOperation.card_id == card.id)
    return _page(session, stmt, query)


def for_store(session: Session, chain_id: str, store_id: str, query: dict) -> dict:
    stmt = select(CardOperation).where(CardOperation.chain_id == chain_id, CardOperation.store_id == store_id)
    return _page(session, stmt, query)
