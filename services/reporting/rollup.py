"""R-3's daily totals per store, kept as facts land (`models.DailyTotals`).

A fact adds its figures the one time it is inserted, to the day it fell on in the chain's
time zone; sums commute, so the order facts arrive in does not matter. A change of the
chain's zone regroups that chain's days from the facts. The chain's row is locked to read
the zone (shared) and to change it (exclusive), so a fact and a change of zone cannot
interleave.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, delete, func, literal, select
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.orm import Session

from services.kit import clock, direct
from services.reporting.models import ChainCopy, DailyTotals, MoneyFact

FIGURES = (
    "consume_count",
    "gross",
    "discount",
    "actual",
    "paid_cash",
    "paid_bonus",
    "paid_credit",
    "paid_external",
    "refund_count",
    "refunded",
    "recharge_count",
    "recharged",
    "bonus_issued",
)
KINDS = ("consume", "refund", "recharge", "bonus_grant")
PAID = ("paid_cash", "paid_bonus", "paid_credit", "paid_external")


def figures_of(fact: dict) -> dict[str, int]:
    """What one fact adds to its store's day (nothing, for the kinds R-3 does not count)."""
    kind = fact["kind"]
    if kind == "consume":
        return {
            "consume_count": 1,
            "gross": fact.get("gross", 0),
            "discount": fact.get("discount", 0),
            "actual": fact.get("amount", 0),
            **{p: fact.get(p, 0) for p in PAID},
        }
    if kind == "refund":
        return {"refund_count": 1, "refunded": fact.get("amount", 0)}
    if kind == "recharge":
        return {"recharge_count": 1, "recharged": fact.get("amount", 0), "bonus_issued": fact.get("bonus", 0)}
    if kind == "bonus_grant":
        return {"bonus_issued": fact.get("bonus", 0)}
    return {}


def lock_zone(session: Session, chain_id: str, *, exclusive: bool = False) -> str:
    """The chain's zone, its row locked; a chain not heard of yet gets the default until org's
    event comes (`keep_newest` overwrites a row that has no `as_of`). One statement once the
    chain is known."""
    query, key = _zone_locking(exclusive), {"chain_id": chain_id}
    zone = direct.run(session, query, key).scalar()
    if zone is None:
        session.execute(
            insert(ChainCopy.__table__)
            .values(chain_id=chain_id, time_zone=clock.DEFAULT_TIME_ZONE)
            .on_conflict_do_nothing()
        )
        zone = direct.run(session, query, key).scalar()
    return zone


@cache
def _zone_locking(exclusive: bool) -> Select:
    """Built once: a shared lock is taken for every fact added."""
    table = ChainCopy.__table__
    query = select(table.c.time_zone).where(table.c.chain_id == bindparam("chain_id"))
    return query.with_for_update() if exclusive else query.with_for_update(read=True)


def add(session: Session, fact: dict) -> None:
    """A fact inserted just now: its figures onto its store's local day."""
    figures = figures_of(fact)
    if not figures or fact.get("store_id") is None:
        return
    zone = lock_zone(session, fact["chain_id"])
    occurred: datetime = fact["occurred_at"]
    day = occurred.astimezone(ZoneInfo(zone)).date()
    direct.run(
        session,
        _add_to_day(tuple(figures)),
        {"chain_id": fact["chain_id"], "store_id": fact["store_id"], "day": day, **figures},
    )


@cache
def _add_to_day(names: tuple[str, ...]) -> Insert:
    """The upsert that adds these figures to a store's day, built once per set of figures
    (a handful: one per fact kind) rather than on every fact."""
    table = DailyTotals.__table__
    statement = insert(table).values({c: bindparam(c) for c in ("chain_id", "store_id", "day", *names)})
    return statement.on_conflict_do_update(
        index_elements=[table.c.chain_id, table.c.store_id, table.c.day],
        set_={name: table.c[name] + statement.excluded[name] for name in names},
    )


def regroup(session: Session, chain_id: str, zone: str) -> None:
    """The chain's days counted afresh from its facts, in `zone`."""
    f = MoneyFact

    def total(column, *kinds: str):
        return func.coalesce(func.sum(column).filter(f.kind.in_(kinds)), 0)

    def count(kind: str):
        return func.count().filter(f.kind == kind)

    day = func.date(func.timezone(zone, f.occurred_at))
    sums = (
        select(
            literal(chain_id),
            f.store_id,
            day,
            count("consume"),
            total(f.gross, "consume"),
            total(f.discount, "consume"),
            total(f.amount, "consume"),
            *(total(getattr(f, p), "consume") for p in PAID),
            count("refund"),
            total(f.amount, "refund"),
            count("recharge"),
            total(f.amount, "recharge"),
            total(f.bonus, "recharge", "bonus_grant"),
        )
        .where(f.chain_id == chain_id, f.kind.in_(KINDS), f.store_id.is_not(None))
        .group_by(f.store_id, day)
    )
    session.execute(delete(DailyTotals).where(DailyTotals.chain_id == chain_id))
    session.execute(insert(DailyTotals.__table__).from_select(["chain_id", "store_id", "day", *FIGURES], sums))
