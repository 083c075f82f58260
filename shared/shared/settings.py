"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_EVENT_SECRET = "whsec_ZGV2ZWxvcG1lbnQtb25seS1ldmVudC1zZWNyZXQtMDAwMA=="
DEV_ISSUER = "https://dev.earlyhelp.invalid/"
DEV_AUDIENCE = "earlyhelp"
PLACEHOLDER_MARKERS = ("change-me", "changeme", "placeholder", "dev-only", "development-only")


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


CLUSTER_DOMAINS = (".svc", ".svc.cluster.local", ".cluster.local")
"""Host name suffixes of Services inside a Kubernetes cluster."""


class EventSubscriber(BaseModel):
    """An internal service that receives a service's events (`<PREFIX>_SUBSCRIBERS` is a JSON list of these)."""

    name: str
    url: str
    event_types: list[str]


def insecure_url_problem(url: str) -> str | None:
    """Why `url` must not carry personal data or tokens from a production process, or None when it may.

    https anywhere. Plain http only to a host inside the cluster — a single-label Service name (`cases`), a
    `*.svc[.cluster.local]` name or a private address — where NetworkPolicies confine the traffic and events are
    signed; never with credentials in the URL.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http(s) URL with a host"
    if parts.username or parts.password:
        return "must not carry credentials (use the service token or a Secret)"
    if parts.scheme == "https":
        return None
    try:
        inside = ipaddress.ip_address(host).is_private and not ipaddress.ip_address(host).is_loopback
    except ValueError:
        inside = ("." not in host and host != "localhost") or host.endswith(CLUSTER_DOMAINS)
    return None if inside else "must use https (plain http only to a Service inside the cluster)"


def default_data_dir() -> Path:
    return Path.cwd() / ".data"


class ServiceSettings(BaseSettings):
    """Common settings. A service's subclass sets `model_config = SettingsConfigDict(env_prefix="NAME_")`."""

    # Secrets may be files named like the variables (`REFERRALS_DATABASE_URL`) in EARLYHELP_SECRETS_DIR (Kubernetes).
    model_config = SettingsConfigDict(
        env_prefix="EARLYHELP_", extra="ignore", secrets_dir=os.environ.get("EARLYHELP_SECRETS_DIR")
    )

    service_name: str = "service"
    environment: Environment = Environment.development
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = ""
    read_replica_url: str | None = None
    """A read replica for read-heavy reports (`ReadSessionDep`); the primary is used when unset."""
    database_pool_size: int = 10
    database_max_overflow: int = 10
    data_dir: Path = Field(default_factory=default_data_dir)

    jwt_issuer: str = DEV_ISSUER
    jwt_audience: str = DEV_AUDIENCE
    jwks_url: str | None = None
    dev_key_path: Path | None = None
    jwt_leeway_seconds: int = 30
    jwks_max_age_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a fetched JWKS is trusted before it is fetched again: a key the identity provider "
        "removed stops being trusted within this time",
    )

    service_token: str | None = None
    """Bearer token this service presents to the others (from the identity provider in production).
    Outside production, when unset, the service mints one with the development key."""

    event_secret: str = DEV_EVENT_SECRET
    outbox_poll_interval: float = 3.0
    outbox_batch_size: int = 100
    outbox_max_attempts: int = 10
    outbox_backoff_base: float = 0.5
    outbox_backoff_max: float = 300.0
    outbox_delivery_timeout: float = 5.0
    relay_enabled: bool = True

    max_body_bytes: int = 1_048_576
    rate_limit_per_second: float = 50.0
    """Sustained requests per second per client (token subject, else address); 0 turns the limit off."""
    rate_limit_burst: int = 200
    request_timeout_seconds: float = 30.0
    idempotency_purge_interval: float = 3600.0
    """Seconds between deletions of expired Idempotency-Keys (kept 24 h; `shared.idempotency`); 0 turns it off."""
    log_level: str = "INFO"
    council_name: str = "the council"
    """The data controller named in the privacy notice served at `/privacy` (e.g. Leeds City Council)."""
    privacy_contact: str = "the council's data protection officer"
    """How families reach the data protection officer, shown in the privacy notice (an address or email)."""
    privacy_notice_path: Path | None = None
    """The council's own privacy notice (an HTML file) served at `/privacy` instead of the platform's default."""
    otlp_endpoint: str | None = None
    """OTLP/HTTP traces endpoint (e.g. http://otel-collector:4318/v1/traces); tracing is off when unset."""

    def outbound_urls(self) -> Iterator[tuple[str, str]]:
        """(setting, URL) for every URL this process sends requests, tokens or events to: each `*_url` setting
        other than the databases', the tracing endpoint, and the event subscribers'."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name.endswith("_url") and name not in ("database_url", "read_replica_url") and value:
                yield name, str(value)
        if self.otlp_endpoint:
            yield "otlp_endpoint", self.otlp_endpoint
        for subscriber in getattr(self, "subscribers", ()):
            if isinstance(subscriber, EventSubscriber):
                yield f"subscribers[{subscriber.name}].url", subscriber.url

    @property
    def is_production(self) -> bool:
        return self.environment == Environment.production

    @property
    def signing_key_path(self) -> Path:
        return self.dev_key_path or self.data_dir / "dev-signing-key.pem"

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> ServiceSettings:
        if not self.is_production:
            return self
        problems: list[str] = []
        if self.event_secret == DEV_EVENT_SECRET or any(m in self.event_secret for m in PLACEHOLDER_MARKERS):
            problems.append("event_secret is the development or a placeholder secret")
        if self.jwt_issuer == DEV_ISSUER:
            problems.append("jwt_issuer is the development issuer")
        if not self.jwks_url:
            problems.append("jwks_url must name the identity provider's JWKS in production")
        if self.dev_key_path is not None:
            problems.append("dev_key_path must not be set in production (the development signing key)")
        if not self.jwt_audience:
            problems.append("jwt_audience must be set")
        if self.jwks_url and not self.jwks_url.startswith("https://"):
            problems.append("jwks_url must use https")
        if not self.database_url:
            problems.append("database_url must be set")
        if problems:
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(f"refusing to start in production ({prefix}*): " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _refuse_insecure_urls_in_production(self) -> ServiceSettings:
        """Separate from the secrets check so that a subclass replacing that one (the gateway) keeps this."""
        if not self.is_production:
            return self
        problems = [f"{name} {problem}" for name, url in self.outbound_urls() if (problem := insecure_url_problem(url))]
        if problems:
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(f"refusing to start in production ({prefix}*): " + "; ".join(problems))
        return self
