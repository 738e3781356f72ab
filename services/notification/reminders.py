"""When reminders are due (N-3), with no framework: unit tested with worked dates.

A package is reminded from `days_before` its last valid day until that day, so a job
that was down catches up while the package can still be used. A service reminder is
due `days` after the last visit's local day; the scheduled job reminds those falling
due on the local days it has not done yet (as birthdays), so a new visit, which moves
the due day, starts a new gap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def package_due(valid_until: date, today: date, days_before: int) -> bool:
    """The package's reminder is due today: within `days_before` of its last day, not past it."""
    return valid_until - timedelta(days=days_before) <= today <= valid_until


def package_window(today: date, days_before: int) -> tuple[date, date]:
    """The last valid days whose packages are due today (as `package_due`), inclusive."""
    return today, today + timedelta(days=days_before)


def service_due_on(last_visit: date, days: int) -> date:
    return last_visit + timedelta(days=days)


def visits_due(zone: str, days_to_do: list[date], days: int) -> tuple[datetime, datetime] | None:
    """The instants [from, to) of last visits whose reminder falls due on one of `days_to_do`
    (consecutive local days), in UTC; None when there are no days to do."""
    if not days_to_do:
        return None
    local = ZoneInfo(zone)
    first = datetime.combine(days_to_do[0] - timedelta(days=days), time.min, local)
    end = datetime.combine(days_to_do[-1] - timedelta(days=days - 1), time.min, local)
    return first.astimezone(UTC), end.astimezone(UTC)


def local_day(zone: str, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()
