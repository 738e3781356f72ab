"""Consume (W-4): price the lines, let packages pay what they cover, split the
rest over cash, bonus, credit and the counter, all or nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

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


def _refuse_short(due: int, split: pricing.Split, short: int, allow_credit: bool) -> None:
    sources = "cash, bonus and credit" if allow_credit else "cash and bonus"
    raise InsufficientFunds(
        f"The amount due is {due} fen; the card's {sources} cover {split.from_card}. "
        "Pay the rest at the counter or reduce the purchase.",
        {"amount_due": [f"Short by {short} fen."]},
    )


def consume(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    store_id = data["store_id"]
    common.require_store(actor, chain_id, store_id)
    common.require_active(card, chain_id)
    member = ledger.lock_member(session, chain_id, card["member_id"])
    member.require_open()
    zone = common.time_zone(session, chain_id)
    day = common.today(zone)
    lines = data["lines"]
    plate = packages.normalise_plate(data.get("plate"))
    uses = packages.plan(session, chain_id, member.member_id, lines, plate, data["use_entitlements"], day)
    priced = pricing.price_lines(lines, card["tier"])
    # a line a package pays for costs no money
    money = [p for p in priced if p.line_no not in uses]
    gross, discount = sum(p.gross for p in money), sum(p.discount for p in money)
    due = gross - discount
    available = {"cash": member.cash, "bonus": member.bonus}
    if data["allow_credit"]:
        available["credit"] = member.credit_available
    split, short = pricing.split_payment(due, available)
    external_method = data.get("external_payment_method")
    if short and external_method is None:
        _refuse_short(due, split, short, data["allow_credit"])
    split = pricing.Split(split.cash, split.bonus, split.credit, short)
    limits.check(session, card, member, split.from_card, day, zone)

    tx = common.new_tx(
        session,
        "consume",
        chain_id,
        actor,
        store_id=store_id,
        card=card,
        key=key,
        gross=gross,
        discount=discount,
        amount=due,
        paid_cash=split.cash,
        paid_bonus=split.bonus,
        paid_credit=split.credit,
        paid_external=split.external,
        payment_method=external_method if split.external else None,
        serving_employee_id=data.get("serving_employee_id"),
        plate=plate,
        remark=data.get("remark", ""),
    )
    legs = packages.apply(session, tx, uses, day)
    rows = []
    for p, line in zip(priced, lines, strict=True):
        use = uses.get(p.line_no)
        rows.append(
            ConsumeLine(
                tx_id=tx.id,
                line_no=p.line_no,
                chain_id=chain_id,
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
    session.add_all(rows)
    keys = [(STORE_REVENUE, store_id, None)] + ([(STORE_RECEIVED, store_id, external_method)] if split.external else [])
    books = ledger.store_accounts(session, chain_id, keys)
    legs += [
        (member.ids[MEMBER_CASH], -split.cash),
        (member.ids[MEMBER_BONUS], -split.bonus),
        (member.ids[MEMBER_CREDIT], -split.credit),
        (books[(STORE_REVENUE, store_id, None)], due),
    ]
    if split.external:
        legs.append((books[(STORE_RECEIVED, store_id, external_method)], -split.external))
    member.apply(ledger.post(session, tx.id, legs))
    lots.spend(session, tx, "cash", split.cash)
    lots.spend(session, tx, "bonus", split.bonus)
    cumulative = ledger.add_spend(session, member, due)
    common.snapshot(tx, member)
    session.flush()

    line_views = [views.consume_line(r) for r in rows]
    answer = {
        **common.head(tx, card),
        "serving_employee_id": tx.serving_employee_id,
        "lines": line_views,
        "gross": gross,
        "discount": discount,
        "amount_due": due,
        "paid": split.as_dict(),
        "external_payment_method": tx.payment_method,
        "plate": plate,
        "remark": tx.remark,
        "balances": member.balances(),
        "cumulative_spend": cumulative,
    }
    events.add(
        session,
        "consumed",
        {
            **common.event_base(tx, member),
            "serving_employee_id": tx.serving_employee_id,
            "tier_code": tx.tier_code or "",
            "lines": line_views,
            "gross": gross,
            "discount": discount,
            "amount_due": due,
            "paid": split.as_dict(),
            "external_payment_method": tx.payment_method,
            "cumulative_spend": cumulative,
            "spend_as_of": tx.created_at.isoformat(),
        },
        chain_id=chain_id,
    )
    for use in uses.values():
        events.add(session, "package_used", views.package_used(tx, use.entitlement, use.count), chain_id=chain_id)
    return answer
