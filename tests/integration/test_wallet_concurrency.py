"""W-4: a balance never goes below zero, even under concurrent requests on the same card."""

import uuid

import eventlet
import pytest

from contracts.errors import InsufficientFunds
from deploy import audit
from tests.helpers import admin_engine, ok
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration


def test_fifty_concurrent_consumes_on_a_card_that_affords_twenty(admin, rpc_pool, settings):
    w = wallet_world(admin)
    w.tier(code="WPLAIN", name="Plain", rank=12, recharge_bonus_rules=[])
    card = w.card(tier_code="WPLAIN")
    no = card["card_no"]
    ok(w.recharge(no, 20 * 10800), 201)
    actor = w.cashier_a.principal
    body = {"card_no": no, "store_id": w.store_a, "lines": [WASH]}

    def attempt(_):
        try:
            return rpc_pool.call("wallet", "consume", actor, w.world.id, body, uuid.uuid4().hex)
        except InsufficientFunds as exc:
            return exc

    pool = eventlet.GreenPool(50)
    outcomes = list(pool.imap(attempt, range(50)))
    paid = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    assert len(paid) == 20 and len(refused) == 30
    assert all(o.fields == {"amount_due": ["Short by 10800 fen."]} for o in refused)
    # each success saw the balance of the one before it: 20 distinct running balances down to zero
    assert sorted(o["balances"]["cash"] for o in paid) == [10800 * k for k in range(20)]
    # and the cumulative spend of the one before it (M-7): no sale's spend lost to another's
    assert sorted(o["cumulative_spend"] for o in paid) == [10800 * k for k in range(1, 21)]
    assert w.balances(no) == {"cash": 0, "bonus": 0, "credit_limit": 0, "credit_used": 0, "credit_available": 0}
    statement = ok(w.cashier_a.get(w.path(f"/cards/{no}/statement"), {"limit": 100}))["items"]
    assert [e["cash_after"] for e in statement] == [216000] + [10800 * k for k in range(19, -1, -1)]
    engine = admin_engine(settings)
    try:
        assert audit.ledger_findings(engine, w.world.id) == []
    finally:
        engine.dispose()
