"""Who may do what (O-1..O-5, O-7), as plain rules."""

from contracts.auth import Actor
from services.org import policy
from services.org.policy import StaffFacts, StoreFacts

CHAIN, OTHER = "c1", "c2"
HQ = Actor("hq", CHAIN, "hq_admin")
FRANCHISEE = Actor("fr", CHAIN, "franchisee", ("s-fr",))
MANAGER_A = Actor("ma", CHAIN, "store_manager", ("s-a",))
CASHIER_A = Actor("ca", CHAIN, "cashier", ("s-a",))
PLATFORM = Actor("pa", None, "platform_admin")

STORE_A = StoreFacts("s-a", CHAIN, "direct", "active", None)
STORE_B = StoreFacts("s-b", CHAIN, "direct", "active", None)
STORE_FR = StoreFacts("s-fr", CHAIN, "franchise", "active", "fr")
FOREIGN = StoreFacts("s-x", OTHER, "direct", "active", None)


def test_store_visibility():
    assert policy.can_see_store(HQ, STORE_B)
    assert policy.can_see_store(PLATFORM, FOREIGN)
    assert not policy.can_see_store(HQ, FOREIGN)
    assert policy.can_see_store(MANAGER_A, STORE_A) and not policy.can_see_store(MANAGER_A, STORE_B)
    assert policy.can_see_store(FRANCHISEE, STORE_FR) and not policy.can_see_store(FRANCHISEE, STORE_A)


def test_who_opens_which_stores_and_whether_they_wait():
    assert policy.can_create_store(HQ, CHAIN, "direct")
    assert policy.can_create_store(FRANCHISEE, CHAIN, "franchise")
    assert not policy.can_create_store(FRANCHISEE, CHAIN, "direct")
    assert not policy.can_create_store(MANAGER_A, CHAIN, "franchise")
    assert not policy.can_create_store(HQ, OTHER, "direct")
    assert policy.new_store_status(FRANCHISEE, requires_approval=True) == "pending_approval"
    assert policy.new_store_status(FRANCHISEE, requires_approval=False) == "active"
    assert policy.new_store_status(HQ, requires_approval=True) == "active"


def test_role_assignment():
    assert policy.can_assign_role(HQ, "store_manager", STORE_A)
    assert policy.can_assign_role(HQ, "franchisee", None)
    assert not policy.can_assign_role(HQ, "platform_admin", None)
    assert not policy.can_assign_role(HQ, "cashier", None)  # a cashier needs a store
    assert policy.can_assign_role(FRANCHISEE, "cashier", STORE_FR)
    assert not policy.can_assign_role(FRANCHISEE, "cashier", STORE_A)
    assert policy.can_assign_role(MANAGER_A, "cashier", STORE_A)
    assert not policy.can_assign_role(MANAGER_A, "store_manager", STORE_A)
    assert not policy.can_assign_role(MANAGER_A, "cashier", STORE_B)
    assert not policy.can_assign_role(CASHIER_A, "cashier", STORE_A)
    closed = StoreFacts("s-a", CHAIN, "direct", "closed", None)
    assert not policy.can_assign_role(HQ, "cashier", closed)


def test_managing_staff():
    cashier_a = StaffFacts("ca", CHAIN, "cashier", "s-a")
    cashier_b = StaffFacts("cb", CHAIN, "cashier", "s-b")
    manager_a = StaffFacts("ma", CHAIN, "store_manager", "s-a")
    assert policy.can_manage_staff(MANAGER_A, cashier_a, STORE_A)
    assert not policy.can_manage_staff(MANAGER_A, cashier_b, STORE_B)
    assert not policy.can_manage_staff(MANAGER_A, manager_a, STORE_A)  # not themselves, not a peer
    assert policy.can_manage_staff(HQ, manager_a, STORE_A)
    assert not policy.can_manage_staff(HQ, StaffFacts("hq", CHAIN, "hq_admin", None), None)
    assert not policy.can_manage_staff(HQ, StaffFacts("x", OTHER, "cashier", "s-x"), FOREIGN)
    assert not policy.can_manage_staff(PLATFORM, StaffFacts("pa2", None, "platform_admin", None), None)


def test_actor_guards_hide_other_chains():
    import pytest

    from contracts.errors import Forbidden, NotFound

    with pytest.raises(NotFound):
        HQ.require_chain(OTHER)
    with pytest.raises(NotFound):
        CASHIER_A.require_store(CHAIN, "s-b")
    with pytest.raises(Forbidden):
        CASHIER_A.require_role("hq_admin")
    PLATFORM.require_store(OTHER, "s-x")
