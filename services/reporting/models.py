"""Tables of the `reporting` schema: a read model kept from the other services' events.

Facts are keyed by the source's own ids (a wallet transaction id, a member id),
so an event applied twice or out of order lands once and in its place; copies
of things that change (a store's name, a member's tier) keep the newest by the
event's time (`services.kit.copies`). Every figure of a report is a query over
these rows, so no aggregate can drift from the facts.

Points (`points.earned`, `points.reversed`) and gift redemptions (R-6) have fact
tables of their own, keyed by the points transaction id and the redemption id.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.db import service_metadata
from services.kit.tables import define_kit_tables


class Base(DeclarativeBase):
    metadata = service_metadata("reporting")


kit = define_kit_tables(Base.metadata)


class ChainCopy(Base):
    """A chain's time zone: reports group days and months in it."""

    __tablename__ = "chains"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StoreCopy(Base):
    __tablename__ = "stores"

    store_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    franchisee_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StaffCopy(Base):
    """Staff names and levels: R-1 names operators, R-7 pays commission by level (O-9)."""

    __tablename__ = "staff"

    staff_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36), index=True)
    store_id: Mapped[str | None] = mapped_column(String(36))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(40))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MemberCopy(Base):
    """A member: name and home store as last said; `enrolled_at` from the enrolment itself,
    whenever it arrives (R-4 counts new members by it)."""

    __tablename__ = "members"

    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    member_no: Mapped[str] = mapped_column(String(20), server_default="")
    name: Mapped[str] = mapped_column(String(100), server_default="")
    home_store_id: Mapped[str | None] = mapped_column(String(36))
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_members_chain_enrolled", "chain_id", "enrolled_at"),)


class MemberTier(Base):
    """A member's tier as last said (card issued, tier changed)."""

    __tablename__ = "member_tiers"

    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    tier_code: Mapped[str] = mapped_column(String(40))
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CardCopy(Base):
    """A card's number, by its id (a card's number never changes): R-6 shows the card a gift
    was redeemed with, and gift's events name it by id."""

    __tablename__ = "cards"

    card_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    card_no: Mapped[str] = mapped_column(String(40))


class MoneyFact(Base):
    """One wallet transaction, as its event told it. `amount`: the money of the operation
    (a consume's amount due, a recharge's cash, a refund's total); `paid_*`: where a consume's
    money came from, or a refund's went back to."""

    __tablename__ = "money_facts"

    tx_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(30))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    store_id: Mapped[str | None] = mapped_column(String(36))
    operator_id: Mapped[str | None] = mapped_column(String(36))
    member_id: Mapped[str | None] = mapped_column(String(36))
    card_no: Mapped[str | None] = mapped_column(String(40))
    tier_code: Mapped[str | None] = mapped_column(String(40))
    serving_employee_id: Mapped[str | None] = mapped_column(String(36))
    ref_tx_id: Mapped[str | None] = mapped_column(String(36))
    payment_method: Mapped[str | None] = mapped_column(String(40))
    gross: Mapped[int] = mapped_column(BigInteger, server_default="0")
    discount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    bonus: Mapped[int] = mapped_column(BigInteger, server_default="0")
    paid_cash: Mapped[int] = mapped_column(BigInteger, server_default="0")
    paid_bonus: Mapped[int] = mapped_column(BigInteger, server_default="0")
    paid_credit: Mapped[int] = mapped_column(BigInteger, server_default="0")
    paid_external: Mapped[int] = mapped_column(BigInteger, server_default="0")
    remark: Mapped[str] = mapped_column(String(500), server_default="")

    __table_args__ = (
        # a month of one store, and the chain's month, by kind: the report queries' access paths
        Index("ix_money_facts_store_kind_at", "chain_id", "store_id", "kind", "occurred_at"),
        Index("ix_money_facts_chain_kind_at", "chain_id", "kind", "occurred_at"),
        Index("ix_money_facts_member", "chain_id", "member_id"),
        Index("ix_money_facts_ref", "ref_tx_id"),
    )


class PointsFact(Base):
    """One points transaction that earned (`points.earned`, any kind: earn, referral, gift...)
    or reversed points (`points.reversed`, negative). `consume_id`: the wallet consume an
    `earn` was for, or a reversal took back from (R-1)."""

    __tablename__ = "points_facts"

    tx_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(30))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    member_id: Mapped[str] = mapped_column(String(36))
    store_id: Mapped[str | None] = mapped_column(String(36))
    consume_id: Mapped[str | None] = mapped_column(String(36))
    points: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_points_facts_chain_at", "chain_id", "occurred_at"),
        Index("ix_points_facts_consume", "consume_id"),
    )


class GiftRedemptionFact(Base):
    """A gift redemption (R-6), from `gift.redeemed` and `gift.redemption_cancelled`, either
    first: both carry the redemption's figures, and each sets only its own columns (who and
    when), so any order gives the same row. Status: cancelled once a cancellation is known, else completed."""

    __tablename__ = "gift_redemptions"

    redemption_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    gift_id: Mapped[str] = mapped_column(String(36))
    gift_name: Mapped[str] = mapped_column(String(200), server_default="")
    member_id: Mapped[str] = mapped_column(String(36))
    card_id: Mapped[str] = mapped_column(String(36))
    store_id: Mapped[str] = mapped_column(String(36))
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    # the redemption's own: who redeemed and when
    operator_id: Mapped[str | None] = mapped_column(String(36))
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the cancellation's own: who cancelled, when and why
    cancel_operator_id: Mapped[str | None] = mapped_column(String(36))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_gift_redemptions_chain_at", "chain_id", "redeemed_at"),)


class FactLine(Base):
    """A consume's line (R-1 lines, R-7 fixed commission per service item), or a refund's
    (quantity and amount given back of the consume's line `line_no`)."""

    __tablename__ = "fact_lines"

    tx_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    item_code: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100), server_default="")
    category: Mapped[str | None] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger, server_default="0")
    gross: Mapped[int] = mapped_column(BigInteger, server_default="0")
    discount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    net: Mapped[int] = mapped_column(BigInteger, server_default="0")


class LotMove(Base):
    """What a transaction moved in the lots of each store (W-11): liability per store and
    inter-store settlement are sums of these, as they are in the wallet."""

    __tablename__ = "lot_moves"

    tx_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    lot_store_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(36))
    store_id: Mapped[str | None] = mapped_column(String(36))
    amount: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_lot_moves_chain_at", "chain_id", "occurred_at"),)


class DailyTotals(Base):
    """R-3's figures per store and local day of the chain, kept as facts land: a fact adds its
    figures once, when it is first inserted (sums commute, so any order gives the same), and a
    change of the chain's time zone regroups the chain's days from the facts. The store summary
    over a year reads 365 rows per store instead of every fact."""

    __tablename__ = "daily_totals"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    consume_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    gross: Mapped[int] = mapped_column(BigInteger, server_default="0")
    discount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    actual: Mapped[int] = mapped_column(BigInteger, server_default="0")
    paid_cash: Mapped[int] = mapped_column(BigInteger, server_default="0")
    paid_bonus: Mapped[int] = mapped_column(BigInteger, server_default="0")
    paid_credit: Mapped[int] = mapped_column(BigInteger, server_default="0")
    paid_external: Mapped[int] = mapped_column(BigInteger, server_default="0")
    refund_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    refunded: Mapped[int] = mapped_column(BigInteger, server_default="0")
    recharge_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    recharged: Mapped[int] = mapped_column(BigInteger, server_default="0")
    bonus_issued: Mapped[int] = mapped_column(BigInteger, server_default="0")

    __table_args__ = (Index("ix_daily_totals_chain_day", "chain_id", "day"),)


class Freshness(Base):
    """How fresh a chain's reports are: the newest event applied, and how long it took to
    reach us (`applied_at - newest_event_at`)."""

    __tablename__ = "freshness"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    newest_event_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CommissionRule(Base):
    """R-7, set by HQ per employee level: a percentage of sales, and a fixed amount per unit of
    a service item (`item_fixed`: item code -> fen)."""

    __tablename__ = "commission_rules"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    level: Mapped[str] = mapped_column(String(40), primary_key=True)
    sales_bp: Mapped[int] = mapped_column(Integer, server_default="0")
    item_fixed: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
