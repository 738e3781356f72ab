"""Days in a chain's own time zone: validity, daily limits and reports count
local calendar days, not UTC ones."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

# what a chain gets until its settings say otherwise (org's default too)
DEFAULT_TIME_ZONE = "Asia/Shanghai"


def today(zone: str | None) -> date:
    return datetime.now(ZoneInfo(zone or DEFAULT_TIME_ZONE)).date()
