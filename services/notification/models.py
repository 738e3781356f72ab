"""Tables of the `notification` schema: settings, copies of other services' facts, messages.

Phones and addresses are kept only as the kit's ciphertext (for a message sent to a
typed-in address) or not at all (a member's phone is asked of the member service
when sending); a keyed hash finds messages by phone without storing it (N-5, M-1).
"""

from __future__ import annotations

from datetime import date, datetime, time

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
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.db import Timestamps, new_id, service_metadata
from services.kit.tables import define_kit_tables


class Base(DeclarativeBase):
    metadata = service_metadata("notification")


kit = define_kit_tables(Base.metadata)


# ---- copies kept from other services' events (non-negotiable 12) ----------------------


class ChainCopy(Base):
    """A chain's name, SMS signature (S-1) and time zone, from org's events."""

    __tablename__ = "chains"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sms_signature: Mapped[str] = mapped_column(String(40), default="")
    time_zone: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StoreCopy(Base):
    __tablename__ = "stores"

    store_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TierCopy(Base):
    __tablename__ = "tiers"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MemberCopy(Base):
    """What birthdays and segments need of a member (N-3, N-4); no phone: asked when sending.
    Facts from member's events (as of `as_of`), the tier from card events (as of `tier_as_of`),
    the last visit from the wallet's consumes (the latest kept)."""

    __tablename__ = "members"

    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    birthday: Mapped[date | None] = mapped_column(Date)
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    home_store_id: Mapped[str | None] = mapped_column(String(36))
    tags: Mapped[list] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    tier_code: Mapped[str | None] = mapped_column(String(40))
    tier_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_visit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_members_birthday", "chain_id", text("extract(month from birthday)")),)


class CategoryVisit(Base):
    """A member's last visit per item category, from the wallet's consumes: service reminders
    count from it (the latest kept, whatever order the consumes arrive in)."""

    __tablename__ = "category_visits"

    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    last_visit_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_category_visits_chain", "chain_id", "category", "last_visit_at"),)


class PackageCopy(Base):
    """A member's package or pass as far as its expiry reminder needs (N-3), from the wallet's
    events: sold (name, last day), used (counts left, the newest kept), refunded (closed)."""

    __tablename__ = "packages"

    entitlement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    member_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str | None] = mapped_column(String(10))
    name: Mapped[str | None] = mapped_column(String(100))
    valid_until: Mapped[date | None] = mapped_column(Date)
    remaining_count: Mapped[int | None] = mapped_column(Integer)
    remaining_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    __table_args__ = (Index("ix_packages_expiry", "chain_id", "valid_until", postgresql_where=text("NOT closed")),)


# ---- the chain's settings (N-1, N-2, N-3) -------------------------------------------------


class ProviderSettings(Timestamps, Base):
    """How a chain's messages travel. Secrets only as the kit's ciphertext; never answered."""

    __tablename__ = "provider_settings"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sms_provider: Mapped[str] = mapped_column(String(20), default="record")
    http_base_url: Mapped[str | None] = mapped_column(String(300))
    http_account: Mapped[str | None] = mapped_column(String(100))
    http_secret_cipher: Mapped[str | None] = mapped_column(Text)
    http_timeout_ms: Mapped[int] = mapped_column(Integer, default=5000)
    email_provider: Mapped[str] = mapped_column(String(20), default="record")
    smtp_host: Mapped[str | None] = mapped_column(String(253))
    smtp_port: Mapped[int] = mapped_column(Integer, default=587)
    smtp_security: Mapped[str] = mapped_column(String(10), default="starttls")
    smtp_username: Mapped[str | None] = mapped_column(String(200))
    smtp_password_cipher: Mapped[str | None] = mapped_column(Text)
    email_from: Mapped[str | None] = mapped_column(String(320))
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    retry_base_ms: Mapped[int] = mapped_column(Integer, default=30000)
    # N-4: marketing is held from quiet_start to quiet_end (local time; may run over midnight)
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    # the pace of a bulk send, so the provider's own limit is never hit
    marketing_per_minute: Mapped[int] = mapped_column(Integer, default=600, server_default="600")

    __table_args__ = (
        CheckConstraint("sms_provider IN ('record', 'http')", name="sms_provider"),
        CheckConstraint("email_provider IN ('record', 'smtp')", name="email_provider"),
        CheckConstraint("smtp_security IN ('none', 'starttls', 'ssl')", name="smtp_security"),
        CheckConstraint("max_attempts BETWEEN 1 AND 10", name="max_attempts"),
    )


class KindSettings(Timestamps, Base):
    """A chain's switch, channel (sms, email or both) and own texts for one kind; no row: on,
    SMS, built-in texts."""

    __tablename__ = "kind_settings"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    sms_text: Mapped[str | None] = mapped_column(Text)
    email_subject: Mapped[str | None] = mapped_column(String(200))
    email_text: Mapped[str | None] = mapped_column(Text)
    # for a kind sent ahead of a date (a package's expiry): how many days before; null: the default
    days_before: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("channel IN ('sms', 'email', 'both')", name="channel"),
        CheckConstraint("days_before IS NULL OR days_before BETWEEN 0 AND 90", name="days_before"),
    )


class ServiceRule(Timestamps, Base):
    """A chain's service reminder (N-3, "time for your next wash"): members who last had a
    service of `category` `days` ago are reminded once per visit gap."""

    __tablename__ = "service_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(String(36))
    category: Mapped[str] = mapped_column(String(40))
    # what the text calls the service ("洗车"): the category is a code
    service_name: Mapped[str] = mapped_column(String(40))
    days: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("chain_id", "category"),
        CheckConstraint("days BETWEEN 1 AND 365", name="days"),
    )


class Campaign(Timestamps, Base):
    """A marketing message to a segment (N-4): a draft, then scheduled, then sent in the
    background (a bulk job: its messages carry its id, their statuses are its progress)."""

    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    segment: Mapped[dict] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    total: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'scheduled', 'running', 'done')", name="status"),
        Index("ix_campaigns_chain_created", "chain_id", "created_at", "id"),
        Index("ix_campaigns_due", "send_at", postgresql_where=text("status = 'scheduled'")),
    )


class ScheduleRun(Base):
    """The last local day a scheduled kind was done for a chain: after downtime the days
    between are caught up."""

    __tablename__ = "schedule_runs"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    last_day: Mapped[date] = mapped_column(Date)


class ConsumePoints(Base):
    """Where a consume's message and its points meet (N-3), whichever event comes first: the
    wallet's consume marks `consumed`, the points service's answer fills the figures. The row
    goes once both have been seen."""

    __tablename__ = "consume_points"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    consume_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    consumed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    points_earned: Mapped[int | None] = mapped_column(BigInteger)
    points_total: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# ---- messages: every one kept (N-5) --------------------------------------------------------


class Message(Timestamps, Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chain_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(10))
    # what caused it (an event id, a birthday and year, a staff request): one message per cause
    source_key: Mapped[str] = mapped_column(String(120))
    member_id: Mapped[str | None] = mapped_column(String(36))
    # a typed-in address only (a member's is asked of the member service when sending)
    recipient_cipher: Mapped[str | None] = mapped_column(Text)
    recipient_index: Mapped[str | None] = mapped_column(String(64))
    recipient_masked: Mapped[str | None] = mapped_column(String(340))
    # the facts the text is made of; the text itself is fixed at the first attempt
    variables: Mapped[dict] = mapped_column(JSONB, default=dict)
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    # waiting: a consume's message until its points are known (or the wait is over)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # the attempts made before staff last retried it: it has max_attempts more from there
    retried_at_attempt: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    provider_status: Mapped[str | None] = mapped_column(String(40))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # a message being sent is someone's until then; after it (a crash) it is taken up again
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # marketing held by quiet hours: let go at once when the chain changes its quiet hours
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(36))
    campaign_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        UniqueConstraint("chain_id", "source_key"),
        Index("ix_messages_campaign", "campaign_id", "status", postgresql_where=text("campaign_id IS NOT NULL")),
        CheckConstraint("status IN ('draft', 'waiting', 'queued', 'sending', 'sent', 'failed')", name="status"),
        CheckConstraint("channel IN ('sms', 'email')", name="channel"),
        Index("ix_messages_chain_created", "chain_id", "created_at", "id"),
        Index("ix_messages_chain_member", "chain_id", "member_id", "created_at"),
        Index("ix_messages_chain_recipient", "chain_id", "recipient_index"),
        # the dispatcher's scan: only what is still to send
        Index(
            "ix_messages_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('waiting', 'queued', 'sending')"),
        ),
    )
