"""Settings for the intelligence service (environment prefix `INTELLIGENCE_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import EventSubscriber, ServiceSettings

SERVICE_DIR = Path(__file__).resolve().parent.parent


def _default_subscribers() -> list[EventSubscriber]:
    return [
        EventSubscriber(
            name="referrals", url="http://127.0.0.1:8001/v1/events", event_types=["intelligence.family_referred"]
        )
    ]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTELLIGENCE_", extra="ignore")

    service_name: str = "intelligence"
    port: int = 8004
    outcomes_url: str = "http://127.0.0.1:8003"
    """The outcomes service: the active framework whose need codes and thresholds identified families use."""
    cases_url: str = "http://127.0.0.1:8002"
    """The cases service (its person index, asked whether an identified family is already known)."""
    cases_check_timeout_seconds: float = 10.0
    """Time limit of one call to the cases service's `POST /v1/people/known` (200 people)."""
    cases_check_budget_seconds: float = 60.0
    """How long a linkage run spends checking its families against cases; the rest stay `unchecked`."""
    cases_check_interval_seconds: float = 300.0
    """Seconds between retries of `unchecked` families and rechecks of stale answers; 0 turns it off."""
    cases_recheck_after_seconds: float = 86400.0
    """An answer older than this is asked again (a case may have opened or closed since)."""
    subscribers: list[EventSubscriber] = Field(default_factory=_default_subscribers)
    """Who hears this service's events: referrals turns a referred family into a referral of kind `intelligence`."""
    framework_cache_seconds: float = 60.0
    default_hub: str = "central"
    """The hub a family goes to when its postcode district is not covered by any hub (flagged)."""
    import_max_bytes: int = 1024 * 1024 * 1024
    """Largest CSV upload to `POST /v1/datasets` (streamed, never held in memory)."""
    import_error_limit: int = 1000
    """How many bad rows an import report lists (all are counted)."""
    default_retention_days: int = 365
    """How long a dataset's raw rows are kept when the import names no retention (derived needs are kept)."""
    retention_interval_seconds: float = 3600.0
    """Seconds between deletions of partner rows past their retention date; 0 turns it off."""
    engine: str = "duckdb"
    """The linkage engine: `duckdb` (embedded, default) or `spark` (with `spark_master`)."""
    spark_master: str | None = None
    """The Spark master URL (`spark://host:7077`) when `engine` is `spark`; unused with `duckdb`."""
    match_threshold: float = 0.95
    """Match probability from which two records are the same person (cluster threshold)."""
    needs_window_months: int = 12
    """How far back incidents and statuses count as evidence of a need."""
    bulk_request_timeout_seconds: float = 900.0
    """Request time limit for imports and linkage runs; other requests keep `request_timeout_seconds`."""
