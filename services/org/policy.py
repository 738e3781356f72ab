"""Who may manage whom and which stores (O-1..O-5, O-7). Plain rules, no I/O.

Every function answers for an `Actor` (the signed-in staff member) and plain
facts about the target; the service loads the facts and applies these rules,
the gateway applies the coarse ones again before calling.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.auth import (
    CASHIER,
    FRANCHISEE,
    HQ,
    HQ_ADMIN,
    PLATFORM_ADMIN,
    STORE_MANAGER,
    STORE_ROLES,
    Actor,
)


@dataclass(frozen=True)
class StoreFacts:
    id: str
    chain_id: str
    kind: str
    status: str
    franchisee_id: str | None


@dataclass(frozen=True)
class StaffFacts:
    id: str
    chain_id: str | None
    role: str
    store_id: str | None


def owns_store(actor: Actor, store: StoreFacts) -> bool:
    return actor.role == FRANCHISEE and store.franchisee_id == actor.staff_id


def can_see_store(actor: Actor, store: StoreFacts) -> bool:
    if not actor.can_enter_chain(store.chain_id):
        return False
    if actor.sees_whole_chain:
        return True
    return owns_store(actor, store) or store.id in actor.store_ids


def can_create_store(actor: Actor, chain_id: str, kind: str) -> bool:
    if not actor.can_enter_chain(chain_id):
        return False
    if actor.sees_whole_chain:
        return True
    # a franchisee opens franchise stores of their own (O-3)
    return actor.role == FRANCHISEE and kind == "franchise"


def new_store_status(actor: Actor, requires_approval: bool) -> str:
    if actor.role == FRANCHISEE and requires_approval:
        return "pending_approval"
    return "active"


def can_edit_store(actor: Actor, store: StoreFacts) -> bool:
    if not actor.can_enter_chain(store.chain_id):
        return False
    return actor.sees_whole_chain or owns_store(actor, store)


def can_assign_role(actor: Actor, role: str, store: StoreFacts | None) -> bool:
    """May `actor` create (or move) a staff member into `role` at `store`?"""
    if role in STORE_ROLES and store is None:
        return False
    if role not in STORE_ROLES and store is not None:
        return False
    if store is not None and (not actor.can_enter_chain(store.chain_id) or store.status in ("rejected", "closed")):
        return False
    if actor.role in HQ:
        return role != PLATFORM_ADMIN
    if actor.role == FRANCHISEE:
        return role in STORE_ROLES and owns_store(actor, store)
    if actor.role == STORE_MANAGER:
        return role == CASHIER and store is not None and store.id in actor.store_ids
    return False


def can_manage_staff(actor: Actor, target: StaffFacts, target_store: StoreFacts | None) -> bool:
    """May `actor` edit, disable, unlock or reset the password of `target`?"""
    if target.id == actor.staff_id or target.role == PLATFORM_ADMIN:
        return False
    if actor.role == PLATFORM_ADMIN:
        return True
    if target.chain_id != actor.chain_id:
        return False
    if actor.role == HQ_ADMIN:
        return True
    if target.role not in STORE_ROLES or target_store is None:
        return False
    if actor.role == FRANCHISEE:
        return owns_store(actor, target_store)
    if actor.role == STORE_MANAGER:
        return target.role == CASHIER and target.store_id in actor.store_ids
    return False


def can_see_staff(actor: Actor, target: StaffFacts, target_store: StoreFacts | None) -> bool:
    if target.id == actor.staff_id or actor.role == PLATFORM_ADMIN:
        return True
    if target.chain_id != actor.chain_id:
        return False
    if actor.role == HQ_ADMIN:
        return True
    return target_store is not None and can_see_store(actor, target_store)


def can_manage_chain_config(actor: Actor, chain_id: str) -> bool:
    """Settings, dictionaries, approvals: HQ's work (O-2)."""
    return actor.can_enter_chain(chain_id) and actor.sees_whole_chain
