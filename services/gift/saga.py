"""Redemption and its cancellation as sagas across two services (G-2).

Redeeming: (1) in one transaction, reserve the stock (a conditional UPDATE, so two
redemptions of the last item cannot both pass, and the CHECK keeps it non-negative
whatever happens) and record the redemption *pending*; (2) ask the points service to take
the points, under a key derived from the redemption; (3) in one transaction, *completed*,
or on a definite refusal the stock released and *refused* with the reason. When the
answer of (2) is not known (a timeout, points down, our process killed), the redemption
stays pending and `recover` asks again with the same key until the answer is definite:
the points service answers a retry with its first answer, so points are never taken twice.

Cancelling runs the same way: *cancelling* is recorded, points are asked to give the
points back under a key of their own, and only then the stock comes back and the
redemption is *cancelled*; a definite refusal puts it back to *completed*.

Each step reads the redemption under a row lock and acts only from the status it expects,
so the caller's request and the recovery job on any number of instances can race safely:
whoever is second finds the step done and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from nameko.exceptions import serialize
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from contracts.auth import Actor
from contracts.errors import HuiyuanError, NotFound, OutOfStock
from services.gift import catalogue, rules
from services.gift.models import Gift, Redemption, Stock, kit
from services.kit.built import constant
from services.kit.db import new_id
from services.kit.idempotency import REFUSAL, is_definite_refusal
from services.kit.outbox import OutboxWriter

log = logging.getLogger(__name__)
HOLDING = ("pending", "completed", "cancelling")  # what counts against a per-member limit
SETTLE_SECONDS = 5  # the caller's own request is given this long before the job steps in
TAKEN, REFUSED, UNKNOWN = "taken", "refused", "unknown"


def now(session: Session) -> datetime:
    """The database's clock: one clock for every instance's "now"."""
    return session.scalar(select(func.now()))


def points_key(redemption_id: str) -> str:
    return f"gift-redemption:{redemption_id}"


def cancel_key(redemption_id: str) -> str:
    return f"gift-cancel:{redemption_id}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def view(r: Redemption) -> dict:
    return {
        "id": r.id,
        "chain_id": r.chain_id,
        "gift_id": r.gift_id,
        "gift_name": r.gift_name,
        "member_id": r.member_id,
        "card_id": r.card_id,
        "card_no": r.card_no,
        "quantity": r.quantity,
        "points": r.points,
        "store_id": r.store_id,
        "operator_id": r.operator_id,
        "operator_name": r.operator_name,
        "status": r.status,
        "refusal": r.refusal,
        "remark": r.remark,
        "created_at": r.created_at.isoformat(),
        "completed_at": _iso(r.completed_at),
        "cancelled_at": _iso(r.cancelled_at),
        "cancel_operator_id": (r.cancel_actor or {}).get("staff_id"),
        "cancel_reason": r.cancel_reason,
    }


def redemption_of(session: Session, chain_id: str, redemption_id: str, lock: bool = False) -> Redemption:
    r = session.get(Redemption, redemption_id, with_for_update=lock, populate_existing=lock)
    if r is None or r.chain_id != chain_id:
        raise NotFound("No such redemption in this chain.", {"redemption_id": ["No such redemption."]})
    return r


# ---- step 1: reserve ----------------------------------------------------------------------


def _offer(gift: Gift) -> rules.Offer:
    return rules.Offer(
        active=gift.active,
        retired=gift.retired,
        store_ids=tuple(gift.store_ids),
        valid_from=gift.valid_from,
        valid_to=gift.valid_to,
        stock_mode=gift.stock_mode,
        limit_quantity=gift.limit_quantity,
        limit_period=gift.limit_period,
    )


def _held(session: Session, chain_id: str, member_id: str, gift: Gift, year: int) -> int:
    """What the member holds of the gift in its limit's period, with the member's redemptions
    of it serialised (a transaction lock), so two at once cannot both slip under the limit."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"gift:{member_id}:{gift.id}"})
    stmt = select(func.coalesce(func.sum(Redemption.quantity), 0)).where(
        Redemption.chain_id == chain_id,
        Redemption.member_id == member_id,
        Redemption.gift_id == gift.id,
        Redemption.status.in_(HOLDING),
    )
    if gift.limit_period == "year":
        stmt = stmt.where(Redemption.local_year == year)
    return int(session.scalar(stmt))


def _take_stock(session: Session, gift_id: str, place: str, quantity: int) -> None:
    taken = session.execute(
        update(Stock)
        .where(Stock.gift_id == gift_id, Stock.place == place, Stock.quantity >= quantity)
        .values(quantity=Stock.quantity - quantity)
        .returning(Stock.quantity)
    ).first()
    if taken is None:
        left = session.scalar(select(Stock.quantity).where(Stock.gift_id == gift_id, Stock.place == place)) or 0
        where = "in the chain" if place == rules.CHAIN_WIDE else "at this store"
        reason = f"Only {left} left {where}; asked for {quantity}."
        raise OutOfStock(f"Not enough of this gift is left: {left} {where}.", {"quantity": [reason]})


def reserve(
    session: Session,
    events: OutboxWriter,
    actor: Actor,
    chain_id: str,
    key: str,
    card: dict,
    data: dict,
    zone: str | None,
) -> dict:
    """Step 1, in the caller's transaction: the gift's rules, the member's limit, the stock
    taken and the redemption recorded pending, or nothing (a refusal naming the field)."""
    gift = catalogue.get_gift(session, chain_id, data["gift_id"])
    at = now(session)
    today = rules.local_day(zone, at)
    offer = _offer(gift)
    rules.check_redeemable(offer, data["store_id"], today)
    if gift.limit_quantity is not None:
        rules.check_limit(offer, _held(session, chain_id, card["member_id"], gift, today.year), data["quantity"])
    place = rules.place_of(gift.stock_mode, data["store_id"])
    _take_stock(session, gift.id, place, data["quantity"])
    r = Redemption(
        id=new_id(),
        chain_id=chain_id,
        idempotency_key=key,
        gift_id=gift.id,
        gift_name=gift.name,
        member_id=card["member_id"],
        card_id=card["card_id"],
        card_no=card["card_no"],
        quantity=data["quantity"],
        points=gift.points_cost * data["quantity"],
        store_id=data["store_id"],
        place=place,
        local_year=today.year,
        operator_id=actor.staff_id,
        operator_name=actor.display_name or actor.username,
        actor=actor.to_dict(),
        remark=data["remark"],
        status="pending",
        created_at=at,
        step_at=at,
    )
    session.add(r)
    # as the UPDATE left it (the session may hold an older copy of the row)
    catalogue.note_stock(session, events, gift, session.get(Stock, (gift.id, place), populate_existing=True))
    session.flush()
    return view(r)


# ---- step 2: ask the points service -----------------------------------------------------------


def ask(call: Callable[[], Any]) -> tuple[str, Any]:
    """The points service's answer as taken, refused (definite, with the refusal) or unknown."""
    try:
        return TAKEN, call()
    except HuiyuanError as exc:
        return (REFUSED if is_definite_refusal(exc) else UNKNOWN), exc
    except Exception as exc:  # noqa: BLE001 - a broker fault, a remote crash: the outcome is not known
        log.warning("points call failed: %r", exc)
        return UNKNOWN, exc


def redeem_request(r: Redemption) -> dict:
    reason = f"Gift: {r.gift_name} x {r.quantity}"[:200]
    return {
        "card_no": r.card_no,
        "store_id": r.store_id,
        "points": r.points,
        "reference": f"gift:{r.id}",
        "reason": reason,
    }


def cancel_request(r: Redemption) -> dict:
    return {"store_id": r.store_id, "reason": r.cancel_reason or "Gift redemption cancelled"}


# ---- step 3: settle ---------------------------------------------------------------------------


def _refusal(exc: HuiyuanError) -> dict:
    return {"code": exc.code, "message": exc.message, "fields": exc.fields or {}}


def _answer(session: Session, chain_id: str, key: str | None, answer: Any) -> None:
    """The idempotency key's answer becomes the saga's final one (it was pending)."""
    if key is None:
        return
    table = kit.idempotency
    session.execute(update(table).where(table.c.scope == chain_id, table.c.key == key).values(response=answer))


def _event(r: Redemption) -> dict:
    return {
        "chain_id": r.chain_id,
        "redemption_id": r.id,
        "gift_id": r.gift_id,
        "gift_name": r.gift_name,
        "member_id": r.member_id,
        "card_id": r.card_id,
        "store_id": r.store_id,
        "operator_id": r.operator_id,
        "quantity": r.quantity,
        "points": r.points,
    }


def _give_back_stock(session: Session, events: OutboxWriter, r: Redemption) -> None:
    # fresh and locked: this worker's session may hold the row as it was when the stock was reserved
    stock = session.get(Stock, (r.gift_id, r.place), with_for_update=True, populate_existing=True)
    stock.quantity += r.quantity
    gift = session.get(Gift, r.gift_id)
    catalogue.note_stock(session, events, gift, stock)


def settle_redeem(session: Session, events: OutboxWriter, r: Redemption, outcome: str, answer: Any) -> Redemption:
    """Step 3 of a redemption, with `r` locked: from pending only."""
    at = now(session)
    if r.status != "pending" or outcome == UNKNOWN:
        if outcome == UNKNOWN:
            r.attempts += 1
        return r
    if outcome == TAKEN:
        r.status, r.points_redemption_id, r.completed_at, r.step_at = "completed", answer["redemption_id"], at, at
        events.add(session, "redeemed", _event(r), chain_id=r.chain_id, occurred_at=at)
        session.flush()
        _answer(session, r.chain_id, r.idempotency_key, view(r))
    else:
        _give_back_stock(session, events, r)
        r.status, r.refusal, r.step_at = "refused", _refusal(answer), at
        session.flush()
        _answer(session, r.chain_id, r.idempotency_key, {REFUSAL: serialize(answer)})
    return r


def settle_cancel(session: Session, events: OutboxWriter, r: Redemption, outcome: str, answer: Any) -> Redemption:
    """Step 3 of a cancellation, with `r` locked: from cancelling only. Points given back
    (or found given back already) bring the stock back; a definite refusal restores *completed*."""
    at = now(session)
    if r.status != "cancelling" or outcome == UNKNOWN:
        if outcome == UNKNOWN:
            r.attempts += 1
        return r
    if outcome == REFUSED and not already_cancelled_in_points(answer):
        key = r.cancel_key
        r.status, r.step_at = "completed", at
        r.cancel_actor, r.cancel_reason, r.cancel_key = None, None, None
        session.flush()
        _answer(session, r.chain_id, key, {REFUSAL: serialize(answer)})
        return r
    _give_back_stock(session, events, r)
    r.status, r.cancelled_at, r.step_at = "cancelled", at, at
    data = {**_event(r), "operator_id": r.cancel_actor["staff_id"], "reason": r.cancel_reason or ""}
    events.add(session, "redemption_cancelled", data, chain_id=r.chain_id, occurred_at=at)
    session.flush()
    _answer(session, r.chain_id, r.cancel_key, view(r))
    return r


def already_cancelled_in_points(exc: HuiyuanError) -> bool:
    """Points' own cancel operation was used on it: the points are back, so the stock comes back too."""
    return exc.code == "invalid_state" and "redemption_id" in (exc.fields or {})


def begin_cancel(
    session: Session, actor: Actor, chain_id: str, redemption_id: str, data: dict, key: str, cancel_hours: int
) -> dict:
    """Step 1 of a cancellation: a completed redemption within the chain's period, at a store
    the caller manages, becomes cancelling."""
    r = redemption_of(session, chain_id, redemption_id, lock=True)
    if not actor.can_access_store(chain_id, r.store_id):
        raise NotFound("No such redemption in your stores.", {"redemption_id": ["Not redeemed at your store."]})
    at = now(session)
    rules.check_cancellable(r.status, r.completed_at or r.created_at, cancel_hours, at)
    r.status, r.step_at = "cancelling", at
    r.cancel_actor, r.cancel_reason, r.cancel_key = actor.to_dict(), data["reason"], key
    session.flush()
    return view(r)


def stuck(session: Session, settle_seconds: int = SETTLE_SECONDS, limit: int = 100) -> list[tuple[str, str, str]]:
    """Redemptions whose saga is between steps, oldest first: (chain, id, status)."""
    since = func.now() - timedelta(seconds=settle_seconds)
    rows = session.execute(
        select(Redemption.chain_id, Redemption.id, Redemption.status)
        .where(Redemption.status.in_([constant("pending"), constant("cancelling")]), Redemption.step_at <= since)
        .order_by(Redemption.step_at)
        .limit(limit)
    ).all()
    return [tuple(row) for row in rows]
