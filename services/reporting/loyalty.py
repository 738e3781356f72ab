"""Points and gift events into facts: a points transaction keyed by its id (R-1's points per
consume, R-5's ranking by points), a gift redemption keyed by its id (R-6). Inserted once
(`ON CONFLICT DO NOTHING`). A redemption and its cancellation both carry the redemption's
figures and each sets only its own columns (who, when; the cancellation's `operator_id` is
the canceller's), so they give the same row in either order, and any number of times."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.events import Event
from services.kit.built import insert_rows
from services.reporting.models import CardCopy, GiftRedemptionFact, PointsFact
from services.reporting.money import at

# ---- points -------------------------------------------------------------------------------


def _points(session: Session, event: Event, kind: str, store_id: str | None, consume_id: str | None) -> None:
    d = event.data
    row = {
        "tx_id": d["transaction_id"],
        "chain_id": d["chain_id"],
        "kind": kind,
        "occurred_at": at(event),
        "member_id": d["member_id"],
        "store_id": store_id,
        "consume_id": consume_id,
        "points": d["points"],
    }
    insert_rows(session, PointsFact.__table__, [row])


def earned(session: Session, event: Event) -> None:
    d = event.data
    # an `earn` is for a consume, named by its reference (the wallet transaction id)
    _points(session, event, d["kind"], d["store_id"], d["reference"] if d["kind"] == "earn" else None)


def reversed_(session: Session, event: Event) -> None:
    d = event.data
    _points(session, event, "reverse", None, d["consume_id"])


# ---- gift ---------------------------------------------------------------------------------


def _redemption(session: Session, event: Event, **own: object) -> None:
    d = event.data
    row = {
        "redemption_id": d["redemption_id"],
        "chain_id": d["chain_id"],
        "gift_id": d["gift_id"],
        "gift_name": d["gift_name"][:200],
        "member_id": d["member_id"],
        "card_id": d["card_id"],
        "store_id": d["store_id"],
        "quantity": d["quantity"],
        "points": d["points"],
        **own,
    }
    statement = insert(GiftRedemptionFact.__table__).values(**row)
    session.execute(statement.on_conflict_do_update(index_elements=["redemption_id"], set_=own))


def gift_redeemed(session: Session, event: Event) -> None:
    _redemption(session, event, operator_id=event.data["operator_id"], redeemed_at=at(event))


def gift_cancelled(session: Session, event: Event) -> None:
    d = event.data
    _redemption(
        session, event, cancel_operator_id=d["operator_id"], cancelled_at=at(event), cancel_reason=d["reason"][:200]
    )


# ---- member: card numbers -------------------------------------------------------------------


def card_issued(session: Session, event: Event) -> None:
    d = event.data
    session.execute(
        insert(CardCopy.__table__)
        .values(card_id=d["card_id"], chain_id=event.chain_id, card_no=d["card_no"])
        .on_conflict_do_nothing()
    )
