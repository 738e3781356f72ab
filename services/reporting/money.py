"""Wallet events into facts: one row per wallet transaction, keyed by its id, with its lines,
its lot moves and its share of the daily totals, all written the one time the fact is first
inserted (`ON CONFLICT DO NOTHING ... RETURNING`), so a repeat or a replay adds nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from contracts.events import Event
from services.kit.built import insert_family
from services.reporting import rollup
from services.reporting.models import FactLine, LotMove, MoneyFact


def at(event: Event) -> datetime:
    """When the fact became true (a wallet transaction's own time)."""
    return datetime.fromisoformat(event.occurred_at)


LINE_COLUMNS = (
    *("tx_id", "chain_id", "line_no", "item_code", "name", "category"),
    *("quantity", "unit_price", "gross", "discount", "net"),
)
MOVE_COLUMNS = ("tx_id", "chain_id", "kind", "lot_store_id", "store_id", "amount", "occurred_at")


def _fact(session: Session, event: Event, kind: str, lines: list[dict] | None = None, **figures: object) -> None:
    """The fact with its lines and lot moves in one statement, then its share of the day."""
    data = event.data
    row = {
        "tx_id": data["transaction_id"],
        "chain_id": data["chain_id"],
        "kind": kind,
        "occurred_at": at(event),
        "store_id": data.get("store_id"),
        "operator_id": data.get("operator_id"),
        "member_id": data.get("member_id"),
        "card_no": data.get("card_no"),
        **figures,
    }
    tx = {"tx_id": row["tx_id"], "chain_id": row["chain_id"]}
    moves = [
        {
            **tx,
            "kind": lot["kind"],
            "lot_store_id": lot["lot_store_id"],
            "store_id": data.get("store_id"),
            "amount": lot["amount"],
            "occurred_at": row["occurred_at"],
        }
        for lot in data.get("lots", [])
    ]
    children = [(LotMove.__table__, MOVE_COLUMNS, moves)]
    if lines:  # a line's figures not given are the column's default (a refund line has no price)
        given = ("tx_id", "chain_id", *lines[0])
        children.append((FactLine.__table__, given, [{**tx, **line} for line in lines]))
    if insert_family(session, MoneyFact.__table__, row, "tx_id", children):
        rollup.add(session, row)  # a repeat or a replay adds nothing: its lines and moves came with it


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
        lines=[{k: line[k] for k in LINE_COLUMNS[2:]} for line in d["lines"]],
        **_paid(d["paid"]),
    )


def refunded(session: Session, event: Event) -> None:
    d = event.data
    _fact(
        session,
        event,
        "refund",
        lines=[{"line_no": x["line_no"], "quantity": x["quantity"], "net": x["amount"]} for x in d["lines"]],
        ref_tx_id=d["consume_id"],
        amount=d["amount"],
        **_paid(d["refunded"]),
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
