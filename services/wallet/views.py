"""Rows to contract-shaped dicts (plain JSON types only)."""

from __future__ import annotations

from datetime import date

from services.wallet.models import ConsumeLine, Entitlement, Transaction


def consume_line(row: ConsumeLine) -> dict:
    return {
        "line_no": row.line_no,
        "item_code": row.item_code,
        "name": row.name,
        "category": row.category,
        "quantity": row.quantity,
        "unit_price": row.unit_price,
        "gross": row.gross,
        "discount_bp": row.discount_bp,
        "discount": row.discount,
        "net": row.net,
        "entitlement_id": row.entitlement_id,
        "counts_used": row.counts_used,
        "refunded_quantity": row.refunded_quantity,
    }


def entitlement_status(row: Entitlement, day: date | None = None) -> str:
    if row.refund_tx_id is not None:
        return "refunded"
    if row.kind == "package" and row.remaining_count == 0:
        return "used_up"
    if day is not None and row.valid_until is not None and day > row.valid_until:
        return "expired"
    return "active"


def entitlement(row: Entitlement, day: date | None = None) -> dict:
    return {
        "id": row.id,
        "kind": row.kind,
        "item_code": row.item_code,
        "name": row.name,
        "total_count": row.total_count,
        "remaining_count": row.remaining_count,
        "price": row.price,
        "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "daily_limit": row.daily_limit,
        "plates": list(row.plates or []),
        "store_id": row.store_id,
        "status": entitlement_status(row, day),
        "created_at": row.created_at.isoformat(),
    }


def package_used(tx: Transaction, ent: Entitlement, count: int) -> dict:
    return {
        "transaction_id": tx.id,
        "chain_id": tx.chain_id,
        "store_id": tx.store_id,
        "member_id": ent.member_id,
        "entitlement_id": ent.id,
        "item_code": ent.item_code,
        "count": count,
        "remaining_count": ent.remaining_count,
    }


def paid(tx: Transaction) -> dict:
    return {"cash": tx.paid_cash, "bonus": tx.paid_bonus, "credit": tx.paid_credit, "external": tx.paid_external}


def transaction(tx: Transaction, lines: list[ConsumeLine]) -> dict:
    return {
        "transaction_id": tx.id,
        "kind": tx.kind,
        "created_at": tx.created_at.isoformat(),
        "store_id": tx.store_id,
        "operator_id": tx.operator_id,
        "member_id": tx.member_id,
        "card_no": tx.card_no,
        "ref_transaction_id": tx.ref_tx_id,
        "payment_method": tx.payment_method,
        "gross": tx.gross,
        "discount": tx.discount,
        "amount": tx.amount,
        "bonus": tx.bonus,
        "paid": paid(tx),
        "lines": [consume_line(line) for line in lines],
        "remark": tx.remark,
    }


def receipt_record(tx: Transaction, lines: list[ConsumeLine]) -> dict:
    """What a receipt prints of a transaction (services/wallet/receipts.py): its view, and
    the balances after it, the serving employee and the plate."""
    return {
        **transaction(tx, lines),
        "serving_employee_id": tx.serving_employee_id,
        "plate": tx.plate,
        "cash_after": tx.cash_after,
        "bonus_after": tx.bonus_after,
        "credit_used_after": tx.credit_used_after,
    }
