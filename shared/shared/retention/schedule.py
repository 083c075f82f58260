"""The retention schedule as data: the packaged defaults (`schedule.yaml`), replaced rule by rule by the council's
own file named in `EARLYHELP_RETENTION_SCHEDULE`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

DEFAULTS = Path(__file__).with_name("schedule.yaml")
ENV = "EARLYHELP_RETENTION_SCHEDULE"
ACTIONS = ("erase", "anonymise", "prune")


class ScheduleError(ValueError):
    """The schedule file is not of the documented shape."""


@dataclass(frozen=True)
class RetentionRule:
    record_type: str
    after: str
    action: str
    keep_years: int | None = None
    keep_days: int | None = None
    until_youngest_child_age: int | None = None

    @property
    def enabled(self) -> bool:
        return self.keep_years is not None or self.keep_days is not None

    def describe(self) -> str:
        period = f"{self.keep_years} years" if self.keep_years is not None else f"{self.keep_days} days"
        if self.until_youngest_child_age is not None:
            return f"kept until the youngest child is {self.until_youngest_child_age} ({self.after})"
        return f"kept {period} after {self.after}"

    def due_on(self, clock: date) -> date:
        """The day a record whose clock started on `clock` falls due."""
        if self.keep_days is not None:
            return clock + timedelta(days=self.keep_days)
        return add_years(clock, self.keep_years or 0)

    def cutoff(self, as_of: date) -> date:
        """Records whose clock started on or before this day are due on `as_of`."""
        if self.keep_days is not None:
            return as_of - timedelta(days=self.keep_days)
        return add_years(as_of, -(self.keep_years or 0))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def _rule(record_type: str, raw: Any) -> RetentionRule:
    if not isinstance(raw, dict):
        raise ScheduleError(f"rules.{record_type}: expected a mapping")
    unknown = set(raw) - {"keep_years", "keep_days", "until_youngest_child_age", "after", "action"}
    if unknown:
        raise ScheduleError(f"rules.{record_type}: unknown keys {sorted(unknown)}")
    action = raw.get("action", "erase")
    if action not in ACTIONS:
        raise ScheduleError(f"rules.{record_type}.action: one of {', '.join(ACTIONS)}")
    numbers: dict[str, int | None] = {}
    for key in ("keep_years", "keep_days", "until_youngest_child_age"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ScheduleError(f"rules.{record_type}.{key}: a whole number of at least 0")
        numbers[key] = value
    return RetentionRule(record_type=record_type, after=str(raw.get("after", "")), action=action, **numbers)


def _rules(path: Path) -> dict[str, RetentionRule]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, dict):
        raise ScheduleError(f"{path}: expected a top-level `rules:` mapping")
    return {str(name): _rule(str(name), raw) for name, raw in rules.items()}


@dataclass(frozen=True)
class Schedule:
    rules: dict[str, RetentionRule]
    source: str

    def rule(self, record_type: str) -> RetentionRule | None:
        return self.rules.get(record_type)


def load_schedule(path: str | Path | None = None) -> Schedule:
    """The defaults, with the council's file (argument, else `EARLYHELP_RETENTION_SCHEDULE`) laid over them."""
    rules = _rules(DEFAULTS)
    override = path or os.environ.get(ENV) or None
    if override:
        rules |= _rules(Path(override))
    return Schedule(rules=rules, source=str(override or DEFAULTS))
