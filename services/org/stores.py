"""Stores: direct or franchised; franchisees open their own (O-3)."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from contracts.auth import FRANCHISEE, Actor
from contracts.errors import AlreadyExists, Forbidden, InvalidState, NotFound, ValidationFailed
from services.kit.outbox import OutboxWriter
from services.kit.paging import keyset_page
from services.org import policy, views
from services.org.chains import get_visible as get_chain
from services.org.models import Staff, Store


def facts(store: Store) -> policy.StoreFacts:
    return policy.StoreFacts(store.id, store.chain_id, store.kind, store.status, store.franchisee_id)


def load_visible(session: Session, actor: Actor, chain_id: str, store_id: str, *, lock: bool = False) -> Store:
    actor.require_chain(chain_id)
    store = session.get(Store, store_id, with_for_update=lock)
    if store is None or store.chain_id != chain_id or not policy.can_see_store(actor, facts(store)):
        raise NotFound("No such store in your scope.")
    return store


def ids_in_scope(actor: Actor, chain_id: str) -> Select:
    """The ids of the stores a store-bound staff member or franchisee works for (O-3, O-4, O-7)."""
    stores = select(Store.id).where(Store.chain_id == chain_id)
    if actor.role == FRANCHISEE:
        # owned stores, fresh from the table: one opened a moment ago is already theirs
        return stores.where(or_(Store.franchisee_id == actor.staff_id, Store.id.in_(actor.store_ids)))
    return stores.where(Store.id.in_(actor.store_ids))


def _check_franchisee(session: Session, chain_id: str, franchisee_id: str | None) -> None:
    if franchisee_id is None:
        return
    owner = session.get(Staff, franchisee_id)
    if owner is None or owner.chain_id != chain_id or owner.role != FRANCHISEE:
        raise ValidationFailed(fields={"franchisee_id": ["Not a franchisee of this chain."]})


def create(session: Session, events: OutboxWriter, actor: Actor, chain_id: str, data: dict) -> dict:
    chain = get_chain(session, actor, chain_id)
    if not policy.can_create_store(actor, chain_id, data["kind"]):
        raise Forbidden("Your role cannot open this kind of store.")
    franchisee_id = actor.staff_id if actor.role == FRANCHISEE else data.get("franchisee_id")
    _check_franchisee(session, chain_id, franchisee_id)
    if session.scalar(select(Store.id).where(Store.chain_id == chain_id, Store.code == data["code"])):
        raise AlreadyExists(fields={"code": ["A store with this code exists in the chain."]})
    store = Store(
        chain_id=chain_id,
        code=data["code"],
        name=data["name"],
        kind=data["kind"],
        status=policy.new_store_status(actor, chain.requires_store_approval),
        franchisee_id=franchisee_id,
        address=data["address"],
        phone=data["phone"],
        created_by=actor.staff_id,
    )
    session.add(store)
    session.flush()
    events.add(session, "store_changed", views.store_event(store), chain_id=chain_id)
    return views.store(store)


def listing(session: Session, actor: Actor, chain_id: str, query: dict) -> dict:
    get_chain(session, actor, chain_id)
    stmt = select(Store).where(Store.chain_id == chain_id)
    if not actor.sees_whole_chain:
        stmt = stmt.where(Store.id.in_(ids_in_scope(actor, chain_id)))
    for key in ("status", "kind"):
        if query.get(key):
            stmt = stmt.where(getattr(Store, key) == query[key])
    rows, cursor = keyset_page(session, stmt, [Store.code], limit=query["limit"], after=query["after"])
    return {"items": [views.store(r) for r in rows], "next_cursor": cursor}


def get(session: Session, actor: Actor, chain_id: str, store_id: str) -> dict:
    return views.store(load_visible(session, actor, chain_id, store_id))


def update(session: Session, events: OutboxWriter, actor: Actor, chain_id: str, store_id: str, data: dict) -> dict:
    store = load_visible(session, actor, chain_id, store_id, lock=True)
    if not policy.can_edit_store(actor, facts(store)):
        raise Forbidden("You cannot edit this store.")
    if ("status" in data or "franchisee_id" in data) and not actor.sees_whole_chain:
        raise Forbidden("Only HQ may change a store's status or owner.")
    if "status" in data and store.status in ("pending_approval", "rejected"):
        raise InvalidState("Decide on the store's approval first.", {"status": [f"The store is {store.status}."]})
    if "franchisee_id" in data:
        if store.kind != "franchise" and data["franchisee_id"] is not None:
            raise ValidationFailed(fields={"franchisee_id": ["Only a franchise store has a franchisee."]})
        _check_franchisee(session, chain_id, data["franchisee_id"])
    for key, value in data.items():
        setattr(store, key, value)
    session.flush()
    events.add(session, "store_changed", views.store_event(store), chain_id=chain_id)
    return views.store(store)


def decide(session: Session, events: OutboxWriter, actor: Actor, chain_id: str, store_id: str, data: dict) -> dict:
    store = load_visible(session, actor, chain_id, store_id, lock=True)
    if not policy.can_manage_chain_config(actor, chain_id):
        raise Forbidden("Only HQ approves stores.")
    if store.status != "pending_approval":
        raise InvalidState(f"The store is {store.status}, not waiting for approval.")
    store.status = "active" if data["approve"] else "rejected"
    session.flush()
    events.add(session, "store_changed", views.store_event(store), chain_id=chain_id)
    return views.store(store)
