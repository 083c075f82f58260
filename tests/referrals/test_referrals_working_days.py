"""Decision deadlines in working days, across Christmas and Easter (England and Wales bank holidays)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from referrals.triage.working_days import add_working_days, decision_due_at, is_working_day


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 11, 23), 3, date(2026, 11, 26)),  # Monday → Thursday
        (date(2026, 11, 26), 3, date(2026, 12, 1)),  # Thursday → over the weekend → Tuesday
        # Christmas 2026: Fri 25 Christmas Day; Sat 26 Boxing Day, substitute Mon 28
        (date(2026, 12, 23), 3, date(2026, 12, 30)),
        (date(2026, 12, 24), 1, date(2026, 12, 29)),
        # New Year: Fri 1 January 2027
        (date(2026, 12, 30), 2, date(2027, 1, 4)),
        # Easter 2026: Good Friday 3 April, Easter Monday 6 April
        (date(2026, 4, 2), 1, date(2026, 4, 7)),
        (date(2026, 4, 1), 3, date(2026, 4, 8)),
        # Easter 2027: Good Friday 26 March, Easter Monday 29 March
        (date(2027, 3, 25), 3, date(2027, 4, 1)),
        # received on a Saturday: Monday is working day 1
        (date(2026, 11, 28), 3, date(2026, 12, 2)),
    ],
)
def test_add_working_days(start: date, days: int, due: date) -> None:
    assert add_working_days(start, days) == due


def test_bank_holidays_and_weekends_are_not_working_days() -> None:
    for holiday in (date(2026, 12, 25), date(2026, 12, 28), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 4)):
        assert not is_working_day(holiday)
    assert not is_working_day(date(2026, 11, 28))
    assert is_working_day(date(2026, 12, 29))
    # 12 July (Battle of the Boyne) is a bank holiday in Northern Ireland only
    assert is_working_day(date(2027, 7, 12))


def test_due_at_is_the_end_of_the_day_in_london() -> None:
    winter = decision_due_at(datetime(2026, 12, 23, 15, 0, tzinfo=UTC), 3)
    assert winter == datetime(2026, 12, 30, 23, 59, 59, tzinfo=UTC)  # GMT
    summer = decision_due_at(datetime(2026, 7, 1, 9, 0, tzinfo=UTC), 3)
    assert summer == datetime(2026, 7, 6, 22, 59, 59, tzinfo=UTC)  # BST: 23:59:59 London
    # 23:30 UTC on 31 March 2026 is already 1 April in London (BST)
    late = decision_due_at(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), 1)
    assert late == datetime(2026, 4, 2, 22, 59, 59, tzinfo=UTC)
