"""Points from the wallet's consumes and refunds (P-2, P-4, W-6), exactly once.

Each handler runs in the kit's handler transaction with its inbox record, so a
redelivered event changes nothing twice; and the transaction's cause (the consume's
or refund's id) is unique in the database, so even a copy of the event under another
envelope id earns once. Consume and refund of one member serialise on the member's
accounts; a refund that arrives before its consume is kept and applied when the
consume arrives, so the order of arrival does not change the outcome.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache

from sqlalchemy import Select, String, bindparam, delete, exists, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Session

from services.kit import direct
from services.kit.outbox import OutboxWriter
from services.points import book as books
from services.points import rules as r
from services.points.models import EarlyRefund, Earning, Rules
from services.points.settings import StoredRules, active_promotions, rules_zone_and_promotions, time_zone


def promotion_terms(p: dict) -> r.PromotionTerms:
    """A promotion as `settings.active_promotions` gives it."""
    return r.PromotionTerms(
        id=p["id"],
        starts_on=date.fromisoformat(p["starts_on"]),
        ends_on=date.fromisoformat(p["ends_on"]),
        store_ids=frozenset(p["store_ids"]),
        categories=frozenset(p["categories"]),
        item_codes=frozenset(p["item_codes"]),
        weekdays=frozenset(p["weekdays"]),
        multiplier=r.Fraction(Decimal(p["multiplier"])) if p["multiplier"] is not None else None,
        extra_points=p["extra_points"],
    )


def promotions(session: Session, chain_id: str) -> list[r.PromotionTerms]:
    return [promotion_terms(p) for p in session.scalar(select(active_promotions(chain_id)))]


def spend_for_level(totals: books.Totals, zone: str, moment: datetime) -> int:
    """The year's spend a consume at `moment` reads its level from (P-2), without touching the
    totals: zero in a new year; a consume dated in a past year reads the spend kept."""
    year = r.local_day(zone, moment).year
    return 0 if year > totals.spend_year else totals.year_spend


def count_spend(totals: books.Totals, zone: str, moment: datetime, delta: int) -> None:
    """The year's spend (P-2 levels) in the chain's calendar year; a new year starts from zero."""
    year = r.local_day(zone, moment).year
    if totals.spend_year != year:
        if year < totals.spend_year:
            return  # a late refund of a past year does not touch this year's spend
        totals.spend_year, totals.year_spend = year, 0
    totals.year_spend = max(0, totals.year_spend + delta)


def on_consumed(session: Session, events: OutboxWriter, data: dict, occurred_at: str) -> None:
    chain_id, member_id, consume_id = data["chain_id"], data["member_id"], data["transaction_id"]
    book = books.open_book(session, chain_id, member_id)
    earned_already, waiting = _earned_and_waiting(session, chain_id, consume_id)
    if earned_already:
        return  # the same consume under another envelope (the earning's key is the real guard)
    stored, zone, offers = rules_zone_and_promotions(session, chain_id)
    moment = datetime.fromisoformat(occurred_at)
    ruleset = r.RuleSet.from_stored(stored)
    lines = [r.Line(x["line_no"], x["item_code"], x["category"], x["net"]) for x in data["lines"]]
    share = r.earning_share(data["paid"], data["amount_due"], ruleset.bonus_earns)
    totals = book.totals
    earned = r.earn(
        ruleset,
        [promotion_terms(p) for p in offers],
        lines,
        share,
        data["tier_code"],
        spend_for_level(totals, zone, moment),
        data["store_id"],
        moment.astimezone(r.ZoneInfo(zone)),
    )
    cause = books.Cause(
        "earn",
        reference=consume_id,
        reason=f"Consume of {data['amount_due']} fen"
        + (f"; promotion {earned.promotion_id}" if earned.promotion_id else ""),
        store_id=data["store_id"],
        operator_id=data["operator_id"],
        card_id=data["card_id"],
    )
    expiry = r.expires_at(zone, book.now, stored.expiry_months if stored else None)
    tx = books.credit(session, book, cause, earned.total, expiry)
    books.record_earning(
        session,
        {
            "chain_id": chain_id,
            "consume_id": consume_id,
            "member_id": member_id,
            "tx_id": tx.id,
            "points": earned.total,
            "lines": [
                {"line_no": x.line_no, "net": x.net, "points": earned.lines[x.line_no], "refunded": 0, "reversed": 0}
                for x in lines
            ],
            "reversed": 0,
        },
    )
    # the member's totals row is written once, by `books.changed`
    count_spend(totals, zone, moment, data["amount_due"])
    first = totals.first_consume_id is None
    if first:
        totals.first_consume_id = consume_id
    earned_events = [("earned", _earned_event(book, tx, "earn"))] if earned.total else []
    books.changed(session, events, book, tx, before=earned_events)
    if first:
        reward_referrer(session, events, chain_id, member_id, stored)
    for early in waiting:
        _reverse(session, events, book, early["payload"], zone)
        session.execute(delete(EarlyRefund.__table__).where(EarlyRefund.refund_id == early["refund_id"]))


def _earned_and_waiting(session: Session, chain_id: str, consume_id: str) -> tuple[bool, list[dict]]:
    """Whether the consume has earned already, and the refunds kept for it ({refund_id,
    payload}), in one statement. Read under the member's lock, which `on_refunded` takes
    too: no refund is kept for this consume while the consume is being earned."""
    row = direct.run(session, _earned_and_waiting_statement(), {"the_chain": chain_id, "the_consume": consume_id}).one()
    return row[0], row[1]


@cache
def _earned_and_waiting_statement() -> Select:
    """Built once: every consume reads it (see services.kit.built)."""
    early = EarlyRefund.__table__
    # the keys as SQL text, not parameters: a prepared statement cannot type a parameter there
    kept = func.jsonb_build_object(
        literal_column("'refund_id'"), early.c.refund_id, literal_column("'payload'"), early.c.payload
    )
    consume_id = bindparam("the_consume", type_=String)
    waiting = (
        select(func.coalesce(func.jsonb_agg(kept), literal_column("'[]'::jsonb"), type_=JSONB))
        .where(early.c.consume_id == consume_id)
        .scalar_subquery()
    )
    earnings = books.earnings
    earned = exists().where(
        earnings.c.chain_id == bindparam("the_chain", type_=String), earnings.c.consume_id == consume_id
    )
    return select(earned, waiting)


def on_refunded(session: Session, events: OutboxWriter, data: dict) -> None:
    chain_id, consume_id = data["chain_id"], data["consume_id"]
    book = books.open_book(session, chain_id, data["member_id"])
    if session.get(Earning, (chain_id, consume_id)) is None:
        # the consume is still on its way: keep the refund for it (once, whatever the redelivery)
        session.execute(
            insert(EarlyRefund.__table__)
            .values(refund_id=data["transaction_id"], chain_id=chain_id, consume_id=consume_id, payload=data)
            .on_conflict_do_nothing()
        )
        return
    _reverse(session, events, book, data, time_zone(session, chain_id))


# the lot a refund's earn made, by the earn's one move into it (moves are indexed by
# transaction, lots are not: by the lot's transaction it was a scan of every chain's lots)
EARNED_LOT = select(books.moves.c.lot_id).where(books.moves.c.tx_id == bindparam("tx_id"), books.moves.c.amount > 0)


def _reverse(session: Session, events: OutboxWriter, book: books.Book, data: dict, zone: str) -> None:
    """Reverse the refunded lines' share of what their consume earned; what the member has
    spent already is recorded as the shortfall (the balance never goes below zero)."""
    refund_id = data["transaction_id"]
    earning = session.get(Earning, (book.chain_id, data["consume_id"]), with_for_update=True)
    if books.cause_recorded(session, book.chain_id, "reverse", refund_id):
        return  # reversed already
    refunded = {x["line_no"]: x["amount"] for x in data["lines"]}
    lines, points = [], 0
    for line in earning.lines:
        line = dict(line)
        if line["line_no"] in refunded:
            line["refunded"] += refunded[line["line_no"]]
            after = r.reversed_after(line["points"], line["net"], line["refunded"])
            points += after - line["reversed"]
            line["reversed"] = after
        lines.append(line)
    earning.lines, earning.reversed = lines, earning.reversed + points
    first_lot = direct.run(session, EARNED_LOT, {"tx_id": earning.tx_id}).scalar()
    cause = books.Cause(
        "reverse",
        reference=refund_id,
        reason=f"Refund of {data['amount']} fen of consume {earning.consume_id}",
        store_id=data["store_id"],
        operator_id=data["operator_id"],
        card_id=data["card_id"],
    )
    tx = books.debit(session, book, cause, points, partial=True, first_lot=first_lot)
    # the member's totals row is written once, by `books.changed`
    count_spend(book.totals, zone, datetime.fromisoformat(data["spend_as_of"]), -data["amount"])
    event = {**_base_event(book, tx), "consume_id": earning.consume_id, "shortfall": tx.shortfall}
    books.changed(session, events, book, tx, before=[("reversed", event)])


def reward_referrer(
    session: Session, events: OutboxWriter, chain_id: str, member_id: str, stored: Rules | StoredRules | None
) -> None:
    """P-4: the referrer earns the chain's referral points when the referred member first
    consumes; once per referred member (the referral's cause is unique), never oneself."""
    # read afresh, not through the session: the consume's move wrote the row with a Core UPDATE
    totals = session.execute(
        select(books.members.c.referrer_id, books.members.c.first_consume_id).where(
            books.members.c.chain_id == chain_id, books.members.c.member_id == member_id
        )
    ).first()
    referrer = totals.referrer_id if totals else None
    if referrer is None or referrer == member_id or totals.first_consume_id is None:
        return
    points = stored.referral_points if stored else 0
    if points <= 0:
        return
    reference = f"referral:{member_id}"
    if books.cause_recorded(session, chain_id, "referral", reference):
        return
    book = books.open_book(session, chain_id, referrer)
    zone = time_zone(session, chain_id)
    cause = books.Cause("referral", reference=reference, reason=f"Referred member {member_id} first consumed")
    tx = books.credit(session, book, cause, points, r.expires_at(zone, book.now, stored.expiry_months))
    books.changed(session, events, book, tx, before=[("earned", _earned_event(book, tx, "referral"))])


def _base_event(book: books.Book, tx) -> dict:
    return {
        "chain_id": book.chain_id,
        "member_id": book.member_id,
        "transaction_id": tx.id,
        "points": tx.points,
        "balance": book.balance,
        "reference": tx.reference,
    }


def _earned_event(book: books.Book, tx, kind: str) -> dict:
    return {**_base_event(book, tx), "kind": kind, "store_id": tx.store_id}
