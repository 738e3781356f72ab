"""Tables of the `org` schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.db import Timestamps, new_id, service_metadata
from services.kit.tables import define_kit_tables


class Base(DeclarativeBase):
    metadata = service_metadata("org")


kit = define_kit_tables(Base.metadata)


class Chain(Timestamps, Base):
    __tablename__ = "chains"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    requires_store_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    # settings (S-1)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    receipt_footer: Mapped[str] = mapped_column(String(500), default="")
    sms_signature: Mapped[str] = mapped_column(String(40), default="")

    __table_args__ = (CheckConstraint("status IN ('active', 'suspended')", name="status"),)


class Store(Timestamps, Base):
    __tablename__ = "stores"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(ForeignKey("chains.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="active")
    # the franchisee who owns a franchised store (O-3)
    franchisee_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id", use_alter=True))
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    created_by: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        UniqueConstraint("chain_id", "code"),
        CheckConstraint("kind IN ('direct', 'franchise')", name="kind"),
        CheckConstraint("status IN ('active', 'pending_approval', 'rejected', 'closed')", name="status"),
        Index("ix_stores_chain_franchisee", "chain_id", "franchisee_id"),
    )


class Staff(Timestamps, Base):
    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str | None] = mapped_column(ForeignKey("chains.id"))
    # store-bound roles (manager, cashier) work in exactly one store
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id"))
    # unique within the chain (platform admins, with no chain, among themselves):
    # one chain's HQ cannot learn another chain's usernames from a refusal
    username: Mapped[str] = mapped_column(String(60))
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            "role IN ('platform_admin', 'hq_admin', 'franchisee', 'store_manager', 'cashier')", name="role"
        ),
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
        CheckConstraint("(role = 'platform_admin') = (chain_id IS NULL)", name="chain_matches_role"),
        CheckConstraint("(role IN ('store_manager', 'cashier')) = (store_id IS NOT NULL)", name="store_matches_role"),
        Index("ix_staff_chain_store", "chain_id", "store_id"),
        UniqueConstraint("chain_id", "username", name="uq_staff_chain_username", postgresql_nulls_not_distinct=True),
    )


class SignInSession(Base):
    """A bearer token, stored only as its SHA-256; revoked by sign-out or disabling."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class AccessLog(Base):
    """Every sign-in, sign-out and failed attempt (O-8)."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    event: Mapped[str] = mapped_column(String(30))
    username: Mapped[str] = mapped_column(String(60))
    staff_id: Mapped[str | None] = mapped_column(String(36))
    chain_id: Mapped[str | None] = mapped_column(String(36))
    store_id: Mapped[str | None] = mapped_column(String(36))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (Index("ix_access_log_chain_at", "chain_id", "at"),)


class Category(Timestamps, Base):
    """A consumption category (S-2): the unit of tier discounts and point rates."""

    __tablename__ = "categories"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(ForeignKey("chains.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("chain_id", "code"),)


class Item(Timestamps, Base):
    """An item or service with its list price (S-2)."""

    __tablename__ = "items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(ForeignKey("chains.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="service")
    category_code: Mapped[str] = mapped_column(String(40))
    price: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("chain_id", "code"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("kind IN ('service', 'goods')", name="kind"),
    )


class PaymentMethod(Timestamps, Base):
    __tablename__ = "payment_methods"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(ForeignKey("chains.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("chain_id", "code"),)
