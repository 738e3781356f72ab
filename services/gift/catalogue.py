"""The chain's gift catalogue (G-1), managed by HQ: gifts, their stock, and the chain's
redemption settings. A gift once redeemed is retired, never deleted: the record names it."""

from __future__ import annotations

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from contracts.errors import InvalidState, NotFound, OutOfStock, ValidationFailed
from services.gift import rules
from services.gift.models import ChainSettings, Gift, Redemption, Stock
from services.kit.db import new_id
from services.kit.outbox import OutboxWriter
from services.kit.paging import keyset_page

EDITABLE = (
    "name",
    "description",
    "picture_url",
    "market_price",
    "points_cost",
    "store_ids",
    "valid_from",
    "valid_to",
    "limit_quantity",
    "limit_period",
    "low_stock_threshold",
    "active",
)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def view(gift: Gift, stocks: list[Stock]) -> dict:
    return {
        "id": gift.id,
        "chain_id": gift.chain_id,
        "name": gift.name,
        "description": gift.description,
        "picture_url": gift.picture_url,
        "market_price": gift.market_price,
        "points_cost": gift.points_cost,
        "stock_mode": gift.stock_mode,
        "stock": sum(s.quantity for s in stocks),
        "stocks": [
            {"store_id": None if s.place == rules.CHAIN_WIDE else s.place, "quantity": s.quantity}
            for s in sorted(stocks, key=lambda s: s.place)
        ],
        "store_ids": list(gift.store_ids),
        "valid_from": _iso(gift.valid_from),
        "valid_to": _iso(gift.valid_to),
        "limit_quantity": gift.limit_quantity,
        "limit_period": gift.limit_period,
        "low_stock_threshold": gift.low_stock_threshold,
        "active": gift.active,
        "retired": gift.retired,
        "created_at": gift.created_at.isoformat(),
        "updated_at": gift.updated_at.isoformat(),
    }


def _stocks(session: Session, gift_ids: list[str]) -> dict[str, list[Stock]]:
    found: dict[str, list[Stock]] = {g: [] for g in gift_ids}
    if gift_ids:
        for stock in session.scalars(select(Stock).where(Stock.gift_id.in_(gift_ids))):
            found[stock.gift_id].append(stock)
    return found


def gift_view(session: Session, gift: Gift) -> dict:
    session.flush()
    session.refresh(gift)
    return view(gift, _stocks(session, [gift.id])[gift.id])


def get_gift(session: Session, chain_id: str, gift_id: str) -> Gift:
    gift = session.get(Gift, gift_id)
    if gift is None or gift.chain_id != chain_id:
        raise NotFound("No such gift in this chain.", {"gift_id": ["No such gift."]})
    return gift


def create(session: Session, chain_id: str, data: dict) -> dict:
    fields = {k: data[k] for k in EDITABLE}
    gift = Gift(id=new_id(), chain_id=chain_id, stock_mode=data["stock_mode"], retired=False, **fields)
    session.add(gift)
    if data["stock_mode"] == "chain":
        session.add(Stock(gift_id=gift.id, place=rules.CHAIN_WIDE, chain_id=chain_id, quantity=data["stock"]))
    return gift_view(session, gift)


def update(session: Session, chain_id: str, gift_id: str, data: dict) -> dict:
    gift = session.get(Gift, gift_id, with_for_update=True)
    if gift is None or gift.chain_id != chain_id:
        raise NotFound("No such gift in this chain.", {"gift_id": ["No such gift."]})
    if gift.retired:
        raise InvalidState("A retired gift is kept as it was.", {"gift_id": ["The gift is retired."]})
    merged = {k: data.get(k, getattr(gift, k)) for k in EDITABLE}
    if (merged["limit_quantity"] is None) != (merged["limit_period"] is None):
        raise ValidationFailed(fields={"limit_period": ["A per-member limit needs both its quantity and period."]})
    if merged["valid_from"] and merged["valid_to"] and merged["valid_to"] < merged["valid_from"]:
        raise ValidationFailed(fields={"valid_to": ["Must not be before `valid_from`."]})
    for key, value in data.items():
        setattr(gift, key, value)
    return gift_view(session, gift)


def remove(session: Session, chain_id: str, gift_id: str) -> dict:
    """Delete a gift never redeemed; retire one that was (its redemptions name it)."""
    gift = get_gift(session, chain_id, gift_id)
    redeemed = session.scalar(select(exists().where(Redemption.gift_id == gift_id)))
    if redeemed:
        gift.active, gift.retired = False, True
        return {"id": gift_id, "outcome": "retired"}
    session.execute(delete(Stock).where(Stock.gift_id == gift_id))
    session.delete(gift)
    return {"id": gift_id, "outcome": "deleted"}


def listing(session: Session, chain_id: str, query: dict, today) -> dict:
    """HQ sees the catalogue; with `store_id`, what that store offers today (active, in its
    dates, offered there)."""
    stmt = select(Gift).where(Gift.chain_id == chain_id)
    store_id = query.get("store_id")
    if not query["include_inactive"] or store_id:
        stmt = stmt.where(Gift.active.is_(True), Gift.retired.is_(False))
    if store_id:
        stmt = stmt.where(
            (Gift.valid_from.is_(None) | (Gift.valid_from <= today)),
            (Gift.valid_to.is_(None) | (Gift.valid_to >= today)),
            (func.jsonb_array_length(Gift.store_ids) == 0) | Gift.store_ids.contains([store_id]),
        )
    rows, cursor = keyset_page(session, stmt, [Gift.created_at, Gift.id], limit=query["limit"], after=query["after"])
    stocks = _stocks(session, [g.id for g in rows])
    items = [view(g, stocks[g.id]) for g in rows]
    if store_id:  # a store sees the stock it can hand out: its own, or the chain's
        for item in items:
            mine = [s for s in item["stocks"] if s["store_id"] in (None, store_id)]
            item["stocks"], item["stock"] = mine, sum(s["quantity"] for s in mine)
    return {"items": items, "next_cursor": cursor}


def change_stock(session: Session, events: OutboxWriter, chain_id: str, gift_id: str, data: dict) -> dict:
    """Add or take out stock at one place; never below zero (409 naming `change`)."""
    gift = get_gift(session, chain_id, gift_id)
    if gift.retired:
        raise InvalidState("A retired gift has no stock to manage.", {"gift_id": ["The gift is retired."]})
    place = rules.check_stock_place(gift.stock_mode, data["store_id"])
    if place != rules.CHAIN_WIDE and gift.store_ids and place not in gift.store_ids:
        raise ValidationFailed(fields={"store_id": ["The gift is not offered at this store."]})
    stock = session.get(Stock, (gift_id, place), with_for_update=True, populate_existing=True)
    if stock is None:
        stock = Stock(gift_id=gift_id, place=place, chain_id=chain_id, quantity=0, low_notified=False)
        session.add(stock)
    after = stock.quantity + data["change"]
    if after < 0:
        raise OutOfStock(
            f"Only {stock.quantity} in stock.", {"change": [f"Only {stock.quantity} in stock; cannot take out more."]}
        )
    stock.quantity = after
    note_stock(session, events, gift, stock)
    return gift_view(session, gift)


def note_stock(session: Session, events: OutboxWriter, gift: Gift, stock: Stock) -> None:
    """After stock moved: `gift.stock_low` once per dip under the threshold; above it again,
    the next dip is told again."""
    if rules.stock_low_now(stock.quantity, gift.low_stock_threshold, stock.low_notified):
        stock.low_notified = True
        data = {
            "chain_id": gift.chain_id,
            "gift_id": gift.id,
            "gift_name": gift.name,
            "store_id": None if stock.place == rules.CHAIN_WIDE else stock.place,
            "quantity": stock.quantity,
            "threshold": gift.low_stock_threshold,
        }
        events.add(session, "stock_low", data, chain_id=gift.chain_id)
    elif stock.quantity > gift.low_stock_threshold and stock.low_notified:
        stock.low_notified = False


def settings_view(session: Session, chain_id: str) -> dict:
    stored = session.get(ChainSettings, chain_id)
    return {"chain_id": chain_id, "cancel_hours": stored.cancel_hours if stored else 72}


def set_settings(session: Session, chain_id: str, data: dict) -> dict:
    stored = session.get(ChainSettings, chain_id, with_for_update=True)
    if stored is None:
        session.add(ChainSettings(chain_id=chain_id, cancel_hours=data["cancel_hours"]))
    else:
        stored.cancel_hours = data["cancel_hours"]
    session.flush()
    return settings_view(session, chain_id)
