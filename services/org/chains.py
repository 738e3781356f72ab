"""Chains (tenants) and their settings (O-1, O-2, S-1)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.auth import HQ_ADMIN, PLATFORM_ADMIN, Actor
from contracts.errors import AlreadyExists, Forbidden, NotFound
from services.kit.outbox import OutboxWriter
from services.kit.paging import keyset_page
from services.org import auth, views
from services.org.models import Chain, PaymentMethod, Staff
from services.org.policy import can_manage_chain_config

# what a new chain can take money by, before HQ edits the list (S-2)
DEFAULT_PAYMENT_METHODS = (
    ("cash", "现金 Cash"),
    ("bank_card", "银行卡 Bank card"),
    ("wechat", "微信支付 WeChat Pay"),
    ("alipay", "支付宝 Alipay"),
)
SETTING_FIELDS = ("currency", "time_zone", "receipt_footer", "sms_signature")


def get_visible(session: Session, actor: Actor, chain_id: str) -> Chain:
    actor.require_chain(chain_id)
    chain = session.get(Chain, chain_id)
    if chain is None:
        raise NotFound("No such chain.")
    return chain


def create(session: Session, events: OutboxWriter, actor: Actor, data: dict) -> dict:
    actor.require_role(PLATFORM_ADMIN)
    if session.scalar(select(Chain.id).where(Chain.code == data["code"])):
        raise AlreadyExists(fields={"code": ["A chain with this code exists."]})
    # a new chain has no staff yet: its HQ admin's username is free in it
    hq = data.get("hq_admin")
    chain = Chain(
        code=data["code"], name=data["name"], requires_store_approval=data["requires_store_approval"], status="active"
    )
    for key, value in data["settings"].items():
        setattr(chain, key, value)
    session.add(chain)
    session.flush()
    for code, name in DEFAULT_PAYMENT_METHODS:
        session.add(PaymentMethod(chain_id=chain.id, code=code, name=name, active=True))
    events.add(
        session,
        "chain_created",
        {
            "chain_id": chain.id,
            "code": chain.code,
            "name": chain.name,
            "currency": chain.currency,
            "time_zone": chain.time_zone,
            "sms_signature": chain.sms_signature or "",
            "receipt_footer": chain.receipt_footer or "",
        },
        chain_id=chain.id,
    )
    if hq:
        staff = Staff(
            chain_id=chain.id,
            username=hq["username"],
            display_name=hq["display_name"],
            role=HQ_ADMIN,
            status="active",
            password_hash="",
        )
        auth.set_password(session, events, staff, hq["password"])
        session.add(staff)
        session.flush()
        events.add(session, "staff_changed", views.staff_event(staff), chain_id=chain.id)
    session.flush()
    return views.chain(chain)


def listing(session: Session, actor: Actor, query: dict) -> dict:
    stmt = select(Chain)
    if not actor.is_platform_admin:
        stmt = stmt.where(Chain.id == actor.chain_id)
    if query.get("status"):
        stmt = stmt.where(Chain.status == query["status"])
    rows, cursor = keyset_page(session, stmt, [Chain.code], limit=query["limit"], after=query["after"])
    return {"items": [views.chain(r) for r in rows], "next_cursor": cursor}


def update(session: Session, events: OutboxWriter, actor: Actor, chain_id: str, data: dict) -> dict:
    chain = get_visible(session, actor, chain_id)
    if not can_manage_chain_config(actor, chain_id):
        raise Forbidden("Only HQ may change the chain.")
    if "status" in data and not actor.is_platform_admin:
        raise Forbidden(
            "Only the platform admin may suspend or reactivate a chain.", {"status": ["Platform admin only."]}
        )
    for key, value in data.items():
        setattr(chain, key, value)
    session.flush()
    _changed(session, events, chain)
    return views.chain(chain)


def update_settings(session: Session, events: OutboxWriter, actor: Actor, chain_id: str, data: dict) -> dict:
    chain = get_visible(session, actor, chain_id)
    if not can_manage_chain_config(actor, chain_id):
        raise Forbidden("Only HQ may change chain settings.")
    for key in SETTING_FIELDS:
        if key in data:
            setattr(chain, key, data[key])
    session.flush()
    _changed(session, events, chain)
    return views.chain_settings(chain)


def _changed(session: Session, events: OutboxWriter, chain: Chain) -> None:
    events.add(
        session,
        "chain_changed",
        {"chain_id": chain.id, "name": chain.name, "status": chain.status, "settings": views.chain_settings(chain)},
        chain_id=chain.id,
    )
