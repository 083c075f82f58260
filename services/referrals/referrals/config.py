"""Settings for the referrals service (environment prefix `REFERRALS_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import EventSubscriber, ServiceSettings

SERVICE_DIR = Path(__file__).resolve().parent.parent


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REFERRALS_", extra="ignore")

    service_name: str = "referrals"
    port: int = 8001

    cases_url: str = "http://127.0.0.1:8002"
    outcomes_url: str = "http://127.0.0.1:8003"
    decision_working_days: int = Field(default=3, ge=1, le=60)
    default_hub: str = "central"
    match_timeout_seconds: float = Field(
        default=5.0, description="Seconds the matching worker waits for one batch answer of the cases person index"
    )
    match_retry_interval: float = Field(
        default=1.0,
        description="Seconds between the matching worker's polls (each new referral also wakes it at once); "
        "0 turns the worker off",
    )
    match_retry_batch: int = Field(default=32, ge=1, le=500, description="Referrals the matching worker takes per pass")
    caseload_timeout_seconds: float = Field(
        default=2.0, description="How long a practitioner's read waits for cases to say which families they work with"
    )
    framework_cache_seconds: float = 60.0
    outcomes_timeout_seconds: float = 1.0
    subscribers: list[EventSubscriber] = Field(default_factory=list)
