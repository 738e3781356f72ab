"""Tables of the `gift` schema: the catalogue, its stock, the redemptions with their saga
state, the chain's redemption settings, and copies of org's chains and stores (for receipts
and local days).

Stock is a row per gift and place: `rules.CHAIN_WIDE` ("*") for a chain's stock, else the store's id.
The database refuses a negative stock (G-2), whatever the application does.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.db import Timestamps, service_metadata
from services.kit.tables import define_kit_tables

STATUSES_SQL = "('pending', 'completed', 'refused', 'cancelling', 'cancelled')"


class Base(DeclarativeBase):
    metadata = service_metadata("gift")


kit = define_kit_tables(Base.metadata)


class Gift(Timestamps, Base):
    __tablename__ = "gifts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    picture_url: Mapped[str | None] = mapped_column(String(500))
    market_price: Mapped[int] = mapped_column(BigInteger)
    points_cost: Mapped[int] = mapped_column(BigInteger)
    stock_mode: Mapped[str] = mapped_column(String(10))
    store_ids: Mapped[list] = mapped_column(JSONB, default=list)  # empty: every store of the chain
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    limit_quantity: Mapped[int | None] = mapped_column(Integer)
    limit_period: Mapped[str | None] = mapped_column(String(10))
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    __table_args__ = (
        CheckConstraint("stock_mode IN ('chain', 'store')", name="stock_mode"),
        CheckConstraint("points_cost > 0 AND market_price >= 0", name="prices"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="window"),
        CheckConstraint("(limit_quantity IS NULL) = (limit_period IS NULL)", name="limit_pair"),
        CheckConstraint("NOT retired OR NOT active", name="retired_inactive"),
    )


class Stock(Base):
    __tablename__ = "stocks"

    gift_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    place: Mapped[str] = mapped_column(String(36), primary_key=True)  # CHAIN_WIDE or a store id
    chain_id: Mapped[str] = mapped_column(String(36))
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    # `gift.stock_low` was sent for the present dip under the threshold: once per dip
    low_notified: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    __table_args__ = (CheckConstraint("quantity >= 0", name="not_negative"),)


class Redemption(Base):
    """One redemption and where its saga stands (G-2): pending (stock reserved, points asked),
    completed, refused (stock released), cancelling (points asked back), cancelled."""

    __tablename__ = "redemptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    gift_id: Mapped[str] = mapped_column(String(36))
    gift_name: Mapped[str] = mapped_column(String(100))
    member_id: Mapped[str] = mapped_column(String(36))
    card_id: Mapped[str] = mapped_column(String(36))
    card_no: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[str] = mapped_column(String(36))
    place: Mapped[str] = mapped_column(String(36))  # the stock row it was taken from
    local_year: Mapped[int] = mapped_column(Integer)  # for a per-year limit, in the chain's zone
    operator_id: Mapped[str] = mapped_column(String(36))
    operator_name: Mapped[str] = mapped_column(String(100))
    actor: Mapped[dict] = mapped_column(JSONB)  # who asked: the recovery job asks points as them
    remark: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12))
    refusal: Mapped[dict | None] = mapped_column(JSONB)
    points_redemption_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_actor: Mapped[dict | None] = mapped_column(JSONB)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    cancel_key: Mapped[str | None] = mapped_column(String(200))
    step_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())  # step began
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # recovery tries

    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES_SQL}", name="status"),
        CheckConstraint("quantity > 0 AND points > 0", name="figures"),
        CheckConstraint(
            "status NOT IN ('completed', 'cancelling', 'cancelled') OR points_redemption_id IS NOT NULL",
            name="points_taken",
        ),
        UniqueConstraint("chain_id", "idempotency_key", name="uq_redemptions_key"),
        Index("ix_redemptions_chain_time", "chain_id", "created_at", "id"),
        Index("ix_redemptions_member_gift", "chain_id", "member_id", "gift_id"),
        Index("ix_redemptions_open", "step_at", postgresql_where=text("status IN ('pending', 'cancelling')")),
    )


class ChainSettings(Base):
    __tablename__ = "settings"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cancel_hours: Mapped[int] = mapped_column(Integer, default=72)


class ChainCopy(Base):
    """A chain's name, time zone and receipt footer, from org's events (S-1)."""

    __tablename__ = "chains"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    receipt_footer: Mapped[str | None] = mapped_column(String(500))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StoreCopy(Base):
    __tablename__ = "stores"

    store_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
