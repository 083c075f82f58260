"""Settings for the outcomes service (environment prefix `OUTCOMES_`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

SERVICE_DIR = Path(__file__).resolve().parent.parent


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OUTCOMES_", extra="ignore")

    service_name: str = "outcomes"
    port: int = 8003
    cases_url: str = "http://127.0.0.1:8002"
    """The cases service, asked with a practitioner's own token which families they may see (progress)."""
    active_framework: str = "supporting-families-2022"
    """The framework whose need codes the platform uses (its current version)."""
    programme_phase: str = "2022-2025"
    """Enrolments and claims belong to a phase; a family is claimed at most once per phase. The phase used while
    no phase defined with `PUT /v1/programme/phases/{code}` holds today's date."""
    funding_model: Literal["payment_by_results", "earned_autonomy"] = "payment_by_results"
    """The funding model of that fallback phase (a defined phase carries its own)."""
    import_max_bytes: int = 1024 * 1024 * 1024
    """Largest CSV upload to `POST /v1/observations/import` (streamed, never held in memory)."""
    batch_max_bytes: int = 16 * 1024 * 1024
    """Largest JSON body to `POST /v1/observations` (up to 10,000 rows)."""
    import_error_limit: int = 1000
    """How many bad rows an import report lists (all are counted)."""
    evaluation_shards: int = Field(default=2, ge=1, le=32)
    """Connections a cohort evaluation uses at once, each evaluating a part of the families in its own
    transaction (PostgreSQL runs one statement on one core). Set it to the database server's cores that
    evaluations may take; 1 evaluates the cohort in the request's transaction alone."""
    bulk_request_timeout_seconds: float = 900.0
    """Request time limit for CSV imports and evaluations (a million-row file or a whole cohort of 100,000
    families takes 15-30 s); other requests keep `request_timeout_seconds`."""

    @model_validator(mode="after")
    def _shards_fit_the_pool(self) -> Settings:
        """A cohort evaluation holds `evaluation_shards` of the pool's connections at once; leave room for the
        requests that arrive meanwhile, rather than have it wait on its own pool."""
        room = self.database_pool_size + self.database_max_overflow
        if self.evaluation_shards >= room:
            raise ValueError(
                f"evaluation_shards ({self.evaluation_shards}) must be below database_pool_size + "
                f"database_max_overflow ({room}): a cohort evaluation holds that many connections at once"
            )
        return self
