"""Packages and passes (W-5): sold for money, used by count instead of money.

A package's price is deferred revenue of the store that sold it; each use
recognises its share at the store where the service was done, so the last
use takes exactly what is left. A pass is recognised when sold: it has no
count to share its price over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from contracts import wallet as c
from contracts.auth import Actor
from contracts.errors import Forbidden, InsufficientFunds, InvalidState, NotFound, ValidationFailed
from contracts.wallet import CARD
from services.kit.outbox import OutboxWriter
from services.wallet import common, ledger, limits, lots, pricing, views
from services.wallet.models import (
    MEMBER_BONUS,
    MEMBER_CASH,
    PACKAGE_DEFERRED,
    STORE_RECEIVED,
    STORE_REVENUE,
    Entitlement,
    EntitlementUse,
    Transaction,
)
from services.wallet.operation import MoneyOperation


def normalise_plate(plate: str | None) -> str | None:
    return "".join(plate.split()).upper() if plate else None


# ---- selling -------------------------------------------------------------------------


def _payment(session: Session, card: dict, member, data: dict, today, zone: str) -> pricing.Split:
    """From the card's cash then bonus (within its limits), or all at the counter."""
    price = data["price"]
    if data["payment_method"] != CARD:
        return pricing.Split(external=price)
    split, short = pricing.split_payment(price, {"cash": member.cash, "bonus": member.bonus}, ("cash", "bonus"))
    if short:
        raise InsufficientFunds(
            f"The card has {member.cash + member.bonus} fen; the package costs {price}.",
            {"price": [f"Short by {short} fen."]},
        )
    limits.check(session, card, member, split.from_card, today, zone)
    return split


def sell(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    store_id, price, method = data["store_id"], data["price"], data["payment_method"]
    op = MoneyOperation.begin(session, events, actor, chain_id, card, key, store_id=store_id)
    zone = op.member.time_zone
    today = common.today(zone)
    if data.get("valid_until") is not None and data["valid_until"] < today:
        # nobody could ever use it: selling it would only take the money
        raise ValidationFailed(
            "The package would be expired before it is sold.",
            {"valid_until": [f"Must be today ({today.isoformat()}) or later."]},
        )
    split = _payment(session, card, op.member, data, today, zone)
    is_package = data["kind"] == "package"
    tx = op.record(
        "package_sale",
        gross=price,
        amount=price,
        paid_cash=split.cash,
        paid_bonus=split.bonus,
        paid_external=split.external,
        payment_method=method,
        remark=data["name"],
    )
    entitlement = Entitlement(
        chain_id=chain_id,
        member_id=card["member_id"],
        kind=data["kind"],
        item_code=data["item_code"],
        name=data["name"],
        total_count=data.get("count"),
        remaining_count=data.get("count"),
        price=price,
        remaining_value=price if is_package else 0,
        valid_from=data.get("valid_from") or today,
        valid_until=data.get("valid_until"),
        daily_limit=data.get("daily_limit"),
        plates=sorted({normalise_plate(p) for p in data.get("plates") or []}),
        store_id=store_id,
        sale_tx_id=tx.id,
    )
    session.add(entitlement)
    session.flush()
    # a package is owed to the member until used; a pass is earned when sold
    book = (PACKAGE_DEFERRED if is_package else STORE_REVENUE, store_id, None)
    op.book(
        {MEMBER_CASH: -split.cash, MEMBER_BONUS: -split.bonus},
        {book: price, (STORE_RECEIVED, store_id, method): -split.external},
    )
    lots.spend(session, tx, "cash", split.cash)
    lots.spend(session, tx, "bonus", split.bonus)
    sold = {"entitlement": views.entitlement(entitlement, today), "payment_method": method, "paid": split.as_dict()}
    return op.finish("package_sold", sold, sold, c.PackageSale)


def _refundable(session: Session, actor: Actor, chain_id: str, member_id: str, data: dict) -> Entitlement:
    """The package to pay back, locked: this member's, a package (not a pass), sold at the
    caller's store (HQ: any), with value left."""
    ent = session.get(Entitlement, data["entitlement_id"], with_for_update=True)
    if ent is None or ent.chain_id != chain_id or ent.member_id != member_id:
        raise NotFound("No such package on this card.", {"entitlement_id": ["Not a package of this member."]})
    if ent.kind != "package":
        raise InvalidState("A pass is earned when it is sold; it is not refunded.", {"entitlement_id": ["A pass."]})
    if not actor.sees_whole_chain and data["store_id"] != ent.store_id:
        raise Forbidden("A package is refunded at the store that sold it.", {"store_id": ["Not the selling store."]})
    if ent.refund_tx_id is not None or ent.remaining_value == 0:
        state = "already refunded" if ent.refund_tx_id else "used up"
        raise InvalidState(f"The package is {state}: nothing is left to pay back.", {"entitlement_id": [state]})
    return ent


def refund_unused(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card: dict, data: dict, key: str | None = None
) -> dict:
    """Pay back what is left of a package (its value not yet used), to where the
    sale's money came from, and close it. A pass is earned when sold: not refunded."""
    store_id = data["store_id"]
    op = MoneyOperation.begin(session, events, actor, chain_id, card, key, store_id=store_id, card_statuses=())
    ent = _refundable(session, actor, chain_id, op.member.member_id, data)
    sale = session.get(Transaction, ent.sale_tx_id)
    amount = ent.remaining_value
    paid = {"cash": sale.paid_cash, "bonus": sale.paid_bonus, "external": sale.paid_external}
    back = pricing.refund_allocation(amount, paid, {})
    tx = op.record(
        "package_refund",
        amount=amount,
        paid_cash=back.cash,
        paid_bonus=back.bonus,
        paid_external=back.external,
        payment_method=sale.payment_method if back.external else None,
        ref_tx_id=sale.id,
        remark=data["reason"],
    )
    op.book(
        {MEMBER_CASH: back.cash, MEMBER_BONUS: back.bonus},
        {
            (PACKAGE_DEFERRED, ent.store_id, None): -amount,
            (STORE_RECEIVED, store_id, sale.payment_method): back.external,
        },
    )
    # the cash goes back to the lots the sale took it from, so settlement between stores stays right
    lots.restore(session, tx, sale.id, "cash", back.cash)
    lots.restore(session, tx, sale.id, "bonus", back.bonus)
    ent.remaining_count, ent.remaining_value, ent.refund_tx_id = 0, 0, tx.id
    session.flush()
    refunded = {"amount": amount, "refunded": back.as_dict()}
    return op.finish(
        "package_refunded",
        {"entitlement_id": ent.id, **refunded},
        {"entitlement": views.entitlement(ent), **refunded, "external_payment_method": tx.payment_method},
        c.PackageRefund,
    )


def listing(session: Session, chain_id: str, member_id: str, include_inactive: bool, zone: str) -> dict:
    stmt = select(Entitlement).where(Entitlement.chain_id == chain_id, Entitlement.member_id == member_id)
    rows = session.execute(stmt.order_by(Entitlement.created_at, Entitlement.id)).scalars().all()
    day = common.today(zone)
    items = [views.entitlement(e, day) for e in rows]
    if not include_inactive:
        items = [i for i in items if i["status"] == "active"]
    return {"items": items}


# ---- using, on a consume ------------------------------------------------------------------


def unusable(
    ent: Entitlement,
    item_code: str,
    quantity: int,
    plate: str | None,
    day: date,
    used_today: int,
    remaining: int | None,
) -> str | None:
    """Why `ent` cannot pay for `quantity` of `item_code` today, or None if it can."""
    if ent.item_code != item_code:
        return f"It is for {ent.item_code}, not {item_code}."
    if day < ent.valid_from:
        return f"Valid from {ent.valid_from.isoformat()}."
    if ent.valid_until is not None and day > ent.valid_until:
        return f"Expired on {ent.valid_until.isoformat()}."
    if ent.plates and plate not in ent.plates:
        return f"Only for plates {', '.join(ent.plates)}."
    if ent.kind == "package" and (remaining or 0) < quantity:
        return f"Only {remaining or 0} uses left."
    if ent.kind == "pass" and ent.daily_limit is not None and used_today + quantity > ent.daily_limit:
        return f"Daily limit of {ent.daily_limit} reached."
    return None


@dataclass
class Use:
    line_no: int
    entitlement: Entitlement
    count: int
    value: int = 0


def _used_on(session: Session, entitlement_ids: list[str], day: date) -> dict[str, int]:
    """Uses of each of these passes on `day` (their daily limits, W-5)."""
    return dict(
        session.execute(
            select(EntitlementUse.entitlement_id, func.sum(EntitlementUse.count))
            .where(EntitlementUse.entitlement_id.in_(entitlement_ids), EntitlementUse.used_on == day)
            .group_by(EntitlementUse.entitlement_id)
        ).all()
    )


def plan(
    session: Session, chain_id: str, member_id: str, lines: list[dict], plate: str | None, auto: bool, day: date
) -> dict[int, Use]:
    """Which consume lines a package or pass pays for (by line number)."""
    explicit = {line["entitlement_id"] for line in lines if line.get("entitlement_id")}
    codes = {line["item_code"] for line in lines} if auto else set()
    if not explicit and not codes:
        return {}
    candidates = (
        session.execute(
            select(Entitlement)
            .where(
                Entitlement.chain_id == chain_id,
                Entitlement.member_id == member_id,
                or_(Entitlement.id.in_(explicit), Entitlement.item_code.in_(codes)),
            )
            .order_by(Entitlement.id)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    if not candidates:
        if explicit:
            raise ValidationFailed(fields={"lines": ["A package named on a line is not this member's."]})
        return {}
    by_id = {e.id: e for e in candidates}
    used_today = _used_on(session, [e.id for e in candidates if e.daily_limit], day)
    remaining = {e.id: e.remaining_count for e in candidates}
    # passes first (they cost nothing more), then the package that expires soonest
    order = sorted(candidates, key=lambda e: (e.kind != "pass", e.valid_until or date.max, e.created_at, e.id))
    uses: dict[int, Use] = {}
    for line_no, line in enumerate(lines, start=1):
        qty = line["quantity"]

        def why(e: Entitlement, code: str = line["item_code"], qty: int = qty) -> str | None:
            return unusable(e, code, qty, plate, day, int(used_today.get(e.id, 0)), remaining[e.id])

        if line.get("entitlement_id"):
            ent = by_id.get(line["entitlement_id"])
            reason = "Not a package of this member." if ent is None else why(ent)
            if reason:
                raise ValidationFailed(fields={"lines": {str(line_no - 1): {"entitlement_id": [reason]}}})
        elif auto:
            ent = next((e for e in order if why(e) is None), None)
            if ent is None:
                continue
        else:
            continue
        if ent.kind == "package":
            remaining[ent.id] -= qty
        used_today[ent.id] = int(used_today.get(ent.id, 0)) + qty
        uses[line_no] = Use(line_no, ent, qty)
    return uses


def apply(session: Session, tx: Transaction, uses: dict[int, Use], day: date) -> list[tuple[int, int]]:
    """Take the counts and recognise each package's share; returns the ledger legs."""
    legs: list[tuple[int, int]] = []
    if not uses:
        return legs
    revenue = (STORE_REVENUE, tx.store_id, None)
    books = ledger.store_accounts(
        session, tx.chain_id, [(PACKAGE_DEFERRED, u.entitlement.store_id, None) for u in uses.values()] + [revenue]
    )
    for use in uses.values():
        ent = use.entitlement
        if ent.kind == "package":
            use.value = pricing.share(ent.remaining_value, use.count, ent.remaining_count)
            ent.remaining_count -= use.count
            ent.remaining_value -= use.value
            legs += [(books[(PACKAGE_DEFERRED, ent.store_id, None)], -use.value), (books[revenue], use.value)]
        session.add(
            EntitlementUse(
                chain_id=tx.chain_id,
                entitlement_id=ent.id,
                tx_id=tx.id,
                line_no=use.line_no,
                count=use.count,
                value=use.value,
                used_on=day,
            )
        )
    session.flush()
    return legs


def restore(
    session: Session, tx: Transaction, entitlement_id: str, line_no: int, count: int, value: int, day: date
) -> tuple[Entitlement, list[tuple[int, int]]]:
    """A refund gives back `count` uses and the `value` they recognised."""
    ent = session.get(Entitlement, entitlement_id, with_for_update=True)
    if ent.kind == "package":
        ent.remaining_count += count
        ent.remaining_value += value
    session.add(
        EntitlementUse(
            chain_id=tx.chain_id,
            entitlement_id=ent.id,
            tx_id=tx.id,
            line_no=line_no,
            count=-count,
            value=-value,
            used_on=day,
        )
    )
    legs: list[tuple[int, int]] = []
    if value:
        deferred, revenue = (PACKAGE_DEFERRED, ent.store_id, None), (STORE_REVENUE, tx.store_id, None)
        books = ledger.store_accounts(session, tx.chain_id, [deferred, revenue])
        legs = [(books[deferred], value), (books[revenue], -value)]
    return ent, legs
