"""Seed a demo chain: `make demo` (or `python -m deploy.demo`).

HQ, two direct stores and a franchisee with a franchise store, a manager and a
cashier per store, categories, items and payment methods, and the chain's points
earning rules with a double-points promotion at weekends, and a few gifts to redeem for
points. Written through the org, points and gift services' own domain functions, so the
same rules and events apply as over the API; the events wait in the outbox until the
services run. Safe to run again: an existing demo chain is left as it is.
"""

from __future__ import annotations

import os
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

import services  # noqa: F401 - quiets eventlet's import-time notice
from contracts.auth import Actor
from deploy import demo_counter
from services.gift import catalogue as gift_catalogue
from services.gift.models import Gift
from services.gift.models import kit as gift_kit
from services.kit import config
from services.kit.db import make_engine
from services.kit.outbox import OutboxWriter
from services.org import auth, chains, dictionaries, staff, stores
from services.org.models import Chain, Staff, Store, kit
from services.points import settings as points_settings
from services.points.models import Promotion, Rules

CODE = "DEMO"
PASSWORD = "demo-password-1"
CATEGORIES = (("wash", "洗车 Car wash"), ("care", "美容 Detailing"), ("repair", "维修 Repair"), ("goods", "商品 Goods"))
ITEMS = (
    ("W01", "标准洗车 Standard wash", "wash", 12000),
    ("W02", "精洗 Premium wash", "wash", 25000),
    ("C01", "打蜡 Waxing", "care", 38000),
    ("R01", "机油更换 Oil change", "repair", 45000),
    ("G01", "玻璃水 Washer fluid", "goods", 3500),
)


def actor_of(session: Session, staff_row: Staff) -> Actor:
    return Actor.from_dict(auth.principal(session, staff_row))


def _staff(session: Session, chain_id: str, username: str) -> Staff:
    # usernames are unique within a chain, not across chains
    return session.scalars(select(Staff).where(Staff.chain_id == chain_id, Staff.username == username)).one()


def seed(session: Session) -> bool:
    """Create the demo chain; False if it is already there."""
    if session.scalar(select(Chain.id).where(Chain.code == CODE)):
        return False
    events = OutboxWriter(kit.outbox, "org")
    admin = session.scalars(select(Staff).where(Staff.role == "platform_admin").limit(1)).one()
    chain = chains.create(
        session,
        events,
        actor_of(session, admin),
        {
            "code": CODE,
            "name": "闪亮洗车 Shiny Car Wash",
            "requires_store_approval": False,
            "settings": {"receipt_footer": "谢谢惠顾 Thank you", "sms_signature": "【闪亮洗车】"},
            "hq_admin": {"username": "demo.hq", "display_name": "总部 HQ", "password": PASSWORD},
        },
    )
    chain_id = chain["id"]
    hq = actor_of(session, _staff(session, chain_id, "demo.hq"))
    for code, name in CATEGORIES:
        dictionaries.create(session, events, hq, chain_id, "categories", {"code": code, "name": name})
    for code, name, category, price in ITEMS:
        dictionaries.create(
            session,
            events,
            hq,
            chain_id,
            "items",
            {
                "code": code,
                "name": name,
                "kind": "goods" if category == "goods" else "service",
                "category_code": category,
                "price": price,
            },
        )
    person = {"password": PASSWORD, "level": ""}
    store_ids = {}
    for code, name in (("north", "北门店 North"), ("south", "南门店 South")):
        store_ids[code] = stores.create(
            session,
            events,
            hq,
            chain_id,
            {"code": code, "name": name, "kind": "direct", "franchisee_id": None, "address": "", "phone": ""},
        )["id"]
    staff.create(
        session,
        events,
        hq,
        chain_id,
        {**person, "username": "demo.franchisee", "display_name": "加盟商 Franchisee", "role": "franchisee"},
    )
    franchisee = actor_of(session, _staff(session, chain_id, "demo.franchisee"))
    store_ids["east"] = stores.create(
        session,
        events,
        franchisee,
        chain_id,
        {
            "code": "east",
            "name": "东门加盟店 East",
            "kind": "franchise",
            "franchisee_id": None,
            "address": "",
            "phone": "",
        },
    )["id"]
    for code, store_id in store_ids.items():
        for role in ("store_manager", "cashier"):
            staff.create(
                session,
                events,
                hq,
                chain_id,
                {
                    **person,
                    "username": f"demo.{code}.{role.split('_')[-1]}",
                    "display_name": f"{code} {role}",
                    "role": role,
                    "store_id": store_id,
                },
            )
    return True


# P-2 worked example: 1 point per yuan, Silver x1.2, Gold x1.5, spend levels of the year,
# points expire after 24 months, 30 days' notice; 200 points to whoever refers a new member
POINTS_RULES = {
    "base_rate": "1",
    "category_rates": [{"category": "goods", "rate": "0.5"}],
    "tier_multipliers": [
        {"tier_code": "SILVER", "multiplier": "1.2"},
        {"tier_code": "GOLD", "multiplier": "1.5"},
        {"tier_code": "VIP", "multiplier": "2"},
    ],
    "spend_levels": [
        {"from_spend": 100000, "multiplier": "1"},
        {"from_spend": 200000, "multiplier": "1.5"},
        {"from_spend": 500000, "multiplier": "2"},
    ],
    "bonus_earns": False,
    "expiry_months": 24,
    "reset_month": None,
    "reset_day": None,
    "remind_days": 30,
    "referral_points": 200,
}


def seed_points(session: Session, chain_id: str) -> bool:
    """The demo chain's earning rules and a weekend double-points promotion on washes; False
    if they are there already."""
    if session.get(Rules, chain_id) is not None:
        return False
    points_settings.set_rules(session, chain_id, POINTS_RULES)
    today = date.today()
    promotion = {
        "name": "周末双倍积分 Double points at weekends",
        "starts_on": today,
        "ends_on": date(today.year + 1, 12, 31),
        "store_ids": [],
        "categories": ["wash"],
        "item_codes": [],
        "weekdays": [6, 7],
        "multiplier": "2",
        "extra_points": None,
    }
    if not session.scalar(select(Promotion.id).where(Promotion.chain_id == chain_id)):
        points_settings.create_promotion(session, chain_id, promotion)
    return True


# G-1: a few gifts; the umbrella is stocked per store, the rest for the whole chain
GIFTS = (
    {"name": "雨伞 Umbrella", "market_price": 5900, "points_cost": 600, "stock_mode": "store", "stock": 0},
    {"name": "洗车券 Free wash voucher", "market_price": 12000, "points_cost": 1000, "stock": 200},
    {"name": "车载香薰 Car fragrance", "market_price": 8800, "points_cost": 800, "stock": 30, "limit_quantity": 1},
)


def seed_gifts(session: Session, chain_id: str, store_ids: list[str]) -> bool:
    """The demo chain's gifts (ten umbrellas in each store); False if it has gifts already."""
    if session.scalar(select(Gift.id).where(Gift.chain_id == chain_id).limit(1)) is not None:
        return False
    events = OutboxWriter(gift_kit.outbox, "gift")
    for gift in GIFTS:
        data = {
            "description": "",
            "picture_url": None,
            "stock_mode": "chain",
            "store_ids": [],
            "valid_from": None,
            "valid_to": None,
            "limit_quantity": None,
            "limit_period": None,
            "low_stock_threshold": 5,
            "active": True,
            **gift,
        }
        if data["limit_quantity"] is not None:
            data["limit_period"] = "year"
        created = gift_catalogue.create(session, chain_id, data)
        if data["stock_mode"] == "store":
            for store_id in store_ids:
                change = {"store_id": store_id, "change": 10, "reason": "demo"}
                gift_catalogue.change_stock(session, events, chain_id, created["id"], change)
    return True


def main() -> None:
    settings = config.load()
    engine = make_engine(settings.database_url("org"), pool_size=1, application_name="huiyuan-demo")
    try:
        with Session(engine) as session, session.begin():
            created = seed(session)
            chain_id = session.scalar(select(Chain.id).where(Chain.code == CODE))
            store_ids = list(session.scalars(select(Store.id).where(Store.chain_id == chain_id).order_by(Store.code)))
    finally:
        engine.dispose()
    engine = make_engine(settings.database_url("points"), pool_size=1, application_name="huiyuan-demo")
    try:
        with Session(engine) as session, session.begin():
            seed_points(session, chain_id)
    finally:
        engine.dispose()
    engine = make_engine(settings.database_url("gift"), pool_size=1, application_name="huiyuan-demo")
    try:
        with Session(engine) as session, session.begin():
            seed_gifts(session, chain_id, store_ids)
    finally:
        engine.dispose()
    print("demo chain created" if created else "demo chain already there")
    print(f"sign in at chain '{CODE}' with any of these, password '{PASSWORD}':")
    print("  demo.hq, demo.franchisee, demo.{north,south,east}.manager, demo.{north,south,east}.cashier")
    print(f'  e.g. {{"chain": "{CODE}", "username": "demo.hq", "password": "{PASSWORD}"}}')
    counter()


def counter() -> None:
    """Members with cards and money, through the running system's API (deploy/demo_counter.py)."""
    base = demo_counter.gateway_url(dict(os.environ))
    if not demo_counter.gateway_answers(base):
        print(f"no system answers at {base}: start `make run`, then `make demo` again for the demo members")
        return
    for card in demo_counter.seed_counter(base, PASSWORD):
        print(f"  member card {card['card_no']} ({card['tier_code']})")
    print(f"console: open {base}/ and sign in as demo.north.cashier; find a member by 5678 (phone's last four)")


if __name__ == "__main__":
    main()
