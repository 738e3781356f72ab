"""Reads: balances, the member's statement with running balances (W-10),
one transaction and what its receipt prints (S-3), liability per store (W-11) and inter-store settlement (R-8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.auth import Actor
from contracts.errors import NotFound, ValidationFailed
from services.kit.paging import keyset_page
from services.wallet import common, ledger, receipts, views
from services.wallet.models import (
    MEMBER_BONUS,
    MEMBER_CASH,
    Account,
    ChainClock,
    ConsumeLine,
    LotMove,
    Posting,
    StaffState,
    StoreState,
    Transaction,
)


def balances(session: Session, chain_id: str, card: dict) -> dict:
    member = ledger.read_member(session, chain_id, card["member_id"])
    return {
        "card": common.card_ref(card),
        "status": card["status"],
        "wallet_status": member.wallet_status,
        "balances": member.balances(),
        "cumulative_spend": member.cumulative_spend,
    }


def _changes(session: Session, member_id: str, tx_ids: list[str]) -> dict[str, dict[str, int]]:
    rows = session.execute(
        select(Posting.tx_id, Account.kind, func.sum(Posting.amount))
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.tx_id.in_(tx_ids), Account.member_id == member_id)
        .group_by(Posting.tx_id, Account.kind)
    ).all()
    changes: dict[str, dict[str, int]] = {}
    for tx_id, kind, total in rows:
        changes.setdefault(tx_id, {})[kind] = int(total)
    return changes


def statement(session: Session, chain_id: str, member_id: str, query: dict) -> dict:
    stmt = select(Transaction).where(
        Transaction.chain_id == chain_id, Transaction.member_id == member_id, Transaction.cash_after.is_not(None)
    )
    if query.get("since"):
        stmt = stmt.where(Transaction.created_at >= query["since"])
    if query.get("until"):
        stmt = stmt.where(Transaction.created_at < query["until"])
    rows, cursor = keyset_page(
        session, stmt, [Transaction.created_at, Transaction.id], limit=query["limit"], after=query["after"]
    )
    changes = _changes(session, member_id, [r.id for r in rows]) if rows else {}
    items = []
    for tx in rows:
        change = changes.get(tx.id, {})
        items.append(
            {
                "transaction_id": tx.id,
                "kind": tx.kind,
                "created_at": tx.created_at.isoformat(),
                "store_id": tx.store_id,
                "operator_id": tx.operator_id,
                "card_no": tx.card_no,
                "amount": tx.amount,
                "cash_change": change.get(MEMBER_CASH, 0),
                "bonus_change": change.get(MEMBER_BONUS, 0),
                # credit lent is a negative balance: a posting of -x is x more used
                "credit_used_change": -change.get("member_credit", 0),
                "cash_after": tx.cash_after,
                "bonus_after": tx.bonus_after,
                "credit_used_after": tx.credit_used_after,
                "remark": tx.remark,
            }
        )
    return {"items": items, "next_cursor": cursor}


def visible_transaction(session: Session, actor: Actor, chain_id: str, tx_id: str) -> Transaction:
    """The transaction, if it is of the caller's chain and (staff of a store) made at their store:
    another chain's or store's is not found, so its existence is not told either (O-7)."""
    common.require_staff(actor, chain_id)
    tx = session.get(Transaction, tx_id)
    if tx is None or tx.chain_id != chain_id or not actor.can_access_store(chain_id, tx.store_id):
        raise NotFound("No such transaction in your scope.", {"transaction_id": ["Not found."]})
    return tx


def _lines(session: Session, tx_id: str) -> list[ConsumeLine]:
    statement = select(ConsumeLine).where(ConsumeLine.tx_id == tx_id).order_by(ConsumeLine.line_no)
    return list(session.execute(statement).scalars().all())


def transaction(session: Session, actor: Actor, chain_id: str, tx_id: str) -> dict:
    tx = visible_transaction(session, actor, chain_id, tx_id)
    return views.transaction(tx, _lines(session, tx.id))


@dataclass
class ReceiptReads:
    """What the wallet's own tables say for a receipt; a name or footer left None is one its
    copies of org's data do not hold (yet): the caller asks org for it."""

    record: dict  # views.receipt_record
    chain_name: str | None
    time_zone: str | None
    footer: str | None
    store_name: str | None
    staff_names: dict[str, str | None]  # operator and serving employee, by id
    original: dict | None  # a refund's consume: its id and time


def receipt_reads(session: Session, actor: Actor, chain_id: str, tx_id: str) -> ReceiptReads:
    tx = visible_transaction(session, actor, chain_id, tx_id)
    if tx.kind not in receipts.KINDS:
        raise ValidationFailed(
            f"A {tx.kind} has no receipt.",
            {"transaction_id": ["Receipts are printed for recharges, consumes and refunds."]},
        )
    chain = session.get(ChainClock, chain_id)
    store = session.get(StoreState, tx.store_id) if tx.store_id else None
    staff_ids = sorted({i for i in (tx.operator_id, tx.serving_employee_id) if i})
    known = dict(
        session.execute(
            select(StaffState.staff_id, StaffState.display_name).where(
                StaffState.chain_id == chain_id, StaffState.staff_id.in_(staff_ids)
            )
        ).all()
    )
    original = session.get(Transaction, tx.ref_tx_id) if tx.kind == "refund" and tx.ref_tx_id else None
    return ReceiptReads(
        record=views.receipt_record(tx, _lines(session, tx.id) if tx.kind == "consume" else []),
        chain_name=chain.name if chain else None,
        time_zone=chain.time_zone if chain else None,
        footer=chain.receipt_footer if chain else None,
        store_name=store.name if store and store.chain_id == chain_id else None,
        staff_names={staff_id: known.get(staff_id) for staff_id in staff_ids},
        original={"transaction_id": original.id, "created_at": original.created_at.isoformat()} if original else None,
    )


def liability(session: Session, chain_id: str, as_of: date | None, zone: str) -> dict:
    """Cash and bonus still owed to members at the end of `as_of`, by the store that took it in."""
    day = as_of or common.today(zone)
    _, end = common.day_range(zone, day, day)
    rows = session.execute(
        select(LotMove.lot_store_id, LotMove.kind, func.sum(LotMove.amount))
        .where(LotMove.chain_id == chain_id, LotMove.created_at < end)
        .group_by(LotMove.lot_store_id, LotMove.kind)
    ).all()
    stores: dict[str, dict] = {}
    for store_id, kind, total in rows:
        stores.setdefault(store_id, {"store_id": store_id, "cash": 0, "bonus": 0})[kind] = int(total)
    items = sorted(stores.values(), key=lambda s: s["store_id"])
    return {
        "as_of": day.isoformat(),
        "time_zone": zone,
        "stores": items,
        "chain": {"cash": sum(s["cash"] for s in items), "bonus": sum(s["bonus"] for s in items)},
    }


def settlement(session: Session, chain_id: str, since: date, until: date, zone: str) -> dict:
    """Cash taken in at one store and spent (net of refunds) or paid back at another."""
    start, end = common.day_range(zone, since, until)
    rows = session.execute(
        select(LotMove.lot_store_id, LotMove.store_id, func.sum(LotMove.amount))
        .where(
            LotMove.chain_id == chain_id,
            LotMove.kind == "cash",
            LotMove.lot_store_id != LotMove.store_id,
            LotMove.created_at >= start,
            LotMove.created_at < end,
        )
        .group_by(LotMove.lot_store_id, LotMove.store_id)
        .order_by(LotMove.lot_store_id, LotMove.store_id)
    ).all()
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "time_zone": zone,
        "rows": [{"received_store_id": r, "spent_store_id": s, "amount": -int(t)} for r, s, t in rows if t],
    }
