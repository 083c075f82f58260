"""Decision deadlines in working days: weekends and England and Wales bank holidays do not count."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")


@cache
def _bank_holidays(year: int) -> frozenset[date]:
    # England and Wales share one calendar of bank holidays; `subdiv="ENG"` is it.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (start itself never counts)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def decision_due_at(received_at: datetime, working_days: int) -> datetime:
    """End of the N-th working day (London time) after the day the referral was received, in UTC."""
    received_day = received_at.astimezone(LONDON).date()
    due_day = add_working_days(received_day, working_days)
    end_of_day = datetime.combine(due_day, time(23, 59, 59), tzinfo=LONDON)
    return end_of_day.astimezone(UTC)
