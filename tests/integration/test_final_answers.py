"""A definite answer is final (non-negotiable 11, W-9): whatever a key was first answered with,
a success or a refusal the caller saw, is what every retry of that key gets, even after the
state that caused a refusal has changed. Only outcomes the caller never definitely got leave
the key open."""

import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from contracts.errors import DeadlineExceeded
from services.kit.db import make_engine
from services.kit.deadlines import DEADLINE_KEY, deadline_after, guard_commits
from services.kit.rpc import Rpc
from tests.helpers import admin_engine, error, ok
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def w(admin):
    return wallet_world(admin)


def test_a_refusal_for_want_of_funds_is_the_keys_answer_after_a_recharge(w):
    """Silver takes 10 % off a 120.00 wash: 108.00 due. With 50.00 on the card the consume under K
    is refused; after a recharge of 100.00 (150.00 on the card) K is still refused, and nothing
    is charged; a new key K2 is the new sale and takes 108.00, leaving 42.00."""
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 5000), 201)
    key = uuid.uuid4().hex
    first = error(w.consume(no, [WASH], key=key), 409)
    assert first["code"] == "insufficient_funds"
    ok(w.recharge(no, 10000), 201)
    assert w.balances(no)["cash"] == 15000
    again = error(w.consume(no, [WASH], key=key), 409)
    assert again == first
    assert w.balances(no)["cash"] == 15000
    ok(w.consume(no, [WASH], key=uuid.uuid4().hex), 201)
    assert w.balances(no)["cash"] == 15000 - 10800
    # the same key with another body is still a conflict, not the stored refusal
    assert error(w.consume(no, [WASH, WASH], key=key), 409)["code"] == "idempotency_mismatch"


def test_a_refusal_before_the_transaction_is_final_too(w):
    """A frozen card refuses the consume before any money moves (the check runs before the
    wallet's transaction); unfrozen, the same key still answers card_not_active."""
    card = w.card()
    no = card["card_no"]
    ok(w.recharge(no, 20000), 201)
    ok(w.cashier_a.post(w.world.path(f"/cards/{card['id']}/freeze"), {"reason": "reported lost"}), 200)
    key = uuid.uuid4().hex
    first = error(w.consume(no, [WASH], key=key), 409)
    assert first["code"] == "card_not_active"
    ok(w.manager_a.post(w.world.path(f"/cards/{card['id']}/unfreeze"), {}), 200)
    assert error(w.consume(no, [WASH], key=key), 409) == first
    assert w.balances(no)["cash"] == 20000


def test_a_refused_card_action_is_final(w):
    """A cashier may not unfreeze (managers only): 403 under K. The same cashier retrying K after
    the card was unfrozen by a manager still gets the 403; the card stays as the manager left it."""
    card = w.card()
    ok(w.cashier_a.post(w.world.path(f"/cards/{card['id']}/freeze"), {}), 200)
    key = uuid.uuid4().hex
    first = error(w.cashier_a.post(w.world.path(f"/cards/{card['id']}/unfreeze"), {}, key=key), 403)
    ok(w.manager_a.post(w.world.path(f"/cards/{card['id']}/unfreeze"), {}), 200)
    assert error(w.cashier_a.post(w.world.path(f"/cards/{card['id']}/unfreeze"), {}, key=key), 403) == first


CLAIM = text("INSERT INTO org.idempotency_keys (scope, key, operation, request_hash) VALUES ('t', :k, 'x', 'h')")
CLAIMED = text("SELECT key FROM org.idempotency_keys WHERE key LIKE :m")


def _rpc_worker(deadline_in: float) -> SimpleNamespace:
    entrypoint = Rpc.__new__(Rpc)  # only its type matters to the guard
    return SimpleNamespace(entrypoint=entrypoint, data={DEADLINE_KEY: deadline_after(deadline_in)})


def test_a_transaction_still_open_at_its_deadline_rolls_back(provisioned):
    """A mutation whose caller has given up (its deadline passed while it ran) commits nothing."""
    engine = make_engine(provisioned.database_url("org"), pool_size=1, application_name="deadline-test")
    marker = f"deadline-{uuid.uuid4().hex[:8]}"
    try:
        late = sessionmaker(engine)()
        guard_commits(late, _rpc_worker(-0.001))
        with pytest.raises(DeadlineExceeded):
            with late.begin():
                late.execute(
                    CLAIM,
                    {"k": marker},
                )
        late.close()
        in_time = sessionmaker(engine)()
        guard_commits(in_time, _rpc_worker(30))
        with in_time.begin():
            in_time.execute(
                CLAIM,
                {"k": marker + "-ok"},
            )
        in_time.close()
        with admin_engine(provisioned).connect() as conn:
            keys = set(conn.scalars(CLAIMED, {"m": marker + "%"}))
        assert keys == {marker + "-ok"}
    finally:
        engine.dispose()
