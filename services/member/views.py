"""Rows to contract-shaped dicts (plain JSON types only)."""

from __future__ import annotations

from datetime import date, datetime

from services.member import models

TIER_FIELDS = (
    "id",
    "chain_id",
    "code",
    "name",
    "rank",
    "default_discount_bp",
    "category_discounts",
    "points_multiplier_bp",
    "upgrade_metric",
    "upgrade_threshold",
    "validity_months",
    "renewal_fee",
    "issue_fee",
    "reissue_fee",
    "replacement_fee",
    "recharge_bonus_rules",
    "per_transaction_limit",
    "daily_limit",
    "active",
)
TERMS_FIELDS = (
    "id",
    "code",
    "name",
    "rank",
    "default_discount_bp",
    "category_discounts",
    "points_multiplier_bp",
    "recharge_bonus_rules",
    "per_transaction_limit",
    "daily_limit",
)


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def tier(row: models.Tier) -> dict:
    out = {name: getattr(row, name) for name in TIER_FIELDS}
    out["category_discounts"] = dict(row.category_discounts or {})
    out["recharge_bonus_rules"] = list(row.recharge_bonus_rules or [])
    out["updated_at"] = iso(row.updated_at)
    return out


def tier_terms(row: models.Tier) -> dict:
    """The slice of a tier a transacting service needs (CardContext.tier)."""
    full = tier(row)
    return {name: full[name] for name in TERMS_FIELDS}


def card(row: models.Card, tier_row: models.Tier, status: str | None = None) -> dict:
    return {
        "id": row.id,
        "chain_id": row.chain_id,
        "member_id": row.member_id,
        "card_no": row.card_no,
        "status": status or row.status,
        "version": row.version,
        "tier_id": tier_row.id,
        "tier_code": tier_row.code,
        "tier_name": tier_row.name,
        "issued_store_id": row.issued_store_id,
        "effective_date": iso(row.effective_date),
        "expiry_date": iso(row.expiry_date),
        "replaces_card_id": row.replaces_card_id,
        "replaced_by_card_id": row.replaced_by_card_id,
        "limits": card_limits(row),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def card_limits(row: models.Card) -> dict:
    return {"per_transaction_limit": row.per_transaction_limit, "daily_limit": row.daily_limit}


def card_state(row: models.Card, tier_row: models.Tier) -> dict:
    """What the operation log keeps as `before` and `after`."""
    return {
        "limits": card_limits(row),
        "status": row.status,
        "version": row.version,
        "tier_code": tier_row.code,
        "card_no": row.card_no,
        "effective_date": iso(row.effective_date),
        "expiry_date": iso(row.expiry_date),
    }


def operation(row: models.CardOperation) -> dict:
    return {
        "id": row.id,
        "chain_id": row.chain_id,
        "card_id": row.card_id,
        "member_id": row.member_id,
        "card_no": row.card_no,
        "kind": row.kind,
        "operator_id": row.operator_id,
        "operator_name": row.operator_name,
        "store_id": row.store_id,
        "at": iso(row.at),
        "before": dict(row.before or {}),
        "after": dict(row.after or {}),
        "reason": row.reason,
        "fee": row.fee,
        "payment_method": row.payment_method,
    }
