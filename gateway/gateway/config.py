"""Gateway settings (env prefix `GATEWAY_`): upstream URLs, timeouts and the query limits."""

from __future__ import annotations

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import DEV_ISSUER, ServiceSettings


class Settings(ServiceSettings):
    """The gateway owns no database; `database_url` stays empty."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    port: int = 8000

    referrals_url: str = "http://127.0.0.1:8001"
    cases_url: str = "http://127.0.0.1:8002"
    outcomes_url: str = "http://127.0.0.1:8003"
    intelligence_url: str = "http://127.0.0.1:8004"

    upstream_timeout_seconds: float = 5.0
    upstream_connect_timeout_seconds: float = 1.0
    upstream_max_connections: int = 100

    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2_000
    max_complexity: int = 5_000
    max_page_size: int = 100
    default_page_size: int = 20
    max_upstream_calls: int = 100
    """Upstream calls one GraphQL request may make, retries included, whatever its aliases (issue 19 F)."""
    health_cache_seconds: float = 2.0
    """How long the services' readiness is reused by `health` and `/readyz` before it is asked again."""

    @property
    def is_development(self) -> bool:
        return self.environment.value == "development"

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> Settings:
        """The gateway's own production checks: it has no database and consumes no events, so those two
        checks of the services do not apply; the issuer and key checks do (it serves no dev JWKS there)."""
        if not self.is_production:
            return self
        problems: list[str] = []
        if self.jwt_issuer == DEV_ISSUER:
            problems.append("jwt_issuer is the development issuer")
        if self.dev_key_path is not None:
            problems.append("dev_key_path must not be set in production (the development signing key)")
        for name in ("referrals_url", "cases_url", "outcomes_url", "intelligence_url"):
            if not getattr(self, name):
                problems.append(f"{name} must be set")
        if problems:
            raise ValueError("refusing to start in production (GATEWAY_*): " + "; ".join(problems))
        return self
