"""Staff: who works where, in which role, and who may manage whom (O-1..O-5, O-9)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from contracts.auth import FRANCHISEE, STORE_ROLES, Actor
from contracts.errors import AlreadyExists, Forbidden, InvalidState, NotFound, ValidationFailed
from services.kit.outbox import OutboxWriter
from services.kit.paging import keyset_page
from services.org import auth, policy, stores, views
from services.org.chains import get_visible as get_chain
from services.org.models import Staff, Store
from services.org.stores import facts as store_facts


def staff_facts(staff: Staff) -> policy.StaffFacts:
    return policy.StaffFacts(staff.id, staff.chain_id, staff.role, staff.store_id)


def _store_in_scope(session: Session, actor: Actor, chain_id: str, store_id: str | None) -> Store | None:
    if store_id is None:
        return None
    store = session.get(Store, store_id)
    if store is None or store.chain_id != chain_id or not policy.can_see_store(actor, store_facts(store)):
        raise NotFound("No such store in your scope.", {"store_id": ["Not a store of this chain you can see."]})
    return store


def load_visible(session: Session, actor: Actor, chain_id: str, staff_id: str, *, lock: bool = False) -> Staff:
    actor.require_chain(chain_id)
    staff = session.get(Staff, staff_id, with_for_update=lock)
    if staff is None or staff.chain_id != chain_id:
        raise NotFound("No such staff member in your scope.")
    store = session.get(Store, staff.store_id) if staff.store_id else None
    if not policy.can_see_staff(actor, staff_facts(staff), store_facts(store) if store else None):
        raise NotFound("No such staff member in your scope.")
    return staff


def _require_manageable(session: Session, actor: Actor, staff: Staff) -> None:
    store = session.get(Store, staff.store_id) if staff.store_id else None
    if not policy.can_manage_staff(actor, staff_facts(staff), store_facts(store) if store else None):
        raise Forbidden("You cannot manage this staff member.")


def _require_assignable(actor: Actor, role: str, store: Store | None) -> None:
    if role in STORE_ROLES and store is None:
        raise ValidationFailed(fields={"store_id": [f"A {role} works in one store; give its id."]})
    if role not in STORE_ROLES and store is not None:
        raise ValidationFailed(fields={"store_id": [f"A {role} is not bound to one store; leave it empty."]})
    if store is not None and store.status in ("rejected", "closed"):
        raise ValidationFailed(fields={"store_id": [f"The store is {store.status}."]})
    if not policy.can_assign_role(actor, role, store_facts(store) if store else None):
        raise Forbidden(f"Your role cannot appoint a {role} here.")


def create(session: Session, events: OutboxWriter, actor: Actor, chain_id: str, data: dict) -> dict:
    get_chain(session, actor, chain_id)
    store = _store_in_scope(session, actor, chain_id, data.get("store_id"))
    _require_assignable(actor, data["role"], store)
    # unique within the chain only: another chain's usernames are none of this chain's business
    if session.scalar(select(Staff.id).where(Staff.chain_id == chain_id, Staff.username == data["username"])):
        raise AlreadyExists(fields={"username": ["This username is taken in this chain."]})
    staff = Staff(
        chain_id=chain_id,
        store_id=store.id if store else None,
        username=data["username"],
        display_name=data["display_name"],
        role=data["role"],
        level=data["level"],
        status="active",
        password_hash="",
    )
    auth.set_password(session, events, staff, data["password"])
    session.add(staff)
    session.flush()
    events.add(session, "staff_changed", views.staff_event(staff), chain_id=chain_id)
    return views.staff(staff)


def listing(session: Session, actor: Actor, chain_id: str, query: dict) -> dict:
    get_chain(session, actor, chain_id)
    stmt = select(Staff).where(Staff.chain_id == chain_id)
    if query.get("store_id"):
        store = session.get(Store, query["store_id"])
        if store is None or store.chain_id != chain_id or not policy.can_see_store(actor, store_facts(store)):
            raise NotFound("No such store in your scope.", {"store_id": ["Not a store you can see."]})
        stmt = stmt.where(Staff.store_id == store.id)
    if not actor.sees_whole_chain:
        stmt = stmt.where(or_(Staff.store_id.in_(stores.ids_in_scope(actor, chain_id)), Staff.id == actor.staff_id))
    for key in ("role", "status"):
        if query.get(key):
            stmt = stmt.where(getattr(Staff, key) == query[key])
    rows, cursor = keyset_page(session, stmt, [Staff.username], limit=query["limit"], after=query["after"])
    return {"items": [views.staff(r) for r in rows], "next_cursor": cursor}


def status_in_chain(session: Session, chain_id: str, staff_id: str) -> str | None:
    return session.scalar(select(Staff.status).where(Staff.id == staff_id, Staff.chain_id == chain_id))


def names_in_chain(session: Session, chain_id: str, staff_ids: list[str]) -> dict[str, str]:
    """Display names of those of `staff_ids` who are staff of `chain_id` (ids of no one in it are left out)."""
    rows = session.execute(
        select(Staff.id, Staff.display_name).where(Staff.chain_id == chain_id, Staff.id.in_(staff_ids))
    ).all()
    return {staff_id: name for staff_id, name in rows}


def get(session: Session, actor: Actor, chain_id: str, staff_id: str) -> dict:
    return views.staff(load_visible(session, actor, chain_id, staff_id))


def update(session: Session, events: OutboxWriter, actor: Actor, chain_id: str, staff_id: str, data: dict) -> dict:
    staff = load_visible(session, actor, chain_id, staff_id, lock=True)
    _require_manageable(session, actor, staff)
    if "role" in data or "store_id" in data:
        role = data.get("role", staff.role)
        store_id = data["store_id"] if "store_id" in data else (staff.store_id if role in STORE_ROLES else None)
        store = _store_in_scope(session, actor, chain_id, store_id)
        _require_assignable(actor, role, store)
        if (
            staff.role == FRANCHISEE
            and role != FRANCHISEE
            and session.scalar(select(Store.id).where(Store.franchisee_id == staff.id).limit(1))
        ):
            raise InvalidState("This franchisee still owns stores; give them another owner first.")
        staff.role, staff.store_id = role, store.id if store else None
        # a new role or workplace must not ride on tokens issued for the old one
        auth.revoke_all(session, events, staff)
    for key in ("display_name", "level"):
        if key in data:
            setattr(staff, key, data[key])
    session.flush()
    events.add(session, "staff_changed", views.staff_event(staff), chain_id=chain_id)
    return views.staff(staff)


def set_status(session: Session, events: OutboxWriter, actor: Actor, chain_id: str, staff_id: str, status: str) -> dict:
    staff = load_visible(session, actor, chain_id, staff_id, lock=True)
    _require_manageable(session, actor, staff)
    if staff.status == status:
        return views.staff(staff)
    staff.status = status
    if status == "disabled":
        auth.revoke_all(session, events, staff)  # effective at once (O-8)
    session.flush()
    events.add(session, "staff_changed", views.staff_event(staff), chain_id=chain_id)
    return views.staff(staff)


def unlock(session: Session, actor: Actor, chain_id: str, staff_id: str) -> dict:
    staff = load_visible(session, actor, chain_id, staff_id, lock=True)
    _require_manageable(session, actor, staff)
    staff.failed_attempts, staff.locked_until = 0, None
    session.flush()
    return views.staff(staff)


def reset_password(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, staff_id: str, new_password: str
) -> dict:
    staff = load_visible(session, actor, chain_id, staff_id, lock=True)
    _require_manageable(session, actor, staff)
    auth.set_password(session, events, staff, new_password)
    staff.failed_attempts, staff.locked_until = 0, None
    session.flush()
    return views.staff(staff)
