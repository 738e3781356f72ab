"""Refunds (W-6): whole or per line, money back where it came from, package counts restored."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts import wallet as c
from contracts.auth import Actor
from contracts.errors import InvalidState, NotFound, ValidationFailed
from services.kit.outbox import OutboxWriter
from services.wallet import common, ledger, lots, packages, pricing, views
from services.wallet.models import (
    MEMBER_BONUS,
    MEMBER_CASH,
    MEMBER_CREDIT,
    STORE_RECEIVED,
    STORE_REVENUE,
    ConsumeLine,
    Transaction,
)
from services.wallet.operation import MoneyOperation


def credit_back(credit: int, credit_used: int) -> tuple[int, int]:
    """Credit refunded goes to credit used; if the member has paid it back since,
    the excess is theirs as cash. Returns (to credit, to cash)."""
    to_credit = min(credit, credit_used)
    return to_credit, credit - to_credit


def wanted_lines(lines: list[ConsumeLine], request: list[dict] | None) -> list[tuple[ConsumeLine, int]]:
    """(line, quantity) to refund: the ones asked for, or everything not yet refunded."""
    by_no = {line.line_no: line for line in lines}
    if request is None:
        chosen = [(line, line.quantity - line.refunded_quantity) for line in lines]
        chosen = [(line, qty) for line, qty in chosen if qty > 0]
        if not chosen:
            raise InvalidState("This consume is already fully refunded.", {"transaction_id": ["Fully refunded."]})
        return chosen
    chosen, seen = [], set()
    for i, item in enumerate(request):
        line = by_no.get(item["line_no"])
        where = {"lines": {str(i): {}}}
        if line is None or item["line_no"] in seen:
            where["lines"][str(i)]["line_no"] = ["No such line, or named twice."]
            raise ValidationFailed(fields=where)
        left = line.quantity - line.refunded_quantity
        if item["quantity"] > left:
            where["lines"][str(i)]["quantity"] = [f"Only {left} left to refund."]
            raise ValidationFailed(fields=where)
        seen.add(item["line_no"])
        chosen.append((line, item["quantity"]))
    return chosen


def line_amount(line: ConsumeLine, quantity: int) -> int:
    """The money (or package value) `quantity` of the line is worth, so that
    refunding a line in parts gives back exactly its total."""
    left_qty = line.quantity - line.refunded_quantity
    left_value = line.net + line.package_value - line.refunded_amount
    return pricing.share(left_value, quantity, left_qty)


def _already_refunded(session: Session, consume_id: str) -> dict[str, int]:
    """What earlier refunds gave back, by the source of the consume it came out of:
    credit that landed as cash (`credit_to_cash`) still used up the credit's share."""
    columns = {
        "cash": Transaction.paid_cash - Transaction.credit_to_cash,
        "bonus": Transaction.paid_bonus,
        "credit": Transaction.paid_credit + Transaction.credit_to_cash,
        "external": Transaction.paid_external,
    }
    row = session.execute(
        select(*(func.coalesce(func.sum(col), 0) for col in columns.values())).where(
            Transaction.ref_tx_id == consume_id, Transaction.kind == "refund"
        )
    ).one()
    return {source: int(value) for source, value in zip(columns, row, strict=True)}


def _consume(session: Session, chain_id: str, transaction_id: str) -> Transaction:
    consume = session.get(Transaction, transaction_id)
    if consume is None or consume.chain_id != chain_id or consume.kind != "consume":
        raise NotFound("No such consume.", {"transaction_id": ["No such consume in this chain."]})
    return consume


def card_of(session: Session, chain_id: str, transaction_id: str) -> str:
    """The card a consume was paid with, to resolve before the refund's transaction opens."""
    return _consume(session, chain_id, transaction_id).card_id


def _lines_to_refund(session: Session, consume: Transaction, request: list[dict] | None) -> list[tuple]:
    """(line, quantity, amount) for each line refunded; the lines are locked."""
    lines = (
        session.execute(
            select(ConsumeLine).where(ConsumeLine.tx_id == consume.id).order_by(ConsumeLine.line_no).with_for_update()
        )
        .scalars()
        .all()
    )
    return [(line, qty, line_amount(line, qty)) for line, qty in wanted_lines(lines, request)]


def _landing(session: Session, consume: Transaction, money: int, credit_used: int) -> tuple[pricing.Split, int]:
    """Where the money goes back (W-6), and how much of the credit share lands as cash."""
    paid = {
        "cash": consume.paid_cash,
        "bonus": consume.paid_bonus,
        "credit": consume.paid_credit,
        "external": consume.paid_external,
    }
    back = pricing.refund_allocation(money, paid, _already_refunded(session, consume.id))
    to_credit, credit_as_cash = credit_back(back.credit, credit_used)
    # credit already paid back comes back as cash
    return pricing.Split(back.cash + credit_as_cash, back.bonus, to_credit, back.external), credit_as_cash


def _restore_lines(session: Session, tx: Transaction, consume: Transaction, amounts: list[tuple]) -> tuple[list, list]:
    """Mark the lines refunded and give package counts back: (ledger legs, (package, count) restored)."""
    consume_day = common.local_date(common.time_zone(session, tx.chain_id), consume.created_at)
    legs, restored = [], []
    for line, qty, amount in amounts:
        line.refunded_quantity += qty
        line.refunded_amount += amount
        if line.entitlement_id:
            ent, ent_legs = packages.restore(session, tx, line.entitlement_id, line.line_no, qty, amount, consume_day)
            legs += ent_legs
            restored.append((ent, qty))
    return legs, restored


def _line_views(amounts: list[tuple]) -> list[dict]:
    return [
        {
            "line_no": line.line_no,
            "quantity": qty,
            "amount": amount,
            "counts_restored": qty if line.entitlement_id else 0,
        }
        for line, qty, amount in amounts
    ]


def refund(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    """`card` is the consume's card as it is now: its status does not matter, since a
    refund of a frozen card's purchase is still owed; a closed account is refused."""
    common.require_staff(actor, chain_id)
    consume = _consume(session, chain_id, data["transaction_id"])
    common.require_store(actor, chain_id, data["store_id"])
    if data["store_id"] != consume.store_id:
        raise ValidationFailed(
            "Refund at the store where it was sold.", {"store_id": ["The consume was made at another store."]}
        )
    store_id = consume.store_id
    op = MoneyOperation.begin(
        session, events, actor, chain_id, card, key, store_id=store_id, card_statuses=None, member_id=consume.member_id
    )
    amounts = _lines_to_refund(session, consume, data.get("lines"))
    money = sum(amount for line, _, amount in amounts if not line.entitlement_id)
    landed, credit_as_cash = _landing(session, consume, money, op.member.credit_used)
    tx = op.record(
        "refund",
        amount=money,
        paid_cash=landed.cash,
        paid_bonus=landed.bonus,
        paid_credit=landed.credit,
        paid_external=landed.external,
        credit_to_cash=credit_as_cash,
        payment_method=consume.payment_method,
        ref_tx_id=consume.id,
        remark=data["reason"],
    )
    package_legs, restored = _restore_lines(session, tx, consume, amounts)
    op.book(
        {MEMBER_CASH: landed.cash, MEMBER_BONUS: landed.bonus, MEMBER_CREDIT: landed.credit},
        {(STORE_REVENUE, store_id, None): -money, (STORE_RECEIVED, store_id, consume.payment_method): landed.external},
        package_legs,
    )
    lots.restore(session, tx, consume.id, "cash", landed.cash - credit_as_cash)
    lots.restore(session, tx, consume.id, "bonus", landed.bonus)
    lots.open_lot(session, tx, "cash", credit_as_cash)
    cumulative = ledger.add_spend(session, op.member, -money)
    given = {"consume_id": consume.id, "lines": _line_views(amounts), "amount": money, "refunded": landed.as_dict()}
    answer = op.finish(
        "refunded",
        {**given, "cumulative_spend": cumulative, "spend_as_of": tx.created_at.isoformat()},
        {
            **given,
            "external_payment_method": consume.payment_method if landed.external else None,
            "reason": data["reason"],
            "cumulative_spend": cumulative,
        },
        c.Refund,
    )
    for ent, qty in restored:
        op.also("package_used", views.package_used(tx, ent, -qty))
    return answer
