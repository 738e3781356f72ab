"""Tables of the `wallet` schema: a double-entry ledger and what hangs off it.

Sign convention of the ledger: every account's balance is the sum of its
postings and every transaction's postings sum to zero. What the chain owes
(member cash and bonus, deferred package revenue) and what it earned (revenue,
fees) are positive; what it holds or spent (money received at a store, bonus
given away, credit lent to a member) is negative. So a 100-yuan recharge posts
+10000 to the member's cash and -10000 to the store's received money.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.db import new_id, service_metadata
from services.kit.tables import define_kit_tables
from services.wallet import ddl

MEMBER_CASH = "member_cash"
MEMBER_BONUS = "member_bonus"
MEMBER_CREDIT = "member_credit"
MEMBER_KINDS = (MEMBER_CASH, MEMBER_BONUS, MEMBER_CREDIT)
STORE_RECEIVED = "store_received"  # money taken in (or paid out) at a store, per payment method
STORE_REVENUE = "store_revenue"  # sales recognised at a store
BONUS_EXPENSE = "bonus_expense"  # bonus money a store gave away
FEE_REVENUE = "fee_revenue"  # card fees (W-12)
PACKAGE_DEFERRED = "package_deferred"  # packages sold and not yet used
STORE_KINDS = (STORE_RECEIVED, STORE_REVENUE, BONUS_EXPENSE, FEE_REVENUE, PACKAGE_DEFERRED)
_MEMBER_KINDS_SQL = "('member_cash', 'member_bonus', 'member_credit')"


class Base(DeclarativeBase):
    metadata = service_metadata("wallet")


kit = define_kit_tables(Base.metadata)


class Account(Base):
    """A ledger account: a member's cash, bonus or credit, or a store's book."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(30))
    member_id: Mapped[str | None] = mapped_column(String(36))
    store_id: Mapped[str | None] = mapped_column(String(36))
    method: Mapped[str | None] = mapped_column(String(40))
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    credit_limit: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint(
            "chain_id",
            "kind",
            "member_id",
            "store_id",
            "method",
            name="uq_accounts_owner",
            postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint(
            "kind IN ('member_cash', 'member_bonus', 'member_credit', 'store_received', 'store_revenue',"
            " 'bonus_expense', 'fee_revenue', 'package_deferred')",
            name="kind",
        ),
        CheckConstraint(f"(kind IN {_MEMBER_KINDS_SQL}) = (member_id IS NOT NULL)", name="member_owner"),
        CheckConstraint(f"(kind IN {_MEMBER_KINDS_SQL}) = (store_id IS NULL)", name="store_owner"),
        # W-4: a member's cash and bonus never go below zero, whatever the application does
        CheckConstraint("kind NOT IN ('member_cash', 'member_bonus') OR balance >= 0", name="member_not_negative"),
        # credit lent is a negative balance, never more than the limit
        CheckConstraint(
            "kind <> 'member_credit' OR (balance <= 0 AND balance + credit_limit >= 0)", name="credit_within_limit"
        ),
        CheckConstraint("credit_limit >= 0", name="credit_limit_not_negative"),
        Index("ix_accounts_member", "chain_id", "member_id", postgresql_where=text("member_id IS NOT NULL")),
    )


class Wallet(Base):
    """What belongs to a member as a whole (M-5: not to a card)."""

    __tablename__ = "wallets"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    # total paid for consumes, less refunds: drives tier upgrades (M-7)
    cumulative_spend: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        CheckConstraint("cumulative_spend >= 0", name="spend_not_negative"),
    )


class Transaction(Base):
    """One operation: its postings sum to zero (checked by the database at commit)."""

    __tablename__ = "transactions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(30))
    store_id: Mapped[str | None] = mapped_column(String(36))
    operator_id: Mapped[str | None] = mapped_column(String(36))
    serving_employee_id: Mapped[str | None] = mapped_column(String(36))
    member_id: Mapped[str | None] = mapped_column(String(36))
    card_id: Mapped[str | None] = mapped_column(String(36))
    card_no: Mapped[str | None] = mapped_column(String(32))
    tier_code: Mapped[str | None] = mapped_column(String(40))
    ref_tx_id: Mapped[str | None] = mapped_column(ForeignKey("transactions.id"))
    # an id from outside (a member fee id), so a redelivered fact is recorded once
    external_ref: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    payment_method: Mapped[str | None] = mapped_column(String(40))
    # the figures a receipt and the reports need (all >= 0; a refund's are what went back)
    gross: Mapped[int] = mapped_column(BigInteger, default=0)
    discount: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    bonus: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_cash: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_bonus: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_credit: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_external: Mapped[int] = mapped_column(BigInteger, default=0)
    # a refund of credit the member had already paid back lands as cash: the part
    # of paid_cash that came out of the consume's credit share
    credit_to_cash: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # the member's balances after this transaction: a statement page needs no history scan (W-10)
    cash_after: Mapped[int | None] = mapped_column(BigInteger)
    bonus_after: Mapped[int | None] = mapped_column(BigInteger)
    credit_used_after: Mapped[int | None] = mapped_column(BigInteger)
    plate: Mapped[str | None] = mapped_column(String(16))
    remark: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            "kind IN ('recharge', 'bonus_grant', 'consume', 'refund', 'package_sale', 'package_refund',"
            " 'card_return', 'credit_limit', 'credit_settlement', 'fee')",
            name="kind",
        ),
        CheckConstraint(
            "gross >= 0 AND discount >= 0 AND amount >= 0 AND bonus >= 0 AND paid_cash >= 0 AND paid_bonus >= 0"
            " AND paid_credit >= 0 AND paid_external >= 0",
            name="figures_not_negative",
        ),
        UniqueConstraint("chain_id", "external_ref"),
        Index("ix_transactions_member", "chain_id", "member_id", "created_at", "id"),
        Index("ix_transactions_store", "chain_id", "store_id", "created_at"),
        Index("ix_transactions_ref", "ref_tx_id", postgresql_where=text("ref_tx_id IS NOT NULL")),
    )


class Posting(Base):
    """One leg of a transaction. Append-only: the database refuses updates and deletes."""

    __tablename__ = "postings"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tx_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("amount <> 0", name="not_zero"),)


class Lot(Base):
    """A parcel of a member's cash or bonus, remembering the store that took it in.

    Spending takes the oldest lots first, so a liability per store (W-11) and
    what one store owes another (R-8) can be read off the lot moves.
    """

    __tablename__ = "lots"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    member_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(10))
    store_id: Mapped[str] = mapped_column(String(36))
    tx_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('cash', 'bonus')", name="kind"),
        CheckConstraint("amount > 0 AND remaining >= 0 AND remaining <= amount", name="remaining_in_range"),
        Index("ix_lots_open", "chain_id", "member_id", "kind", "id", postgresql_where=text("remaining > 0")),
    )


class LotMove(Base):
    """Money into (+) or out of (-) a lot, by a transaction at a store."""

    __tablename__ = "lot_moves"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    tx_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    lot_store_id: Mapped[str] = mapped_column(String(36))
    store_id: Mapped[str] = mapped_column(String(36))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("amount <> 0", name="not_zero"),
        Index("ix_lot_moves_chain_at", "chain_id", "created_at"),
    )


class ConsumeLine(Base):
    __tablename__ = "consume_lines"

    tx_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    item_code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    gross: Mapped[int] = mapped_column(BigInteger)
    discount_bp: Mapped[int] = mapped_column(Integer)
    discount: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    # a line paid by a package or pass: no money (net 0), a count, and the package value it recognised
    entitlement_id: Mapped[str | None] = mapped_column(ForeignKey("entitlements.id"))
    counts_used: Mapped[int] = mapped_column(Integer, default=0)
    package_value: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    # money (or package value) already given back by refunds of this line
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        CheckConstraint(
            "quantity > 0 AND refunded_quantity >= 0 AND refunded_quantity <= quantity", name="refunded_in_range"
        ),
        CheckConstraint("net = gross - discount AND net >= 0 AND package_value >= 0", name="net"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= net + package_value", name="refunded_amount"),
    )


class Entitlement(Base):
    """A package (a count of a service) or a pass (unlimited between two dates) (W-5)."""

    __tablename__ = "entitlements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(String(36))
    member_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(10))
    item_code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    total_count: Mapped[int | None] = mapped_column(Integer)
    remaining_count: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(BigInteger)
    # the part of the price not yet recognised as revenue
    remaining_value: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    daily_limit: Mapped[int | None] = mapped_column(Integer)
    plates: Mapped[list] = mapped_column(JSONB, default=list)
    store_id: Mapped[str] = mapped_column(String(36))
    sale_tx_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"))
    # set when the unused part was paid back: the package is closed
    refund_tx_id: Mapped[str | None] = mapped_column(ForeignKey("transactions.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('package', 'pass')", name="kind"),
        CheckConstraint(
            "(kind = 'package') = (total_count IS NOT NULL AND remaining_count IS NOT NULL)", name="count_for_packages"
        ),
        CheckConstraint(
            "remaining_count IS NULL OR (remaining_count >= 0 AND remaining_count <= total_count)",
            name="remaining_in_range",
        ),
        CheckConstraint("remaining_value >= 0 AND remaining_value <= price", name="value_in_range"),
        Index("ix_entitlements_member", "chain_id", "member_id", "item_code"),
    )


class EntitlementUse(Base):
    """Counts taken (+) or restored by a refund (-), per consume line."""

    __tablename__ = "entitlement_uses"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    entitlement_id: Mapped[str] = mapped_column(ForeignKey("entitlements.id"))
    tx_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(BigInteger)
    used_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (Index("ix_entitlement_uses_day", "entitlement_id", "used_on"),)


class ChainClock(Base):
    """The chain's time zone, kept from org's events: days and limits follow it; and its name
    and receipt footer, which a receipt prints (S-3; None: not heard since they were kept)."""

    __tablename__ = "chains"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    receipt_footer: Mapped[str | None] = mapped_column(String(500))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StoreState(Base):
    """Which stores exist and are open, kept from org's events, so a money
    operation need not ask org each time (org is asked about a store not yet seen)."""

    __tablename__ = "stores"

    store_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))  # for receipts (None: not heard since kept)
    # when org said so: events may arrive out of order, the newest wins
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StaffState(Base):
    """The chain's staff as org last said (a serving employee must be one of
    them, active), kept from org's events; org is asked about one not yet seen."""

    __tablename__ = "staff"

    staff_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))
    # the operator and serving employee a receipt names (None: not heard since kept)
    display_name: Mapped[str | None] = mapped_column(String(100))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CardCopy(Base):
    """What the member service last said of a card (its `CardContext`), so a money operation
    need not ask it each time (member is asked about a card not seen, or no longer valid).

    Member tells the wallet synchronously, before its API answers, of every change it makes
    to a card (freeze, unfreeze, loss, tier, limits, renewal: `keep_card`), so a restriction
    is in force for the very next operation; its events forget a copy whose member, tier or
    chain changed. A copy holds for the chain's calendar day it was read on (a card's
    validity ends at a day's turn); `as_of` is when the card last changed at member, and an
    older context never overwrites a newer one."""

    __tablename__ = "cards"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    card_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    card_id: Mapped[str] = mapped_column(String(36), index=True)
    member_id: Mapped[str] = mapped_column(String(36), index=True)
    context: Mapped[dict | None] = mapped_column(JSONB)  # None: forgotten, ask member
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DictionaryEntry(Base):
    """A code of the chain's consumption categories or items (S-2), kept from
    org's events, so a consume line's codes are checked without asking org."""

    __tablename__ = "dictionary_entries"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dictionary: Mapped[str] = mapped_column(String(20), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean)
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The ledger's database-side rules (sum zero per transaction, append-only
# postings) are triggers, which autogenerate cannot see: the migration creates
# them, and a schema built from the models (create_all) gets them here.
for _statement in ddl.LEDGER_TRIGGERS:
    event.listen(Posting.__table__, "after_create", DDL(_statement))
