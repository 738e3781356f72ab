"""Automatic messages (N-3): one per event, made in the handler's transaction with its inbox
record, so a redelivered event makes no second message.

The facts come from the event itself (amount, balances after) and from the copies
this service keeps (store and tier names, the chain's time zone); the member's
name and phone are asked of the member service when the message is sent.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from contracts.events import Event
from services.kit.clock import DEFAULT_TIME_ZONE
from services.notification import chain_settings
from services.notification.kinds import KINDS, yuan
from services.notification.messages import enqueue
from services.notification.models import ChainCopy, StoreCopy, TierCopy


def switched_on(session: Session, chain_id: str, kind: str) -> tuple[bool, str]:
    """Whether the chain sends this kind, and on which channel."""
    view = chain_settings.kind_view(KINDS[kind], chain_settings.kind_settings(session, chain_id, kind))
    return view["enabled"], view["channel"]


def local_time(session: Session, chain_id: str, moment: str) -> str:
    chain = session.get(ChainCopy, chain_id)
    zone = ZoneInfo(chain.time_zone if chain is not None else DEFAULT_TIME_ZONE)
    return datetime.fromisoformat(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _store_name(session: Session, store_id: str | None) -> str:
    store = session.get(StoreCopy, store_id) if store_id else None
    return store.name if store is not None else ""


def _tier_name(session: Session, chain_id: str, code: str) -> str:
    tier = session.get(TierCopy, (chain_id, code))
    return tier.name if tier is not None else code


def _card_tail(card_no: str | None) -> str:
    return (card_no or "")[-4:]


def _balance_values(balances: dict) -> dict:
    return {
        "balance": yuan(balances["cash"] + balances["bonus"]),
        "cash_balance": yuan(balances["cash"]),
        "bonus_balance": yuan(balances["bonus"]),
    }


def _make(session: Session, event: Event, kind: str, member_id: str, variables: dict) -> str | None:
    chain_id = event.chain_id or event.data["chain_id"]
    enabled, channel = switched_on(session, chain_id, kind)
    if not enabled:
        return None
    return enqueue(
        session,
        chain_id=chain_id,
        kind=kind,
        channel=channel,
        source_key=f"event:{event.id}",
        member_id=member_id,
        variables=variables,
    )


def consumed(session: Session, event: Event) -> str | None:
    data = event.data
    return _make(
        session,
        event,
        "consume",
        data["member_id"],
        {
            "card_tail": _card_tail(data["card_no"]),
            "store_name": _store_name(session, data["store_id"]),
            "amount": yuan(data["amount_due"]),
            "time": local_time(session, data["chain_id"], event.occurred_at),
            **_balance_values(data["balances"]),
        },
    )


def recharged(session: Session, event: Event) -> str | None:
    data = event.data
    return _make(
        session,
        event,
        "recharge",
        data["member_id"],
        {
            "card_tail": _card_tail(data["card_no"]),
            "store_name": _store_name(session, data["store_id"]),
            "amount": yuan(data["amount"]),
            "bonus": yuan(data["bonus"]),
            "time": local_time(session, data["chain_id"], event.occurred_at),
            "balance": yuan(data["balances"]["cash"] + data["balances"]["bonus"]),
        },
    )


def tier_changed(session: Session, event: Event) -> str | None:
    data = event.data
    chain_id = event.chain_id or ""
    return _make(
        session,
        event,
        "tier_change",
        data["member_id"],
        {
            "card_tail": _card_tail(data["card_no"]),
            "previous_tier": _tier_name(session, chain_id, data["previous_tier_code"]),
            "tier": _tier_name(session, chain_id, data["tier_code"]),
        },
    )


def points_expiring(session: Session, event: Event) -> str | None:
    """P-5's reminder from the points service: one message per member and expiry day, even if
    the points service said it twice (its cause is the day, not the event)."""
    data = event.data
    return _reminder(
        session,
        data,
        "points_expiring",
        f"points_expiring:{data['member_id']}:{data['expires_on']}",
        {
            "expiring_points": str(data["points"]),
            "expire_date": data["expires_on"],
            "points_total": _points_total(data),
        },
    )


def points_reset(session: Session, event: Event) -> str | None:
    data = event.data
    return _reminder(
        session,
        data,
        "points_reset",
        f"points_reset:{data['member_id']}:{data['reset_on']}",
        {"expiring_points": str(data["points"]), "reset_date": data["reset_on"], "points_total": _points_total(data)},
    )


def _reminder(session: Session, data: dict, kind: str, source_key: str, variables: dict) -> str | None:
    enabled, channel = switched_on(session, data["chain_id"], kind)
    if not enabled:
        return None
    return enqueue(
        session,
        chain_id=data["chain_id"],
        kind=kind,
        channel=channel,
        source_key=source_key,
        member_id=data["member_id"],
        variables=variables,
    )


def _points_total(data: dict) -> str:
    """The member's points now; a reminder written before points carried it shows a dash."""
    return "—" if data.get("balance") is None else str(data["balance"])
