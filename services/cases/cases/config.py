"""Settings for the cases service (environment prefix `CASES_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import EventSubscriber, ServiceSettings

SERVICE_DIR = Path(__file__).resolve().parent.parent
# Legal holds, erasure and rectification reach referrals and outcomes through these (cases.retention.rights).
RIGHTS_EVENTS = ["family.legal_hold_placed", "family.legal_hold_released", "person.erased", "person.rectified"]


def _default_subscribers() -> list[EventSubscriber]:
    return [
        EventSubscriber(
            name="referrals",
            url="http://127.0.0.1:8001/v1/events",
            event_types=["case.opened", "case.joined", *RIGHTS_EVENTS],
        ),
        EventSubscriber(
            name="outcomes",
            url="http://127.0.0.1:8003/v1/events",
            event_types=["case.assessment_completed", "case.closed", *RIGHTS_EVENTS],
        ),
    ]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CASES_", extra="ignore")

    service_name: str = "cases"
    port: int = 8002
    outcomes_url: str = "http://127.0.0.1:8003"
    subscribers: list[EventSubscriber] = Field(default_factory=_default_subscribers)
    plan_review_weeks: int = Field(default=12, ge=1, le=52)
    """The next review of a plan is due within this many weeks."""
    framework_cache_seconds: float = 60.0
    """How long the active framework is used without asking outcomes again (then revalidated by ETag)."""
    match_candidate_limit: int = Field(default=10, ge=1, le=50)
    match_link_threshold: float = Field(default=0.999, gt=0, lt=1)
    """A candidate at or above this match probability links automatically (if its names and date of birth agree
    and nothing conflicts); the default is chosen from bench/identity_match.py."""
    match_review_threshold: float = Field(default=0.1, gt=0, lt=1)
    """Candidates at or above this (and below the link threshold) go to review; below it, a new person."""
