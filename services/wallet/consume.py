"""Consume (W-4): price the lines, let packages pay what they cover, split the
rest over cash, bonus, credit and the counter, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.orm import Session

from contracts import wallet as c
from contracts.auth import Actor
from contracts.errors import InsufficientFunds
from services.kit.outbox import OutboxWriter
from services.wallet import common, ledger, limits, lots, packages, pricing, views
from services.wallet.models import (
    MEMBER_BONUS,
    MEMBER_CASH,
    MEMBER_CREDIT,
    STORE_RECEIVED,
    STORE_REVENUE,
    ConsumeLine,
)
from services.wallet.operation import MoneyOperation


def _refuse_short(due: int, split: pricing.Split, short: int, allow_credit: bool) -> None:
    sources = "cash, bonus and credit" if allow_credit else "cash and bonus"
    raise InsufficientFunds(
        f"The amount due is {due} fen; the card's {sources} cover {split.from_card}. "
        "Pay the rest at the counter or reduce the purchase.",
        {"amount_due": [f"Short by {short} fen."]},
    )


@dataclass(frozen=True)
class Bill:
    """What a consume costs: its lines priced at the card's tier, the packages that pay for some."""

    uses: dict
    priced: list
    gross: int
    discount: int

    @property
    def due(self) -> int:
        return self.gross - self.discount


def _bill(session: Session, chain_id: str, member: ledger.MemberAccounts, card: dict, data: dict, plate, day) -> Bill:
    lines = data["lines"]
    uses = {}
    if member.has_packages or any(line.get("entitlement_id") for line in lines):
        uses = packages.plan(session, chain_id, member.member_id, lines, plate, data["use_entitlements"], day)
    priced = pricing.price_lines(lines, card["tier"])
    money = [p for p in priced if p.line_no not in uses]  # a line a package pays for costs no money
    return Bill(uses, priced, sum(p.gross for p in money), sum(p.discount for p in money))


def _split(due: int, member: ledger.MemberAccounts, data: dict) -> pricing.Split:
    """Cash, then bonus, then credit if allowed; the rest at the counter, or refused whole."""
    available = {"cash": member.cash, "bonus": member.bonus}
    if data["allow_credit"]:
        available["credit"] = member.credit_available
    split, short = pricing.split_payment(due, available)
    if short and data.get("external_payment_method") is None:
        _refuse_short(due, split, short, data["allow_credit"])
    return pricing.Split(split.cash, split.bonus, split.credit, short)


def _line_rows(tx, bill: Bill, lines: list[dict]) -> list[ConsumeLine]:
    rows = []
    for p, line in zip(bill.priced, lines, strict=True):
        use = bill.uses.get(p.line_no)
        rows.append(
            ConsumeLine(
                tx_id=tx.id,
                line_no=p.line_no,
                chain_id=tx.chain_id,
                item_code=line["item_code"],
                name=line.get("name", ""),
                category=line["category"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                gross=0 if use else p.gross,
                discount_bp=0 if use else p.discount_bp,
                discount=0 if use else p.discount,
                net=0 if use else p.net,
                entitlement_id=use.entitlement.id if use else None,
                counts_used=use.count if use else 0,
                package_value=use.value if use else 0,
                refunded_quantity=0,
                refunded_amount=0,
            )
        )
    return rows


def consume(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    store_id = data["store_id"]
    op = MoneyOperation.begin(session, events, actor, chain_id, card, key, store_id=store_id)
    zone = op.member.time_zone
    day = common.today(zone)
    plate = packages.normalise_plate(data.get("plate"))
    bill = _bill(session, chain_id, op.member, card, data, plate, day)
    split = _split(bill.due, op.member, data)
    limits.check(session, card, op.member, split.from_card, day, zone)
    method = data.get("external_payment_method") if split.external else None
    tx = op.record(
        "consume",
        gross=bill.gross,
        discount=bill.discount,
        amount=bill.due,
        paid_cash=split.cash,
        paid_bonus=split.bonus,
        paid_credit=split.credit,
        paid_external=split.external,
        payment_method=method,
        serving_employee_id=data.get("serving_employee_id"),
        plate=plate,
        remark=data.get("remark", ""),
        # the balances after it (W-10), known now that the member's rows are locked: no UPDATE later
        cash_after=op.member.cash - split.cash,
        bonus_after=op.member.bonus - split.bonus,
        credit_used_after=op.member.credit_used + split.credit,
    )
    package_legs = packages.apply(session, tx, bill.uses, day)
    rows = _line_rows(tx, bill, data["lines"])
    lines = ConsumeLine.__table__
    session.execute(insert(lines), [{c.key: getattr(r, c.key) for c in lines.c} for r in rows])
    cumulative = op.book(
        {MEMBER_CASH: -split.cash, MEMBER_BONUS: -split.bonus, MEMBER_CREDIT: -split.credit},
        {(STORE_REVENUE, store_id, None): bill.due, (STORE_RECEIVED, store_id, method): -split.external},
        package_legs,
        spend=bill.due,
    )
    lots.spend(session, tx, "cash", split.cash)
    lots.spend(session, tx, "bonus", split.bonus)
    sale = {
        "serving_employee_id": tx.serving_employee_id,
        "lines": [views.consume_line(r) for r in rows],
        "gross": bill.gross,
        "discount": bill.discount,
        "amount_due": bill.due,
        "paid": split.as_dict(),
        "external_payment_method": tx.payment_method,
        "cumulative_spend": cumulative,
    }
    answer = op.finish(
        "consumed",
        {**sale, "tier_code": tx.tier_code or "", "spend_as_of": tx.created_at.isoformat()},
        {**sale, "plate": plate, "remark": tx.remark},
        c.Consume,
    )
    for use in bill.uses.values():
        op.also("package_used", views.package_used(tx, use.entitlement, use.count))
    return answer
