"""Dictionaries HQ keeps for the chain (S-2): consumption categories, items and
services with their list price, payment methods. Everyone in the chain reads
them; only HQ writes."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.auth import Actor
from contracts.errors import AlreadyExists, Forbidden, NotFound, ValidationFailed
from services.kit.outbox import OutboxWriter
from services.org import views
from services.org.chains import get_visible as get_chain
from services.org.models import Category, Item, PaymentMethod
from services.org.policy import can_manage_chain_config

MODELS: dict[str, tuple[type, Callable]] = {
    "categories": (Category, views.category),
    "items": (Item, views.item),
    "payment_methods": (PaymentMethod, views.payment_method),
}


def _kind(dictionary: str) -> tuple[type, Callable]:
    try:
        return MODELS[dictionary]
    except KeyError:
        raise NotFound(f"No dictionary {dictionary!r}.") from None


def listing(session: Session, actor: Actor, chain_id: str, dictionary: str, include_inactive: bool) -> dict:
    model, view = _kind(dictionary)
    get_chain(session, actor, chain_id)
    stmt = select(model).where(model.chain_id == chain_id).order_by(model.code)
    if not include_inactive:
        stmt = stmt.where(model.active.is_(True))
    return {"items": [view(row) for row in session.scalars(stmt)], "next_cursor": None}


def _check_category(session: Session, chain_id: str, data: dict) -> None:
    if "category_code" not in data:
        return
    exists = session.scalar(
        select(Category.id).where(
            Category.chain_id == chain_id, Category.code == data["category_code"], Category.active.is_(True)
        )
    )
    if not exists:
        raise ValidationFailed(fields={"category_code": ["No active category with this code in the chain."]})


def _require_hq(session: Session, actor: Actor, chain_id: str) -> None:
    get_chain(session, actor, chain_id)
    if not can_manage_chain_config(actor, chain_id):
        raise Forbidden("Only HQ may change the chain's dictionaries.")


def create(session: Session, events: OutboxWriter, actor: Actor, chain_id: str, dictionary: str, data: dict) -> dict:
    model, view = _kind(dictionary)
    _require_hq(session, actor, chain_id)
    if session.scalar(select(model.id).where(model.chain_id == chain_id, model.code == data["code"])):
        raise AlreadyExists(fields={"code": ["This code is already in the dictionary."]})
    if model is Item:
        _check_category(session, chain_id, data)
    row = model(chain_id=chain_id, active=True, **data)
    session.add(row)
    session.flush()
    entry = view(row)
    events.add(
        session, "dictionary_changed", {"dictionary": dictionary, "code": row.code, "entry": entry}, chain_id=chain_id
    )
    return entry


def update(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, dictionary: str, entry_id: str, data: dict
) -> dict:
    model, view = _kind(dictionary)
    _require_hq(session, actor, chain_id)
    row = session.get(model, entry_id, with_for_update=True)
    if row is None or row.chain_id != chain_id:
        raise NotFound("No such entry in this chain's dictionary.")
    if model is Item:
        _check_category(session, chain_id, data)
    for key, value in data.items():
        setattr(row, key, value)
    session.flush()
    entry = view(row)
    events.add(
        session, "dictionary_changed", {"dictionary": dictionary, "code": row.code, "entry": entry}, chain_id=chain_id
    )
    return entry
