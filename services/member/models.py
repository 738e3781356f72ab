"""Tables of the `member` schema."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
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
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.db import Timestamps, new_id, service_metadata
from services.kit.tables import define_kit_tables


class Base(DeclarativeBase):
    metadata = service_metadata("member")


kit = define_kit_tables(Base.metadata)


class ChainState(Base):
    """What this service keeps per chain: its time zone (from org) and the number counters.

    The counters only grow, under a row lock, so a card or member number is never reused (M-2)."""

    __tablename__ = "chain_state"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    last_card_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_member_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # when org said so: a late chain_changed must not roll the time zone back
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("last_card_seq >= 0 AND last_member_seq >= 0", name="counters_not_negative"),)


class Tier(Base):
    __tablename__ = "tiers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(Integer)
    default_discount_bp: Mapped[int] = mapped_column(Integer, default=0)
    category_discounts: Mapped[dict] = mapped_column(JSONB, default=dict)
    points_multiplier_bp: Mapped[int] = mapped_column(Integer, default=10000)
    upgrade_metric: Mapped[str] = mapped_column(String(20), default="cumulative_spend")
    upgrade_threshold: Mapped[int] = mapped_column(BigInteger, default=0)
    validity_months: Mapped[int | None] = mapped_column(Integer)
    renewal_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    issue_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    reissue_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    replacement_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    recharge_bonus_rules: Mapped[list] = mapped_column(JSONB, default=list)
    per_transaction_limit: Mapped[int | None] = mapped_column(BigInteger)
    daily_limit: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        UniqueConstraint("chain_id", "code"),
        UniqueConstraint("chain_id", "rank"),
        CheckConstraint("default_discount_bp BETWEEN 0 AND 10000", name="discount_range"),
        CheckConstraint("points_multiplier_bp >= 0", name="multiplier_not_negative"),
        CheckConstraint("upgrade_metric IN ('cumulative_spend', 'lifetime_points')", name="upgrade_metric"),
        CheckConstraint(
            "upgrade_threshold >= 0 AND renewal_fee >= 0 AND issue_fee >= 0 AND reissue_fee >= 0"
            " AND replacement_fee >= 0",
            name="amounts_not_negative",
        ),
    )


class Member(Timestamps, Base):
    """A member of one chain. Phone and ID number only as ciphertext plus blind index, the
    e-mail address as ciphertext (M-1)."""

    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(String(36))
    member_no: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    phone_cipher: Mapped[str] = mapped_column(Text)
    phone_index: Mapped[str] = mapped_column(String(64))
    # optional; only ever sent to by the notification service (N-1), so no index to search by
    email_cipher: Mapped[str | None] = mapped_column(Text)
    # keyed hash of the phone's last four digits, for the counter's "last four" search within
    # the store (O-7); the digits themselves stay sealed in phone_cipher
    phone_last4_index: Mapped[str] = mapped_column(String(64))
    id_number_cipher: Mapped[str | None] = mapped_column(Text)
    id_number_index: Mapped[str | None] = mapped_column(String(64))
    gender: Mapped[str] = mapped_column(String(10), default="unknown")
    birthday: Mapped[date | None] = mapped_column(Date)
    referrer_id: Mapped[str | None] = mapped_column(ForeignKey("members.id"))
    home_store_id: Mapped[str | None] = mapped_column(String(36))
    tags: Mapped[list] = mapped_column(JSONB, default=list)
    notes: Mapped[str] = mapped_column(String(500), default="")
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # reported by the wallet and points services (M-7); totals, not deltas
    cumulative_spend: Mapped[int] = mapped_column(BigInteger, default=0)
    # when the wallet struck that total: an older report never overwrites a newer one
    spend_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lifetime_points: Mapped[int] = mapped_column(BigInteger, default=0)
    # the points service's count of the member's changes when it struck that total: newest wins
    points_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_by: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        UniqueConstraint("chain_id", "member_no"),
        UniqueConstraint("chain_id", "phone_index"),
        CheckConstraint("gender IN ('male', 'female', 'unknown')", name="gender"),
        CheckConstraint("referrer_id IS NULL OR referrer_id <> id", name="not_own_referrer"),
        Index("ix_members_chain_id_number", "chain_id", "id_number_index"),
        Index("ix_members_chain_phone_last4", "chain_id", "phone_last4_index"),
        Index("ix_members_chain_name", "chain_id", "name", "id"),
        Index("ix_members_chain_store", "chain_id", "home_store_id", "member_no"),
    )


class Vehicle(Base):
    """A licence plate of a member, normalised upper-case without spaces."""

    __tablename__ = "vehicles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(String(36))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    plate: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("member_id", "plate"),
        Index("ix_vehicles_chain_plate", "chain_id", "plate"),
    )


class Card(Timestamps, Base):
    __tablename__ = "cards"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(String(36))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    card_no: Mapped[str] = mapped_column(String(20))
    tier_id: Mapped[str] = mapped_column(ForeignKey("tiers.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    # the physical card's version: a tier change reissues it under the same number (M-4)
    version: Mapped[int] = mapped_column(Integer, default=1)
    issued_store_id: Mapped[str | None] = mapped_column(String(36))
    effective_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    replaces_card_id: Mapped[str | None] = mapped_column(ForeignKey("cards.id"))
    replaced_by_card_id: Mapped[str | None] = mapped_column(ForeignKey("cards.id"))
    # W-8 on this card, on top of its tier's: the stricter of the two applies (null: none)
    per_transaction_limit: Mapped[int | None] = mapped_column(BigInteger)
    daily_limit: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("chain_id", "card_no"),
        CheckConstraint("status IN ('active', 'frozen', 'replaced', 'returned', 'expired')", name="status"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(
            "(per_transaction_limit IS NULL OR per_transaction_limit >= 0)"
            " AND (daily_limit IS NULL OR daily_limit >= 0)",
            name="limits_not_negative",
        ),
        CheckConstraint("(status = 'replaced') = (replaced_by_card_id IS NOT NULL)", name="replaced_has_successor"),
        Index("ix_cards_member", "member_id"),
    )


class CardOperation(Base):
    """The card operation log (M-8): who, where, when, before, after. Append-only."""

    __tablename__ = "card_operations"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id"))
    member_id: Mapped[str] = mapped_column(String(36))
    card_no: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    operator_id: Mapped[str | None] = mapped_column(String(36))
    operator_name: Mapped[str] = mapped_column(String(100), default="")
    store_id: Mapped[str | None] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    before: Mapped[dict] = mapped_column(JSONB, default=dict)
    after: Mapped[dict] = mapped_column(JSONB, default=dict)
    reason: Mapped[str] = mapped_column(String(200), default="")
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_method: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        CheckConstraint(
            "kind IN ('issue', 'tier_change', 'freeze', 'unfreeze', 'replace', 'return', 'renew', 'expire', 'limits')",
            name="kind",
        ),
        CheckConstraint("fee >= 0", name="fee_not_negative"),
        Index("ix_card_operations_card", "card_id", "id"),
        Index("ix_card_operations_store", "chain_id", "store_id", "id"),
    )
