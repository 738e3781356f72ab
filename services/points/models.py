"""Tables of the `points` schema: a ledger in lots, the rules that earn, and copies from events.

Every member has two ledger accounts: `points` (what they hold, never negative) and
`issued` (what the chain issued to them less what came back, never positive). Every
transaction posts to both, so the kit's ledger keeps them summing to zero, and no row
is shared by two members: earning at one store never waits on another member.
The `points` balance always equals the member's lots' remaining points (the audit checks).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.db import service_metadata
from services.kit.ledger import ledger_ddl
from services.kit.tables import define_kit_tables

HELD, ISSUED = "points", "issued"
KINDS_SQL = (
    "('earn', 'reverse', 'cash', 'gift', 'rebate', 'referral', 'redeem', 'redeem_cancel', 'expire', 'reset', 'adjust')"
)


class Base(DeclarativeBase):
    metadata = service_metadata("points")


kit = define_kit_tables(Base.metadata)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    member_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(10))
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (
        UniqueConstraint("chain_id", "member_id", "kind", name="uq_accounts_owner"),
        CheckConstraint("kind IN ('points', 'issued')", name="kind"),
        # P-6: a member's points never go below zero, whatever the application does
        CheckConstraint("kind <> 'points' OR balance >= 0", name="points_not_negative"),
        CheckConstraint("kind <> 'issued' OR balance <= 0", name="issued_not_positive"),
    )


class Posting(Base):
    __tablename__ = "postings"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tx_id: Mapped[str] = mapped_column(String(36), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)


for _statement in ledger_ddl("points"):
    event.listen(Posting.__table__, "after_create", DDL(_statement))


class Transaction(Base):
    """One move of points (P-3), with who, where, why and what caused it."""

    __tablename__ = "transactions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    member_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    points: Mapped[int] = mapped_column(BigInteger)  # signed: what the member's balance moved
    shortfall: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    balance_after: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[str | None] = mapped_column(String(36))
    operator_id: Mapped[str | None] = mapped_column(String(36))
    card_id: Mapped[str | None] = mapped_column(String(36))
    # what caused it: the wallet transaction, the receipt, the redemption, the lot's expiry
    reference: Mapped[str | None] = mapped_column(String(160))
    reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS_SQL}", name="kind"),
        CheckConstraint("shortfall >= 0 AND balance_after >= 0", name="figures"),
        # one earn per consume, one reversal per refund, one referral per referred member ...
        UniqueConstraint("chain_id", "kind", "reference", name="uq_transactions_cause"),
        Index("ix_transactions_member", "chain_id", "member_id", "created_at", "id"),
    )


class PointsLot(Base):
    """Points earned together, used oldest first (P-6) and expiring together (P-5)."""

    __tablename__ = "lots"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    member_id: Mapped[str] = mapped_column(String(36))
    tx_id: Mapped[str] = mapped_column(String(36))
    points: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    earned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("points > 0 AND remaining >= 0 AND remaining <= points", name="remaining_within"),
        Index("ix_lots_open", "chain_id", "member_id", "earned_at", "id", postgresql_where=text("remaining > 0")),
        Index("ix_lots_due", "expires_at", postgresql_where=text("remaining > 0")),
    )


class LotMove(Base):
    """What a transaction took from or gave to a lot: a cancelled redemption gives back
    exactly what it took, and a reversal finds the lot its earn made."""

    __tablename__ = "lot_moves"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tx_id: Mapped[str] = mapped_column(String(36), index=True)
    lot_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # signed


class MemberTotals(Base):
    """What the member has earned for good (P-7), what they spent this year (P-2), and their
    referrer (P-4). `version` counts changes, for consumers that keep the newest."""

    __tablename__ = "members"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lifetime_points: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    spend_year: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    year_spend: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    referrer_id: Mapped[str | None] = mapped_column(String(36))
    first_consume_id: Mapped[str | None] = mapped_column(String(36))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # of the member's facts copied

    __table_args__ = (
        CheckConstraint("lifetime_points >= 0 AND year_spend >= 0", name="totals_not_negative"),
        CheckConstraint("referrer_id IS NULL OR referrer_id <> member_id", name="not_own_referrer"),
    )


class Rules(Base):
    """A chain's earning rules (P-2, P-4, P-5); decimals exact."""

    __tablename__ = "rules"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    base_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    category_rates: Mapped[list] = mapped_column(JSONB, default=list)
    tier_multipliers: Mapped[list] = mapped_column(JSONB, default=list)
    spend_levels: Mapped[list] = mapped_column(JSONB, default=list)
    bonus_earns: Mapped[bool] = mapped_column(Boolean, default=False)
    expiry_months: Mapped[int | None] = mapped_column(Integer)
    reset_month: Mapped[int | None] = mapped_column(Integer)
    reset_day: Mapped[int | None] = mapped_column(Integer)
    remind_days: Mapped[int] = mapped_column(Integer, default=7)
    referral_points: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Promotion(Base):
    __tablename__ = "promotions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    store_ids: Mapped[list] = mapped_column(JSONB, default=list)
    categories: Mapped[list] = mapped_column(JSONB, default=list)
    item_codes: Mapped[list] = mapped_column(JSONB, default=list)
    weekdays: Mapped[list] = mapped_column(JSONB, default=list)
    multiplier: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    extra_points: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="window"),
        CheckConstraint("(multiplier IS NULL) <> (extra_points IS NULL)", name="one_effect"),
    )


class Earning(Base):
    """What a consume earned, line by line, and what its refunds reversed so far (P-2, W-6)."""

    __tablename__ = "earnings"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    consume_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(36))
    tx_id: Mapped[str] = mapped_column(String(36))
    points: Mapped[int] = mapped_column(BigInteger)
    # [{"line_no", "net", "points", "refunded", "reversed"}]
    lines: Mapped[list] = mapped_column(JSONB)
    reversed: Mapped[int] = mapped_column(BigInteger, default=0)


class EarlyRefund(Base):
    """A refund whose consume has not arrived yet: applied when it does."""

    __tablename__ = "early_refunds"

    refund_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    consume_id: Mapped[str] = mapped_column(String(36), index=True)
    payload: Mapped[dict] = mapped_column(JSONB)


class Redemption(Base):
    __tablename__ = "redemptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    member_id: Mapped[str] = mapped_column(String(36))
    reference: Mapped[str] = mapped_column(String(120))
    points: Mapped[int] = mapped_column(BigInteger)
    tx_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10), default="redeemed")
    cancel_tx_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("status IN ('redeemed', 'cancelled')", name="status"),
        CheckConstraint("points > 0", name="points_positive"),
    )


class Reminder(Base):
    """A reminder sent (P-5): once per member, kind and day, however many job instances run."""

    __tablename__ = "reminders"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    due_on: Mapped[date] = mapped_column(Date, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ChainClock(Base):
    """The chain's time zone, from org's events: promotion windows and resets are local days."""

    __tablename__ = "chains"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
