"""What every report needs: the chain's time zone, how fresh the read model is, names by id,
and the filters of a query as SQL."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.kit import clock
from services.reporting.models import ChainCopy, Freshness, MemberCopy, MoneyFact, StaffCopy, StoreCopy
from services.reporting.scope import Scope


def time_zone(session: Session, chain_id: str) -> str:
    return session.scalar(select(ChainCopy.time_zone).where(ChainCopy.chain_id == chain_id)) or clock.DEFAULT_TIME_ZONE


def as_of(session: Session, chain_id: str) -> dict:
    row = session.execute(
        select(Freshness.newest_event_at, Freshness.applied_at).where(Freshness.chain_id == chain_id)
    ).first()
    if row is None:
        return {"newest_event_at": None, "applied_at": None, "lag_ms": None}
    lag = row.applied_at - row.newest_event_at
    return {
        "newest_event_at": row.newest_event_at.isoformat(),
        "applied_at": row.applied_at.isoformat(),
        "lag_ms": max(0, round(lag.total_seconds() * 1000)),
    }


def head(session: Session, chain_id: str) -> dict:
    return {"as_of": as_of(session, chain_id), "time_zone": time_zone(session, chain_id)}


def _names(session: Session, column, name, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(session.execute(select(column, name).where(column.in_(wanted))).all())


def store_names(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    return _names(session, StoreCopy.store_id, StoreCopy.name, ids)


def staff_names(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    return _names(session, StaffCopy.staff_id, StaffCopy.display_name, ids)


def member_names(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    return _names(session, MemberCopy.member_id, MemberCopy.name, ids)


def scoped(stmt, scope: Scope, store_column=MoneyFact.store_id, operator_column=MoneyFact.operator_id):
    """The caller's scope as WHERE clauses."""
    if scope.stores is not None:
        stmt = stmt.where(store_column.in_(scope.stores))
    if scope.operator_id is not None:
        stmt = stmt.where(operator_column == scope.operator_id)
    return stmt
