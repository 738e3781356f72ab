"""Quiet hours (N-4): marketing is held while the chain's window is closed, in its own time
zone; transactional messages always go. A window may run over midnight (21:00 to 08:00)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def held_until(now: datetime, zone: str, start: time | None, end: time | None) -> datetime | None:
    """When marketing may go again if `now` is inside the quiet window [start, end), else None."""
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(ZoneInfo(zone))
    at = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= at < end
        opens = local.date()
    else:  # over midnight: quiet from start to 24:00 and from 00:00 to end
        inside = at >= start or at < end
        opens = local.date() + timedelta(days=1) if at >= start else local.date()
    if not inside:
        return None
    return datetime.combine(opens, end, tzinfo=ZoneInfo(zone))
