"""Scheduled messages (N-3): birthdays, on the member's day in the chain's own time zone;
package expiry, days before a package's last day; service reminders, days after the last
visit in a category.

Safe to run twice or on two instances: a chain's run of a kind holds its schedule row
locked, and each message's cause is its occurrence (the member and the year, the
package and its last day, the rule and the visit), so a second run makes nothing new.
After downtime the days missed are caught up (at most CATCH_UP_DAYS back: an older
greeting would be no greeting); a package is reminded whenever the job first runs
between its reminder day and its last day.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from sqlalchemy import extract, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.kit import clock
from services.notification import chain_settings, reminders
from services.notification.automatic import make, switch_of, switched_on
from services.notification.kinds import KINDS
from services.notification.models import CategoryVisit, ChainCopy, MemberCopy, PackageCopy, ScheduleRun, ServiceRule

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


def _claim_days(session: Session, chain_id: str, kind: str, today: date) -> list[date]:
    """The kind's local days not yet done for the chain, marked done: the row stays locked until
    the transaction ends, so a second instance waits, then finds them done."""
    run = session.get(ScheduleRun, (chain_id, kind), with_for_update=True)
    if run is None:
        # a chain never run starts today; of two instances' first runs, one inserts, the other
        # waits on it, then finds today done
        session.execute(
            insert(ScheduleRun.__table__)
            .values(chain_id=chain_id, kind=kind, last_day=today - timedelta(days=1))
            .on_conflict_do_nothing()
        )
        run = session.get(ScheduleRun, (chain_id, kind), with_for_update=True, populate_existing=True)
    days = days_to_do(run.last_day, today)
    if days:
        run.last_day = today
    return days


def birthdays(session: Session, chain: ChainCopy, today: date) -> int:
    """Greet the chain's members born on each day not yet done; returns how many messages were made."""
    days = _claim_days(session, chain.chain_id, "birthday", today)
    if not days:
        return 0
    switch = switched_on(session, chain.chain_id, "birthday")  # read once for all the day's members
    made = 0
    for day in days if switch[0] else []:
        for member_id in _born_on(session, chain.chain_id, day):
            cause = f"birthday:{member_id}:{day.year}"
            made += len(make(session, chain.chain_id, "birthday", member_id, {}, cause, switch=switch))
    return made


def packages(session: Session, chain: ChainCopy, today: date) -> int:
    """Remind of each open package or pass whose last day is within the chain's days before,
    once per package and last day (a package extended later is reminded again)."""
    _claim_days(session, chain.chain_id, "package_expiring", today)  # one instance at a time
    kind = KINDS["package_expiring"]
    row = chain_settings.kind_settings(session, chain.chain_id, kind.name)
    switch = switch_of(kind.name, row)
    if not switch[0]:
        return 0
    first, last = reminders.package_window(today, chain_settings.days_before(kind, row))
    due = session.scalars(
        select(PackageCopy).where(
            PackageCopy.chain_id == chain.chain_id,
            PackageCopy.closed.is_(False),
            PackageCopy.valid_until.between(first, last),
            or_(PackageCopy.kind == "pass", PackageCopy.remaining_count > 0),
        )
    ).all()
    made = 0
    for package in due:
        variables = {
            "package_name": package.name or "",
            "expire_date": package.valid_until.isoformat(),
            "remaining_count": "不限" if package.kind == "pass" else str(package.remaining_count),
        }
        cause = f"package:{package.entitlement_id}:{package.valid_until.isoformat()}"
        made += len(make(session, chain.chain_id, kind.name, package.member_id, variables, cause, switch=switch))
    return made


def service_reminders(session: Session, chain: ChainCopy, today: date) -> int:
    """Remind the members whose visit gap in a rule's category reaches the rule's days on a day
    not yet done: once per rule and last visit (a new visit starts a new gap)."""
    days = _claim_days(session, chain.chain_id, "service_reminder", today)
    switch = switched_on(session, chain.chain_id, "service_reminder")
    if not days or not switch[0]:
        return 0
    rules = session.scalars(
        select(ServiceRule).where(ServiceRule.chain_id == chain.chain_id, ServiceRule.enabled.is_(True))
    ).all()
    made = 0
    for rule in rules:
        since, until = reminders.visits_due(chain.time_zone, days, rule.days)
        visits = session.scalars(
            select(CategoryVisit).where(
                CategoryVisit.chain_id == chain.chain_id,
                CategoryVisit.category == rule.category,
                CategoryVisit.last_visit_at >= since,
                CategoryVisit.last_visit_at < until,
            )
        ).all()
        for visit in visits:
            variables = {
                "service_name": rule.service_name,
                "last_visit_date": reminders.local_day(chain.time_zone, visit.last_visit_at).isoformat(),
                "days": str(rule.days),
            }
            cause = f"service:{rule.id}:{visit.member_id}:{int(visit.last_visit_at.timestamp())}"
            made += len(
                make(session, chain.chain_id, "service_reminder", visit.member_id, variables, cause, switch=switch)
            )
    return made


SCHEDULED = (birthdays, packages, service_reminders)


def run(session: Session) -> int:
    """Every chain's scheduled kinds, each chain and kind in a transaction of its own."""
    with session.begin():
        chains = session.scalars(select(ChainCopy)).all()
    made = 0
    for chain in chains:
        for scheduled_kind in SCHEDULED:
            with session.begin():
                made += scheduled_kind(session, chain, clock.today(chain.time_zone))
    return made
