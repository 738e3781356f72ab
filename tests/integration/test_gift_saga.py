"""The saga's steps on the real database, racing as the caller's request and the recovery job
do (G-2): each step acts only from the status it expects, so whoever comes second changes
nothing, and stock given back is added to the stock as it is now, not as this worker last saw it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.auth import Actor
from contracts.errors import InsufficientPoints
from services.gift import catalogue, saga
from services.gift.models import Redemption, Stock, kit
from services.kit.db import make_engine
from services.kit.outbox import OutboxWriter

pytestmark = pytest.mark.integration
STORE = str(uuid.uuid4())


@pytest.fixture(scope="module")
def engine(provisioned):
    engine = make_engine(provisioned.database_url("gift"), pool_size=2, application_name="gift-saga-test")
    yield engine
    engine.dispose()


@pytest.fixture
def reserved(engine):
    """A chain with a gift of 5 in stock, and one pending redemption of 2 made in `session`."""
    chain_id = str(uuid.uuid4())
    session = Session(engine, expire_on_commit=False)  # as a worker's session
    events = OutboxWriter(kit.outbox, "gift")
    actor = Actor(staff_id=str(uuid.uuid4()), chain_id=chain_id, role="cashier", store_ids=(STORE,), username="c1")
    gift = {
        **dict.fromkeys(("picture_url", "valid_from", "valid_to", "limit_quantity", "limit_period")),
        "name": "Mug",
        "description": "",
        "market_price": 100,
        "points_cost": 10,
        "stock_mode": "chain",
        "stock": 5,
        "store_ids": [],
        "low_stock_threshold": 0,
        "active": True,
    }
    card = {"member_id": str(uuid.uuid4()), "card_id": str(uuid.uuid4()), "card_no": "620000000001"}
    with session.begin():
        gift_id = catalogue.create(session, chain_id, gift)["id"]
        request = {"gift_id": gift_id, "store_id": STORE, "quantity": 2, "remark": ""}
        pending = saga.reserve(session, events, actor, chain_id, uuid.uuid4().hex, card, request, None)
    yield session, events, chain_id, gift_id, pending["id"]
    session.close()


def stock(engine, gift_id: str) -> int:
    with Session(engine) as other:
        return other.scalar(select(Stock.quantity).where(Stock.gift_id == gift_id))


def take_elsewhere(engine, gift_id: str, quantity: int) -> None:
    with Session(engine) as other, other.begin():
        other.get(Stock, (gift_id, "*"), with_for_update=True).quantity -= quantity


def settle(session, events, chain_id, redemption_id, outcome, answer) -> Redemption:
    with session.begin():
        r = saga.redemption_of(session, chain_id, redemption_id, lock=True)
        return saga.settle_redeem(session, events, r, outcome, answer)


def test_a_refusal_gives_the_stock_back_to_the_stock_as_it_is_now(engine, reserved):
    session, events, chain_id, gift_id, redemption_id = reserved
    assert stock(engine, gift_id) == 3  # 5 - 2 reserved
    take_elsewhere(engine, gift_id, 1)  # another redemption meanwhile: 2 left
    refusal = InsufficientPoints(fields={"points": ["Only 5 points."]})
    assert settle(session, events, chain_id, redemption_id, saga.REFUSED, refusal).status == "refused"
    assert stock(engine, gift_id) == 4  # 2 + the 2 released, not 3 + 2
    # the points answer arriving late (the job, or the caller's retry) changes nothing now
    late = settle(session, events, chain_id, redemption_id, saga.TAKEN, {"redemption_id": str(uuid.uuid4())})
    assert (late.status, late.points_redemption_id) == ("refused", None)
    assert stock(engine, gift_id) == 4


def test_an_unknown_outcome_stays_pending_for_the_job_and_completes_once(engine, reserved):
    session, events, chain_id, gift_id, redemption_id = reserved
    assert settle(session, events, chain_id, redemption_id, saga.UNKNOWN, TimeoutError()).status == "pending"
    with session.begin():
        assert (chain_id, redemption_id, "pending") in saga.stuck(session, settle_seconds=0, limit=10_000)
    taken = {"redemption_id": str(uuid.uuid4())}
    for _ in range(2):  # the caller's request and the job both hear the same answer under the same key
        done = settle(session, events, chain_id, redemption_id, saga.TAKEN, taken)
        assert (done.status, done.points_redemption_id, done.attempts) == ("completed", taken["redemption_id"], 1)
    with Session(engine) as other:
        sent = other.scalars(
            select(kit.outbox.c.payload).where(
                kit.outbox.c.event_type == "redeemed",
                kit.outbox.c.payload["data"]["redemption_id"].astext == redemption_id,
            )
        ).all()
    assert len(sent) == 1
    assert stock(engine, gift_id) == 3
