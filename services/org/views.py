"""Rows to contract-shaped dicts (plain JSON types only)."""

from __future__ import annotations

from datetime import datetime

from services.org import models


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def chain_settings(chain: models.Chain) -> dict:
    return {
        "currency": chain.currency,
        "time_zone": chain.time_zone,
        "receipt_footer": chain.receipt_footer,
        "sms_signature": chain.sms_signature,
    }


def chain(row: models.Chain) -> dict:
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "status": row.status,
        "requires_store_approval": row.requires_store_approval,
        "settings": chain_settings(row),
        "created_at": iso(row.created_at),
    }


def store(row: models.Store) -> dict:
    return {
        "id": row.id,
        "chain_id": row.chain_id,
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "status": row.status,
        "franchisee_id": row.franchisee_id,
        "address": row.address,
        "phone": row.phone,
        "created_at": iso(row.created_at),
    }


def staff(row: models.Staff) -> dict:
    return {
        "id": row.id,
        "chain_id": row.chain_id,
        "store_id": row.store_id,
        "username": row.username,
        "display_name": row.display_name,
        "role": row.role,
        "level": row.level,
        "status": row.status,
        "locked_until": iso(row.locked_until),
        "last_sign_in_at": iso(row.last_sign_in_at),
        "created_at": iso(row.created_at),
    }


def access_entry(row: models.AccessLog) -> dict:
    return {
        "id": row.id,
        "at": iso(row.at),
        "event": row.event,
        "username": row.username,
        "staff_id": row.staff_id,
        "store_id": row.store_id,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "reason": row.reason,
    }


def category(row: models.Category) -> dict:
    return {"id": row.id, "code": row.code, "name": row.name, "active": row.active}


def item(row: models.Item) -> dict:
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "category_code": row.category_code,
        "price": row.price,
        "active": row.active,
    }


def payment_method(row: models.PaymentMethod) -> dict:
    return {"id": row.id, "code": row.code, "name": row.name, "active": row.active}


def store_event(row: models.Store) -> dict:
    return {
        "store_id": row.id,
        "chain_id": row.chain_id,
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "status": row.status,
        "franchisee_id": row.franchisee_id,
    }


def staff_event(row: models.Staff) -> dict:
    return {
        "staff_id": row.id,
        "chain_id": row.chain_id,
        "store_id": row.store_id,
        "role": row.role,
        "status": row.status,
        "display_name": row.display_name,
        "level": row.level,
    }
