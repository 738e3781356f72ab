"""Events into the read model: one function per event, each safe in any order.

A fact is inserted under its source id and never changed (`ON CONFLICT DO
NOTHING`): a second delivery, or a replay during a rebuild, adds nothing. A
copy keeps the newest by the event's time. The inbox (`services.kit.handlers`)
already drops a repeated event; keying by source ids makes the read model
right even without it, and whatever the order events arrive in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.events import Event
from services.kit.copies import keep_newest
from services.reporting import rollup
from services.reporting.models import (
    ChainCopy,
    FactLine,
    Freshness,
    LotMove,
    MemberCopy,
    MemberTier,
    MoneyFact,
    StaffCopy,
    StoreCopy,
)

Apply = Callable[[Session, Event], None]


def _at(event: Event) -> datetime:
    return datetime.fromisoformat(event.occurred_at)


def _fact(session: Session, event: Event, kind: str, **figures: object) -> None:
    data = event.data
    row = {
        "tx_id": data["transaction_id"],
        "chain_id": data["chain_id"],
        "kind": kind,
        "occurred_at": _at(event),
        "store_id": data.get("store_id"),
        "operator_id": data.get("operator_id"),
        "member_id": data.get("member_id"),
        "card_no": data.get("card_no"),
        **figures,
    }
    inserted = session.execute(
        insert(MoneyFact.__table__).values(**row).on_conflict_do_nothing().returning(MoneyFact.tx_id)
    ).first()
    if inserted is None:
        return  # applied before: its lines, lot moves and daily totals are there too
    rollup.add(session, row)
    moves = [
        {
            "tx_id": data["transaction_id"],
            "chain_id": data["chain_id"],
            "kind": lot["kind"],
            "lot_store_id": lot["lot_store_id"],
            "store_id": data.get("store_id"),
            "amount": lot["amount"],
            "occurred_at": row["occurred_at"],
        }
        for lot in data.get("lots", [])
    ]
    if moves:
        session.execute(insert(LotMove.__table__).values(moves).on_conflict_do_nothing())


def _lines(session: Session, event: Event, lines: list[dict]) -> None:
    if not lines:
        return
    session.execute(
        insert(FactLine.__table__)
        .values([{"tx_id": event.data["transaction_id"], "chain_id": event.data["chain_id"], **line} for line in lines])
        .on_conflict_do_nothing()
    )


def _paid(paid: dict) -> dict:
    return {f"paid_{source}": paid[source] for source in ("cash", "bonus", "credit", "external")}


# ---- wallet -------------------------------------------------------------------------------


def recharged(session: Session, event: Event) -> None:
    d = event.data
    _fact(
        session,
        event,
        "recharge",
        amount=d["amount"],
        bonus=d["bonus"],
        payment_method=d["payment_method"],
        paid_external=d["amount"],
    )


def bonus_granted(session: Session, event: Event) -> None:
    _fact(session, event, "bonus_grant", bonus=event.data["amount"], remark=event.data["reason"][:500])


def consumed(session: Session, event: Event) -> None:
    d = event.data
    _fact(
        session,
        event,
        "consume",
        tier_code=d["tier_code"],
        serving_employee_id=d["serving_employee_id"],
        payment_method=d["external_payment_method"],
        gross=d["gross"],
        discount=d["discount"],
        amount=d["amount_due"],
        **_paid(d["paid"]),
    )
    keys = ("line_no", "item_code", "name", "category", "quantity", "unit_price", "gross", "discount", "net")
    _lines(session, event, [{k: line[k] for k in keys} for line in d["lines"]])


def refunded(session: Session, event: Event) -> None:
    d = event.data
    _fact(session, event, "refund", ref_tx_id=d["consume_id"], amount=d["amount"], **_paid(d["refunded"]))
    _lines(
        session,
        event,
        [{"line_no": x["line_no"], "quantity": x["quantity"], "net": x["amount"]} for x in d["lines"]],
    )


def package_sold(session: Session, event: Event) -> None:
    d = event.data
    paid = d["paid"]
    _fact(
        session,
        event,
        "package_sale",
        amount=sum(paid.values()),
        payment_method=d["payment_method"],
        remark=d["entitlement"]["name"][:500],
        **_paid(paid),
    )


def package_refunded(session: Session, event: Event) -> None:
    d = event.data
    _fact(session, event, "package_refund", amount=d["amount"], **_paid(d["refunded"]))


def card_returned(session: Session, event: Event) -> None:
    d = event.data
    _fact(
        session,
        event,
        "card_return",
        amount=d["cash_paid_back"],
        bonus=d["bonus_forfeited"],
        payment_method=d["payment_method"],
    )


def credit_settled(session: Session, event: Event) -> None:
    d = event.data
    _fact(
        session,
        event,
        "credit_settlement",
        amount=d["amount"],
        payment_method=d["payment_method"],
        paid_external=d["amount"],
    )


def fee_charged(session: Session, event: Event) -> None:
    d = event.data
    _fact(session, event, "fee", amount=d["amount"], payment_method=d["payment_method"], remark=d["kind"])


# ---- member -------------------------------------------------------------------------------


def _member(session: Session, event: Event, enrolled: bool) -> None:
    d = event.data
    keep_newest(
        session,
        MemberCopy.__table__,
        "member_id",
        event,
        member_id=d["member_id"],
        chain_id=event.chain_id,
        member_no=d["member_no"],
        name=d["name"][:100],
        home_store_id=d["home_store_id"],
    )
    if enrolled:  # whichever arrived first, the enrolment's time is the member's start
        session.execute(
            update(MemberCopy.__table__).where(MemberCopy.member_id == d["member_id"]).values(enrolled_at=_at(event))
        )


def enrolled(session: Session, event: Event) -> None:
    _member(session, event, enrolled=True)


def member_updated(session: Session, event: Event) -> None:
    _member(session, event, enrolled=False)


def _tier(session: Session, event: Event) -> None:
    d = event.data
    keep_newest(
        session,
        MemberTier.__table__,
        "member_id",
        event,
        member_id=d["member_id"],
        chain_id=event.chain_id,
        tier_code=d["tier_code"],
    )


# ---- org ----------------------------------------------------------------------------------


def _time_zone(session: Session, event: Event, zone: str | None) -> None:
    if not zone:
        return
    chain_id = event.data["chain_id"]
    before = rollup.lock_zone(session, chain_id, exclusive=True)
    keep_newest(session, ChainCopy.__table__, "chain_id", event, chain_id=chain_id, time_zone=zone)
    now = session.scalar(select(ChainCopy.time_zone).where(ChainCopy.chain_id == chain_id))
    if now != before:  # the days are the chain's own: count them again in its new zone
        rollup.regroup(session, chain_id, now)


def chain_created(session: Session, event: Event) -> None:
    _time_zone(session, event, event.data["time_zone"])


def chain_changed(session: Session, event: Event) -> None:
    _time_zone(session, event, event.data["settings"].get("time_zone"))


def store_changed(session: Session, event: Event) -> None:
    d = event.data
    keep_newest(
        session,
        StoreCopy.__table__,
        "store_id",
        event,
        store_id=d["store_id"],
        chain_id=d["chain_id"],
        code=d["code"],
        name=d["name"][:200],
        franchisee_id=d["franchisee_id"],
        status=d["status"],
    )


def staff_changed(session: Session, event: Event) -> None:
    d = event.data
    keep_newest(
        session,
        StaffCopy.__table__,
        "staff_id",
        event,
        staff_id=d["staff_id"],
        chain_id=d["chain_id"],
        store_id=d["store_id"],
        display_name=d["display_name"][:200],
        role=d["role"],
        level=d["level"][:40],
    )


APPLIERS: dict[tuple[str, str], Apply] = {
    ("wallet", "recharged"): recharged,
    ("wallet", "bonus_granted"): bonus_granted,
    ("wallet", "consumed"): consumed,
    ("wallet", "refunded"): refunded,
    ("wallet", "package_sold"): package_sold,
    ("wallet", "package_refunded"): package_refunded,
    ("wallet", "card_returned"): card_returned,
    ("wallet", "credit_settled"): credit_settled,
    ("wallet", "fee_charged"): fee_charged,
    ("member", "enrolled"): enrolled,
    ("member", "updated"): member_updated,
    ("member", "card_issued"): _tier,
    ("member", "tier_changed"): _tier,
    ("org", "chain_created"): chain_created,
    ("org", "chain_changed"): chain_changed,
    ("org", "store_changed"): store_changed,
    ("org", "staff_changed"): staff_changed,
}


def apply(session: Session, event: Event) -> None:
    """The event's effect on the read model, and the chain's freshness (`as of`)."""
    APPLIERS[(event.source, event.type)](session, event)
    if event.chain_id is None:
        return
    statement = insert(Freshness.__table__).values(chain_id=event.chain_id, newest_event_at=_at(event))
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[Freshness.chain_id],
            set_={"newest_event_at": statement.excluded.newest_event_at, "applied_at": func.now()},
            where=Freshness.newest_event_at < statement.excluded.newest_event_at,
        )
    )
