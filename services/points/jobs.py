"""Expiry, the yearly reset and their reminders (P-5): run by a timer in every instance.

Safe to run twice and on two instances at once: a member's due lots are expired
with the member's accounts and lots locked, and what is read under the lock is
what remains, so a second run finds nothing left to expire. A reminder is sent
once per member, kind and day (its row's key), whoever gets there first. Nothing
depends on the job having run at any particular moment, so after downtime the
next run catches up on everything due since.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.kit.outbox import OutboxWriter
from services.points import book as books
from services.points import rules as r
from services.points.models import Account, PointsLot, Reminder, Rules
from services.points.settings import time_zone

log = logging.getLogger(__name__)
lots = PointsLot.__table__
BATCH = 200  # members per transaction-sized step


def run(session: Session, events: OutboxWriter, now: datetime | None = None) -> dict:
    """One pass over every chain with lots: expire and reset what is due, remind what is coming.
    Each member is a short transaction of its own, so one pass never holds many locks."""
    counts = {"expired": 0, "reset": 0, "reminded": 0}
    with session.begin():
        chains = session.scalars(select(lots.c.chain_id).where(books.LOT_IS_OPEN).distinct()).all()
        now = now or session.scalar(select(func.now()))
    for chain_id in chains:
        with session.begin():
            zone = time_zone(session, chain_id)
            stored = session.get(Rules, chain_id)
            reset_at = r.last_reset(zone, now, *_reset_date(stored))
            due = _members_due(session, chain_id, now, reset_at)
        for member_id in due:
            with session.begin():
                expired, reset = expire_member(session, events, chain_id, member_id, now, reset_at)
            counts["expired"] += expired
            counts["reset"] += reset
        with session.begin():
            counts["reminded"] += remind(session, events, chain_id, session.get(Rules, chain_id), zone, now)
    return counts


def _reset_date(stored: Rules | None) -> tuple[int | None, int | None]:
    return (stored.reset_month, stored.reset_day) if stored else (None, None)


def _due(now: datetime, reset_at: datetime | None):
    expired = and_(lots.c.expires_at.is_not(None), lots.c.expires_at <= now)
    return or_(expired, lots.c.earned_at < reset_at) if reset_at is not None else expired


def _members_due(session: Session, chain_id: str, now: datetime, reset_at: datetime | None) -> list[str]:
    return session.scalars(
        select(lots.c.member_id)
        .where(lots.c.chain_id == chain_id, books.LOT_IS_OPEN, _due(now, reset_at))
        .distinct()
        .limit(BATCH * 50)
    ).all()


def expire_member(
    session: Session, events: OutboxWriter, chain_id: str, member_id: str, now: datetime, reset_at: datetime | None
) -> tuple[int, int]:
    """Expire the member's due lots: those earned before the last yearly reset go as `reset`,
    the rest past their date as `expire`. Returns the points of each."""
    book = books.open_book(session, chain_id, member_id)
    rows = session.execute(
        select(lots.c.id, lots.c.remaining, lots.c.earned_at)
        .where(lots.c.chain_id == chain_id, lots.c.member_id == member_id, books.LOT_IS_OPEN, _due(now, reset_at))
        .order_by(lots.c.id)
        .with_for_update()
    ).all()
    by_kind: dict[str, list[tuple[int, int]]] = {"reset": [], "expire": []}
    for row in rows:
        kind = "reset" if reset_at is not None and row.earned_at < reset_at else "expire"
        by_kind[kind].append((row.id, row.remaining))
    done = {"reset": 0, "expire": 0}
    for kind, taken in by_kind.items():
        if not taken:
            continue
        total = sum(points for _, points in taken)
        first = min(lot_id for lot_id, _ in taken)
        reference = f"{kind}:{member_id}:{first}:{now.date().isoformat()}"
        cause = books.Cause(kind, reference=reference, reason="Yearly reset" if kind == "reset" else "Expired")
        tx = books.take_lots(session, book, cause, taken)
        books.changed(session, events, book, tx)
        done[kind] = total
    return done["expire"], done["reset"]


@dataclass(frozen=True)
class Upcoming:
    """Points of a member going on a local day: `expiry` of lots, or the yearly `reset`."""

    member_id: str
    kind: str
    day: date
    points: int
    balance: int


def upcoming(
    session: Session, chain_id: str, stored: Rules | None, zone: str, now: datetime, horizon: datetime
) -> list[Upcoming]:
    """What expires after `now` and by `horizon`: the reminders' facts and the marketing segment's
    (N-4), so both say the same. A reset takes every point held (earned before it)."""
    accounts = Account.__table__
    balance = (
        select(accounts.c.balance)
        .where(accounts.c.chain_id == chain_id, accounts.c.member_id == lots.c.member_id, accounts.c.kind == "points")
        .scalar_subquery()
    )
    soon = session.execute(
        select(lots.c.member_id, lots.c.expires_at, func.sum(lots.c.remaining), balance)
        .where(
            lots.c.chain_id == chain_id,
            books.LOT_IS_OPEN,
            lots.c.expires_at > now,
            lots.c.expires_at <= horizon,
        )
        .group_by(lots.c.member_id, lots.c.expires_at)
    ).all()
    balances = {row[0]: int(row[3]) for row in soon}
    found = [
        Upcoming(member_id, "expiry", day, points, balances[member_id])
        for (member_id, day), points in r.expiring_by_day(zone, (row[:3] for row in soon)).items()
    ]
    reset_on = r.next_reset_day(zone, now, *_reset_date(stored))
    if reset_on is not None and r.day_start(zone, reset_on) <= horizon:
        holders = session.execute(
            select(accounts.c.member_id, accounts.c.balance).where(
                accounts.c.chain_id == chain_id, accounts.c.kind == "points", accounts.c.balance > 0
            )
        ).all()
        found += [Upcoming(h.member_id, "reset", reset_on, h.balance, h.balance) for h in holders]
    return found


def remind(
    session: Session, events: OutboxWriter, chain_id: str, stored: Rules | None, zone: str, now: datetime
) -> int:
    """`expiring_soon` for points whose lot expires within the chain's reminder days, and
    `reset_coming` before the yearly reset: once per member and day, whenever the job first
    runs in that window (so a job that was down catches up while the date is still ahead)."""
    days = stored.remind_days if stored else 7
    sent = 0
    for due in upcoming(session, chain_id, stored, zone, now, now + timedelta(days=days)):
        if not _first(session, chain_id, due.member_id, due.kind, due.day):
            continue
        data = {"chain_id": chain_id, "member_id": due.member_id, "points": due.points, "balance": due.balance}
        if due.kind == "expiry":
            events.add(session, "expiring_soon", {**data, "expires_on": due.day.isoformat()}, chain_id=chain_id)
        else:
            events.add(session, "reset_coming", {**data, "reset_on": due.day.isoformat()}, chain_id=chain_id)
        sent += 1
    return sent


def expiring_members(session: Session, chain_id: str, within_days: int, now: datetime | None = None) -> list[dict]:
    """Members with points going within `within_days` (N-4's segment): each once, with the
    points going first and when."""
    now = now or session.scalar(select(func.now()))
    zone = time_zone(session, chain_id)
    found: dict[str, Upcoming] = {}
    for due in upcoming(session, chain_id, session.get(Rules, chain_id), zone, now, now + timedelta(days=within_days)):
        if due.member_id not in found or due.day < found[due.member_id].day:
            found[due.member_id] = due
    return [
        {"member_id": d.member_id, "points": d.points, "on": d.day.isoformat()}
        for d in sorted(found.values(), key=lambda d: d.member_id)
    ]


def _first(session: Session, chain_id: str, member_id: str, kind: str, day) -> bool:
    """Claim the reminder; False if it was sent already (by this or another instance)."""
    claimed = session.execute(
        insert(Reminder.__table__)
        .values(chain_id=chain_id, member_id=member_id, kind=kind, due_on=day)
        .on_conflict_do_nothing()
        .returning(Reminder.__table__.c.member_id)
    ).first()
    return claimed is not None
