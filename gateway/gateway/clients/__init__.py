"""HTTP clients for the four services: one pooled `Upstream` each, bound per request to the caller."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.clients.base import Caller, ServiceAPI, Upstream
from gateway.clients.cases import CasesAPI
from gateway.clients.intelligence import IntelligenceAPI
from gateway.clients.outcomes import OutcomesAPI
from gateway.clients.referrals import ReferralsAPI
from gateway.config import Settings

SERVICES = ("referrals", "cases", "outcomes", "intelligence")


@dataclass(slots=True)
class Upstreams:
    """The long-lived clients, created in the lifespan and closed with it."""

    referrals: Upstream
    cases: Upstream
    outcomes: Upstream
    intelligence: Upstream

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
            intelligence=make("intelligence", settings.intelligence_url),
        )

    def all(self) -> tuple[Upstream, ...]:
        return (self.referrals, self.cases, self.outcomes, self.intelligence)

    async def aclose(self) -> None:
        for upstream in self.all():
            await upstream.aclose()


@dataclass(frozen=True, slots=True)
class Services:
    """The four services bound to one request's caller."""

    referrals: ReferralsAPI
    cases: CasesAPI
    outcomes: OutcomesAPI
    intelligence: IntelligenceAPI

    @classmethod
    def bind(cls, upstreams: Upstreams, caller: Caller) -> Services:
        return cls(
            referrals=ReferralsAPI(upstreams.referrals, caller),
            cases=CasesAPI(upstreams.cases, caller),
            outcomes=OutcomesAPI(upstreams.outcomes, caller),
            intelligence=IntelligenceAPI(upstreams.intelligence, caller),
        )


__all__ = [
    "SERVICES",
    "Caller",
    "CasesAPI",
    "IntelligenceAPI",
    "OutcomesAPI",
    "ReferralsAPI",
    "ServiceAPI",
    "Services",
    "Upstream",
    "Upstreams",
]
