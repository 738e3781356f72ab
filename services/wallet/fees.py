"""Card fees (W-12): the member service charges them at the counter; the
wallet books them as money received and fee revenue of the store."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.kit.outbox import OutboxWriter
from services.wallet import common, ledger
from services.wallet.models import FEE_REVENUE, STORE_RECEIVED, Transaction


def record(session: Session, events: OutboxWriter, data: dict) -> str | None:
    """Book one fee once (by its fee id); returns the transaction id, None if already booked."""
    chain_id, store_id, method, amount = data["chain_id"], data["store_id"], data["payment_method"], data["amount"]
    seen = session.scalar(
        select(Transaction.id).where(Transaction.chain_id == chain_id, Transaction.external_ref == data["fee_id"])
    )
    if seen is not None:
        return None
    member = ledger.lock_member(session, chain_id, data["member_id"])
    tx = Transaction(
        chain_id=chain_id,
        kind="fee",
        store_id=store_id,
        operator_id=data.get("operator_id"),
        member_id=data["member_id"],
        card_id=data["card_id"],
        card_no=data.get("card_no"),
        external_ref=data["fee_id"],
        amount=amount,
        paid_external=amount,
        payment_method=method,
        remark=data["kind"],
        # as every transaction: stamped after the member's rows are locked, so statements keep order
        created_at=func.clock_timestamp(),
    )
    session.add(tx)
    session.flush()
    received, revenue = (STORE_RECEIVED, store_id, method), (FEE_REVENUE, store_id, None)
    books = ledger.store_accounts(session, chain_id, [received, revenue])
    ledger.post(session, tx.id, [(books[received], -amount), (books[revenue], amount)])
    # paid at the counter, the fee leaves the balances as they were; recording them
    # puts the fee on the member's statement with its running balances (W-10, W-12)
    common.snapshot(tx, member)
    events.add(
        session,
        "fee_charged",
        {
            "transaction_id": tx.id,
            "fee_id": data["fee_id"],
            "chain_id": chain_id,
            "store_id": store_id,
            "member_id": data["member_id"],
            "card_id": data["card_id"],
            "card_no": data.get("card_no"),
            "kind": data["kind"],
            "amount": amount,
            "payment_method": method,
        },
        chain_id=chain_id,
    )
    return tx.id
