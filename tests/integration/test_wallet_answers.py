"""Answers and events of money operations go out through their contracts, and an event
carries its transaction's own time (so a report built from events agrees with the wallet
at midnight)."""

from datetime import datetime

import pytest

from contracts import wallet as c
from tests.helpers import ok, raw_rows
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def w(admin):
    return wallet_world(admin)


def test_a_consume_answers_exactly_its_contract_and_its_event_has_the_transactions_time(w, settings):
    card = w.card()
    ok(w.recharge(card["card_no"], 20000), 201)
    sale = ok(w.consume(card["card_no"], [WASH]), 201)
    assert set(sale) == set(c.Consume().fields)
    assert set(sale["card"]) == set(c.CardRef().fields)
    [tx] = raw_rows(settings, "SELECT created_at FROM wallet.transactions WHERE id = :id", id=sale["transaction_id"])
    [event] = raw_rows(
        settings,
        "SELECT payload FROM wallet.outbox WHERE event_type = 'consumed' AND payload->'data'->>'transaction_id' = :id",
        id=sale["transaction_id"],
    )
    assert datetime.fromisoformat(event["payload"]["occurred_at"]) == tx["created_at"]
    assert datetime.fromisoformat(sale["created_at"]) == tx["created_at"]
    # the event's figures are the receipt's
    figures = set(c._ConsumeFigures().fields)
    assert {k: event["payload"]["data"][k] for k in figures} == {k: sale[k] for k in figures}
