"""A chain's service reminder rules (N-3, "time for your next wash"), managed by HQ.

One rule per item category: members whose last visit in that category was `days`
ago are reminded once (scheduled.service_reminders); a rule can be switched off
without losing it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.errors import AlreadyExists, NotFound
from services.notification.models import ServiceRule

CHANGEABLE = ("service_name", "days", "enabled")


def view(row: ServiceRule) -> dict:
    return {
        "id": row.id,
        "category": row.category,
        "service_name": row.service_name,
        "days": row.days,
        "enabled": row.enabled,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def listing(session: Session, chain_id: str) -> dict:
    rows = session.scalars(
        select(ServiceRule).where(ServiceRule.chain_id == chain_id).order_by(ServiceRule.category)
    ).all()
    return {"items": [view(r) for r in rows]}


def create(session: Session, chain_id: str, payload: dict) -> dict:
    taken = session.scalar(
        select(ServiceRule.id)
        .where(ServiceRule.chain_id == chain_id, ServiceRule.category == payload["category"])
        .with_for_update()
    )
    if taken is not None:
        raise AlreadyExists(
            "The chain has a rule for this category.",
            {"category": [f"A rule for {payload['category']} exists ({taken}): change that one."]},
        )
    row = ServiceRule(chain_id=chain_id, **{k: payload[k] for k in ("category", *CHANGEABLE)})
    session.add(row)
    session.flush()
    session.refresh(row)
    return view(row)


def update(session: Session, chain_id: str, rule_id: str, changes: dict) -> dict:
    row = session.get(ServiceRule, rule_id, with_for_update=True)
    if row is None or row.chain_id != chain_id:
        raise NotFound("No such service reminder rule.", {"rule_id": ["No such rule in this chain."]})
    for name in CHANGEABLE:
        if name in changes:
            setattr(row, name, changes[name])
    session.flush()
    session.refresh(row)
    return view(row)
