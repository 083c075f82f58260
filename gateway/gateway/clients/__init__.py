"""HTTP clients for the three services: one pooled `Upstream` each, bound per request to the caller."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.clients.base import Caller, ServiceAPI, Upstream
from gateway.clients.cases import CasesAPI
from gateway.clients.outcomes import OutcomesAPI
from gateway.clients.referrals import ReferralsAPI
from gateway.config import Settings

SERVICES = ("referrals", "cases", "outcomes")


@dataclass(slots=True)
class Upstreams:
    """The long-lived clients, created in the lifespan and closed with it."""

    referrals: Upstream
    cases: Upstream
    outcomes: Upstream

    @classmethod
    def from_settings(cls, settings: Settings) -> Upstreams:
        def make(name: str, url: str) -> Upstream:
            return Upstream(
                name,
                url,
                timeout=settings.upstream_timeout_seconds,
                connect_timeout=settings.upstream_connect_timeout_seconds,
                max_connections=settings.upstream_max_connections,
            )

        return cls(
            referrals=make("referrals", settings.referrals_url),
            cases=make("cases", settings.cases_url),
            outcomes=make("outcomes", settings.outcomes_url),
        )

    def all(self) -> tuple[Upstream, ...]:
        return (self.referrals, self.cases, self.outcomes)

    async def aclose(self) -> None:
        for upstream in self.all():
            await upstream.aclose()


@dataclass(frozen=True, slots=True)
class Services:
    """The three services bound to one request's caller."""

    referrals: ReferralsAPI
    cases: CasesAPI
    outcomes: OutcomesAPI

    @classmethod
    def bind(cls, upstreams: Upstreams, caller: Caller) -> Services:
        return cls(
            referrals=ReferralsAPI(upstreams.referrals, caller),
            cases=CasesAPI(upstreams.cases, caller),
            outcomes=OutcomesAPI(upstreams.outcomes, caller),
        )


__all__ = [
    "SERVICES",
    "Caller",
    "CasesAPI",
    "OutcomesAPI",
    "ReferralsAPI",
    "ServiceAPI",
    "Services",
    "Upstream",
    "Upstreams",
]
