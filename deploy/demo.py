"""Seed a demo chain: `make demo` (or `python -m deploy.demo`).

HQ, two direct stores and a franchisee with a franchise store, a manager and a
cashier per store, categories, items and payment methods. Written through the
org service's own domain functions, so the same rules and events apply as over
the API; the events wait in the outbox until the services run. Safe to run
again: an existing demo chain is left as it is.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import services  # noqa: F401 - quiets eventlet's import-time notice
from contracts.auth import Actor
from services.kit import config
from services.kit.db import make_engine
from services.kit.outbox import OutboxWriter
from services.org import auth, chains, dictionaries, staff, stores
from services.org.models import Chain, Staff, kit

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


def main() -> None:
    settings = config.load()
    engine = make_engine(settings.database_url("org"), pool_size=1, application_name="huiyuan-demo")
    try:
        with Session(engine) as session, session.begin():
            created = seed(session)
    finally:
        engine.dispose()
    print("demo chain created" if created else "demo chain already there")
    print(f"sign in at chain '{CODE}' with any of these, password '{PASSWORD}':")
    print("  demo.hq, demo.franchisee, demo.{north,south,east}.manager, demo.{north,south,east}.cashier")
    print(f'  e.g. {{"chain": "{CODE}", "username": "demo.hq", "password": "{PASSWORD}"}}')


if __name__ == "__main__":
    main()
