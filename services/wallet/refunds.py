"""Refunds (W-6): whole or per line, money back where it came from, package counts restored."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
    member = ledger.lock_member(session, chain_id, consume.member_id)
    member.require_open()
    lines = (
        session.execute(
            select(ConsumeLine).where(ConsumeLine.tx_id == consume.id).order_by(ConsumeLine.line_no).with_for_update()
        )
        .scalars()
        .all()
    )
    chosen = wanted_lines(lines, data.get("lines"))
    amounts = [(line, qty, line_amount(line, qty)) for line, qty in chosen]
    money = sum(amount for line, _, amount in amounts if not line.entitlement_id)
    paid = {
        "cash": consume.paid_cash,
        "bonus": consume.paid_bonus,
        "credit": consume.paid_credit,
        "external": consume.paid_external,
    }
    back = pricing.refund_allocation(money, paid, _already_refunded(session, consume.id))
    to_credit, credit_as_cash = credit_back(back.credit, member.credit_used)
    # where the money lands: credit already paid back comes back as cash
    landed = pricing.Split(back.cash + credit_as_cash, back.bonus, to_credit, back.external)

    store_id = consume.store_id
    tx = common.new_tx(
        session,
        "refund",
        chain_id,
        actor,
        store_id=store_id,
        card=card,
        key=key,
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
    zone = common.time_zone(session, chain_id)
    consume_day = common.local_date(zone, consume.created_at)
    legs: list[tuple[int, int]] = []
    restored = []
    for line, qty, amount in amounts:
        line.refunded_quantity += qty
        line.refunded_amount += amount
        if line.entitlement_id:
            ent, ent_legs = packages.restore(session, tx, line.entitlement_id, line.line_no, qty, amount, consume_day)
            legs += ent_legs
            restored.append((ent, qty))
    revenue, counter = (STORE_REVENUE, store_id, None), (STORE_RECEIVED, store_id, consume.payment_method)
    books = ledger.store_accounts(session, chain_id, [revenue, counter] if back.external else [revenue])
    legs += [
        (member.ids[MEMBER_CASH], back.cash + credit_as_cash),
        (member.ids[MEMBER_BONUS], back.bonus),
        (member.ids[MEMBER_CREDIT], to_credit),
        (books[revenue], -money),
    ]
    if back.external:
        legs.append((books[counter], back.external))
    member.apply(ledger.post(session, tx.id, legs))
    lots.restore(session, tx, consume.id, "cash", back.cash)
    lots.restore(session, tx, consume.id, "bonus", back.bonus)
    lots.open_lot(session, tx, "cash", credit_as_cash)
    cumulative = ledger.add_spend(session, member, -money)
    common.snapshot(tx, member)
    session.flush()

    line_views = [
        {
            "line_no": line.line_no,
            "quantity": qty,
            "amount": amount,
            "counts_restored": qty if line.entitlement_id else 0,
        }
        for line, qty, amount in amounts
    ]
    answer = {
        **common.head(tx, card),
        "consume_id": consume.id,
        "lines": line_views,
        "amount": money,
        "refunded": landed.as_dict(),
        "external_payment_method": consume.payment_method if back.external else None,
        "reason": data["reason"],
        "balances": member.balances(),
        "cumulative_spend": cumulative,
    }
    events.add(
        session,
        "refunded",
        {
            **common.event_base(tx, member),
            "consume_id": consume.id,
            "lines": line_views,
            "amount": money,
            "refunded": landed.as_dict(),
            "cumulative_spend": cumulative,
            "spend_as_of": tx.created_at.isoformat(),
        },
        chain_id=chain_id,
    )
    for ent, qty in restored:
        events.add(session, "package_used", views.package_used(tx, ent, -qty), chain_id=chain_id)
    return answer
