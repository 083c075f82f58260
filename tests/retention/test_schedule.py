"""The retention schedule is data: the defaults load, a council's file replaces rules by record type (and can turn
one off) without a code change, and a malformed file is refused naming the key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared.retention.schedule import ScheduleError, load_schedule


def test_defaults_and_a_councils_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_schedule()
    rule = defaults.rule("referrals.not_accepted")
    assert rule is not None and rule.keep_years == 2 and rule.action == "erase"
    assert rule.due_on(date(2024, 2, 29)) == date(2026, 2, 28)
    assert rule.cutoff(date(2026, 3, 1)) == date(2024, 3, 1)

    council = tmp_path / "leeds.yaml"
    council.write_text(
        "rules:\n  referrals.not_accepted: {keep_years: 3, after: decision}\n"
        "  outbox.event: {keep_days: null, after: never}\n"
    )
    monkeypatch.setenv("EARLYHELP_RETENTION_SCHEDULE", str(council))
    schedule = load_schedule()
    assert schedule.source == str(council)
    changed = schedule.rule("referrals.not_accepted")
    assert changed is not None and changed.keep_years == 3
    off = schedule.rule("outbox.event")
    assert off is not None and not off.enabled
    kept = schedule.rule("cases.family")
    assert kept is not None and kept.until_youngest_child_age == 25  # untouched default


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("rules:\n  referrals.decided: {keep_years: -1}\n", "referrals.decided.keep_years"),
        ("rules:\n  referrals.decided: {keep_years: 2, action: shred}\n", "referrals.decided.action"),
        ("rules:\n  referrals.decided: {keep_yeers: 2}\n", "keep_yeers"),
        ("retention: {}\n", "rules"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ScheduleError, match=named.replace(".", r"\.")):
        load_schedule(bad)
