"""Scheduled messages (N-3): birthdays, on the member's day in the chain's own time zone.

Safe to run twice or on two instances: a chain's run holds its schedule row
locked, and each greeting's cause is the member and the year, so a second run
makes nothing new. After downtime the days missed are caught up (at most
CATCH_UP_DAYS back: an older greeting would be no greeting).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from sqlalchemy import extract, select
from sqlalchemy.orm import Session

from services.kit import clock
from services.notification.automatic import make, switched_on
from services.notification.models import ChainCopy, MemberCopy, ScheduleRun

CATCH_UP_DAYS = 3


def celebrated_on(birthday: date, year: int) -> date:
    """The day a birthday is celebrated in `year`: 29 February is the 28th in other years."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)


def days_to_do(last_done: date | None, today: date) -> list[date]:
    """The local days not yet done, oldest first; a chain never run starts today."""
    first = today if last_done is None else max(last_done + timedelta(days=1), today - timedelta(days=CATCH_UP_DAYS))
    return [first + timedelta(days=n) for n in range((today - first).days + 1)]


def _born_on(session: Session, chain_id: str, day: date) -> list[str]:
    months_days = [(day.month, day.day)]
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        months_days.append((2, 29))
    ids: list[str] = []
    for month, dom in months_days:
        ids += session.scalars(
            select(MemberCopy.member_id).where(
                MemberCopy.chain_id == chain_id,
                extract("month", MemberCopy.birthday) == month,
                extract("day", MemberCopy.birthday) == dom,
            )
        ).all()
    return ids


def birthdays(session: Session, chain: ChainCopy, today: date) -> int:
    """Greet the chain's members born on each day not yet done; returns how many messages were made."""
    run = session.get(ScheduleRun, (chain.chain_id, "birthday"), with_for_update=True)
    days = days_to_do(run.last_day if run is not None else None, today)
    if not days:
        return 0
    enabled, _ = switched_on(session, chain.chain_id, "birthday")
    made = 0
    for day in days if enabled else []:
        for member_id in _born_on(session, chain.chain_id, day):
            made += len(make(session, chain.chain_id, "birthday", member_id, {}, f"birthday:{member_id}:{day.year}"))
    if run is None:
        session.add(ScheduleRun(chain_id=chain.chain_id, kind="birthday", last_day=today))
    else:
        run.last_day = today
    return made


def run(session: Session) -> int:
    """Every chain's birthdays, each chain in a transaction of its own."""
    with session.begin():
        chains = session.scalars(select(ChainCopy)).all()
    made = 0
    for chain in chains:
        with session.begin():
            made += birthdays(session, chain, clock.today(chain.time_zone))
    return made
