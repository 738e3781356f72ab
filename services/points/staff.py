"""Points moved by people (P-3, P-6): cash points from a receipt, gifts, rebates and
adjustments, and redemptions with their cancellation (for the gift service).

Each runs once per idempotency key (the kit's `@mutation`), after the service has
checked the card and the store; here the member's book is locked and moved.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from contracts.auth import Actor
from contracts.errors import AlreadyExists, InvalidState, NotFound
from services.kit.outbox import OutboxWriter
from services.points import book as books
from services.points import rules as r
from services.points.earning import _base_event, _earned_event, promotions
from services.points.models import Redemption, Rules, Transaction
from services.points.settings import time_zone


def _expiry(session: Session, chain_id: str, now: datetime) -> datetime | None:
    stored = session.get(Rules, chain_id)
    return r.expires_at(time_zone(session, chain_id), now, stored.expiry_months if stored else None)


def _cause_taken(session: Session, chain_id: str, kind: str, reference: str, field: str, what: str) -> None:
    if books.cause_recorded(session, chain_id, kind, reference):
        raise AlreadyExists(f"{what} was already entered.", {field: [f"{what} was already entered."]})


def grant(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str
) -> dict:
    """A gift, a rebate (points given) or an adjustment (given or taken, never below zero)."""
    book = books.open_book(session, chain_id, card["member_id"])
    cause = books.Cause(
        data["kind"],
        reference=f"{data['kind']}:{key}",
        reason=data["reason"],
        store_id=data["store_id"],
        operator_id=actor.staff_id,
        card_id=card["card_id"],
    )
    if data["points"] > 0:
        tx = books.credit(session, book, cause, data["points"], _expiry(session, chain_id, book.now))
        events.add(session, "earned", _earned_event(book, tx, data["kind"]), chain_id=chain_id, occurred_at=book.now)
    else:
        tx = books.debit(session, book, cause, -data["points"])
    books.changed(session, events, book, tx)
    return books.move_view(tx, card)


def cash_points(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str
) -> dict:
    """Points for a purchase paid outside the card, by the chain's rules as if paid in money;
    one receipt earns once."""
    _cause_taken(session, chain_id, "cash", data["receipt_no"], "receipt_no", "This receipt")
    book = books.open_book(session, chain_id, card["member_id"])
    zone = time_zone(session, chain_id)
    stored = session.get(Rules, chain_id)
    line = r.Line(1, "", data["category"] or "", data["amount"])
    earned = r.earn(
        r.RuleSet.from_stored(stored),
        promotions(session, chain_id),
        [line],
        r.Fraction(1),
        card["tier"]["code"],
        book.totals.year_spend,
        data["store_id"],
        book.now.astimezone(r.ZoneInfo(zone)),
    )
    cause = books.Cause(
        "cash",
        reference=data["receipt_no"],
        reason=f"Paid {data['amount']} fen outside the card",
        store_id=data["store_id"],
        operator_id=actor.staff_id,
        card_id=card["card_id"],
    )
    tx = books.credit(session, book, cause, earned.total, _expiry(session, chain_id, book.now))
    earned_events = [("earned", _earned_event(book, tx, "cash"))] if tx.points else []
    books.changed(session, events, book, tx, before=earned_events)  # both events in one INSERT
    return books.move_view(tx, card)


def redemption_view(redemption: Redemption, tx: Transaction, card: dict | None) -> dict:
    return {**books.move_view(tx, card), "redemption_id": redemption.id, "status": redemption.status}


def redeem(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str
) -> dict:
    """P-6: take the points, oldest lots first, or refuse naming `points`; one redemption per reference."""
    _cause_taken(session, chain_id, "redeem", data["reference"], "reference", "This reference")
    book = books.open_book(session, chain_id, card["member_id"])
    cause = books.Cause(
        "redeem",
        reference=data["reference"],
        reason=data["reason"],
        store_id=data["store_id"],
        operator_id=actor.staff_id,
        card_id=card["card_id"],
    )
    tx = books.debit(session, book, cause, data["points"])
    redemption = Redemption(
        id=str(uuid.uuid4()),
        chain_id=chain_id,
        member_id=book.member_id,
        reference=data["reference"],
        points=data["points"],
        tx_id=tx.id,
        status="redeemed",
    )
    session.add(redemption)
    session.flush()
    event = {**_base_event(book, tx), "redemption_id": redemption.id, "store_id": tx.store_id}
    events.add(session, "redeemed", event, chain_id=chain_id, occurred_at=book.now)
    books.changed(session, events, book, tx)
    return redemption_view(redemption, tx, card)


def redemption_of(session: Session, chain_id: str, redemption_id: str) -> Redemption:
    redemption = session.get(Redemption, redemption_id)
    if redemption is None or redemption.chain_id != chain_id:
        raise NotFound("No such redemption in this chain.")
    return redemption


def cancel_redemption(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, redemption_id: str, data: dict
) -> dict:
    """Give the points back to the lots they came from (a fresh lot for those expired since)."""
    member_id = redemption_of(session, chain_id, redemption_id).member_id
    book = books.open_book(session, chain_id, member_id)
    redemption = session.get(Redemption, redemption_id, with_for_update=True, populate_existing=True)
    if redemption.status != "redeemed":
        raise InvalidState("The redemption was cancelled already.", {"redemption_id": ["Already cancelled."]})
    cause = books.Cause(
        "redeem_cancel",
        reference=redemption.id,
        reason=data["reason"],
        store_id=data["store_id"],
        operator_id=actor.staff_id,
    )
    tx = books.restore(session, book, cause, redemption.tx_id, _expiry(session, chain_id, book.now))
    redemption.status, redemption.cancel_tx_id = "cancelled", tx.id
    session.flush()
    event = {**_base_event(book, tx), "redemption_id": redemption.id, "store_id": tx.store_id}
    events.add(session, "redemption_cancelled", event, chain_id=chain_id, occurred_at=book.now)
    books.changed(session, events, book, tx)
    return redemption_view(redemption, tx, None)
