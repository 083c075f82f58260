"""The root query type: the reads of the graph, each through the request's DataLoaders or one service call."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON as JSONScalar

from gateway.clients.base import PageRequest
from gateway.clients.cases import OwnCases
from gateway.context import Info
from gateway.errors import ErrorCode, GatewayError, UpstreamError
from gateway.prefetch import prefetch_families
from gateway.types.casework import Case, Worker
from gateway.types.common import After, Before, Connection, First, Last, paginate, resolver, to_rest
from gateway.types.enums import CaseStatus, IdentifiedFamilyStatus, ReferralKind, ReferralStatus, Role, ServiceName
from gateway.types.identity import IdentityReview
from gateway.types.intelligence import IdentifiedFamily, NeedProfile
from gateway.types.node import Lookup, Node, find_nodes
from gateway.types.outcomes import Claim, Framework
from gateway.types.people import Family, Person, maybe_family, maybe_person
from gateway.types.referrals import Referral, maybe_referral
from gateway.upstream import KeysetPage
from gateway.upstream.cases import FamilyRead
from gateway.upstream.intelligence import IdentifiedFamilyRead
from gateway.upstream.outcomes import ClaimRead
from gateway.upstream.referrals import ReferralRead
from shared.errors import ProblemError

DEFAULT_FIRST = 20
"""The page size of a connection asked for with neither `first` nor `last`."""


@strawberry.input(description="Narrow a list of families.")
class FamilyFilter:
    hub: str | None = strawberry.field(default=None, description="Only families of this hub.")
    lead_worker_id: strawberry.ID | None = strawberry.field(default=None, description="Led by this worker.")
    case_status: CaseStatus | None = strawberry.field(default=None, description="Whose case is in this stage.")
    need: str | None = strawberry.field(default=None, description="With this identified need.")
    eligible: bool | None = strawberry.field(default=None, description="Eligible (or not) for the programme.")


@strawberry.input(description="Narrow a list of referrals.")
class ReferralFilter:
    status: ReferralStatus | None = strawberry.field(default=None, description="In this status.")
    kind: ReferralKind | None = strawberry.field(default=None, description="Of this kind.")
    hub: str | None = strawberry.field(default=None, description="Allocated to this hub.")
    agency: str | None = strawberry.field(default=None, description="From this agency.")
    received_from: str | None = strawberry.field(default=None, description="Received on or after (date).")
    received_to: str | None = strawberry.field(default=None, description="Received on or before (date).")
    breached: bool | None = strawberry.field(default=None, description="Decision overdue (or not).")


@strawberry.input(description="Narrow a list of claims.")
class ClaimFilter:
    status: str | None = strawberry.field(default=None, description="In this status.")
    phase: str | None = strawberry.field(default=None, description="In this programme phase.")
    hub: str | None = strawberry.field(default=None, description="Families of this hub.")


@strawberry.input(description="Narrow the cohort report.")
class CohortFilter:
    hub: str | None = strawberry.field(default=None, description="Only this hub.")
    period: str | None = strawberry.field(default=None, description="A reporting period, e.g. 2025-Q4.")


def _filters(value: Any) -> dict[str, Any]:
    return to_rest(value) if value is not None else {}


def _paging(info: Info, first: int | None, after: str | None, last: int | None, before: str | None) -> dict[str, Any]:
    """A connection field's paging arguments for `paginate`: `first`/`after` or `last`/`before`."""
    return {
        "first": first,
        "after": after,
        "last": last,
        "before": before,
        "max_page_size": info.context.settings.max_page_size,
        "default_page_size": DEFAULT_FIRST,
    }


@strawberry.type(description="Readiness of one service behind the gateway.")
class ServiceHealth:
    service: ServiceName = strawberry.field(description="The service.")
    ready: bool = strawberry.field(description="Whether its /readyz answered 200.")
    detail: str | None = strawberry.field(description="Why it is not ready.")


@strawberry.type(description="The caller, from their verified token.")
class Me:
    sub: str = strawberry.field(description="The token subject (the cases service links it to a worker record).")
    roles: list[Role] = strawberry.field(description="The caller's roles.")
    agency: str | None = strawberry.field(description="The caller's agency code.")
    agency_type: str | None = strawberry.field(description="The caller's agency type.")
    hubs: list[str] = strawberry.field(description="The hubs the caller works in.")
    lookup: strawberry.Private[asyncio.Future[OwnCases] | None] = None

    async def _own_cases(self, info: Info) -> OwnCases:
        if self.lookup is None:
            self.lookup = asyncio.ensure_future(info.context.services.cases.own_cases())
        return await self.lookup

    @resolver(description="The open cases a practitioner leads (empty for other roles).")
    async def caseload(self, info: Info) -> list[Case]:
        if Role.PRACTITIONER not in self.roles:
            return []
        return [Case.from_upstream(c) for c in (await self._own_cases(info)).caseload]

    @resolver(
        description="The practitioner's worker record, linked to the token subject by the cases service (null for "
        "other roles, and for a practitioner with no worker record)."
    )
    async def worker(self, info: Info) -> Worker | None:
        if Role.PRACTITIONER not in self.roles:
            return None
        found = (await self._own_cases(info)).worker
        return Worker.from_upstream(found) if found else None


def _roles(values: frozenset[str]) -> list[Role]:
    out = []
    for value in sorted(values):
        try:
            out.append(Role(value))
        except ValueError:
            continue
    return out


async def _nodes(info: Info, ids: list[str]) -> list[Node | None]:
    loaders = info.context.data_loaders
    lookups: list[Lookup] = [
        (loaders.family.load_many, Family.from_upstream),
        (loaders.person.load_many, Person.from_upstream),
        (loaders.case.load_many, Case.from_upstream),
        (loaders.worker.load_many, Worker.from_upstream),
        (loaders.referral.load_many, Referral.from_upstream),
    ]
    return await find_nodes(ids, lookups, info.context.settings.max_page_size)


@strawberry.type(description="Read the graph.")
class Query:
    @resolver(description="Readiness of each service behind the gateway (no token needed).")
    async def health(self, info: Info) -> list[ServiceHealth]:
        readiness = await info.context.readiness.get()  # one round per request at most, shared by every alias
        return [
            ServiceHealth(service=ServiceName(service), ready=detail is None, detail=detail)
            for service, detail in readiness.items()
        ]

    @resolver(description="The caller; null without a token.")
    async def me(self, info: Info) -> Me | None:
        try:
            principal = await info.context.principal()
        except ProblemError as exc:
            raise GatewayError(exc.detail, ErrorCode.UNAUTHENTICATED) from exc
        if principal is None:
            return None
        return Me(
            sub=principal.sub,
            roles=_roles(principal.roles),
            agency=principal.agency,
            agency_type=principal.agency_type,
            hubs=list(principal.hubs),
        )

    @resolver(
        description="Any object by its id (a family, person, case, worker or referral); null when unknown or not yours "
        "to see (Relay global object identification)."
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return (await _nodes(info, [str(id)]))[0]

    @resolver(
        description="Objects by id, in the order asked: null for each unknown or not yours to see (at most the page "
        "size limit at a time)."
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return await _nodes(info, [str(i) for i in ids])

    @resolver(description="One family by id; null when unknown or not yours to see.")
    async def family(self, info: Info, id: strawberry.ID) -> Family | None:
        return maybe_family(await info.context.data_loaders.family.load(str(id)))

    @resolver(description="Families, a page at a time.")
    async def families(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: FamilyFilter | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Family]:
        cases = info.context.services.cases
        loader = info.context.data_loaders.family

        async def fetch(request: PageRequest) -> KeysetPage[FamilyRead]:
            found = await cases.list_families(request, **_filters(filter))
            for item in found.items:
                loader.prime(item.id, item)
            return found

        page = await paginate(fetch, **_paging(info, first, after, last, before), build=Family.from_upstream)
        await prefetch_families(info, [str(edge.node.id) for edge in page.edges])
        return page

    @resolver(description="One person by id; null when unknown or not yours to see.")
    async def person(self, info: Info, id: strawberry.ID) -> Person | None:
        return maybe_person(await info.context.data_loaders.person.load(str(id)))

    @resolver(description="One referral by id; null when unknown or not yours to see.")
    async def referral(self, info: Info, id: strawberry.ID) -> Referral | None:
        return maybe_referral(await info.context.data_loaders.referral.load(str(id)))

    @resolver(description="Referrals you may see, a page at a time.")
    async def referrals(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: ReferralFilter | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Referral]:
        api = info.context.services.referrals

        async def fetch(request: PageRequest) -> KeysetPage[ReferralRead]:
            return await api.list(request, **_filters(filter))

        return await paginate(fetch, **_paging(info, first, after, last, before), build=Referral.from_upstream)

    @resolver(description="A hub's referrals awaiting a decision (safeguarding concerns first).")
    async def triage_queue(
        self,
        info: Info,
        hub_id: str,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Referral]:
        api = info.context.services.referrals

        async def fetch(request: PageRequest) -> KeysetPage[ReferralRead]:
            return await api.list(request, hub=hub_id, status="received,screening")

        return await paginate(fetch, **_paging(info, first, after, last, before), build=Referral.from_upstream)

    @resolver(description="People in review or conflict awaiting triage's answer to who they are, oldest first.")
    async def identity_reviews(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[IdentityReview]:
        api = info.context.services.referrals
        paging = _paging(info, first, after, last, before)
        return await paginate(api.identity_reviews, **paging, build=IdentityReview.from_upstream)

    @resolver(
        description="Families identified from partner data, most needs and newest evidence first (analysts and "
        "admins see every hub; a hub manager their own)."
    )
    async def identified_families(
        self,
        info: Info,
        hub_id: str | None = None,
        status: IdentifiedFamilyStatus | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[IdentifiedFamily]:
        api = info.context.services.intelligence

        async def fetch(request: PageRequest) -> KeysetPage[IdentifiedFamilyRead]:
            wire = status.value if status is not None else None
            return await api.identified_families(request, hub=hub_id, status=wire)

        paging = _paging(info, first, after, last, before)
        return await paginate(fetch, **paging, build=IdentifiedFamily.from_upstream)

    @resolver(description="One identified family with its members and evidence; null when unknown or not yours.")
    async def identified_family(self, info: Info, id: strawberry.ID) -> IdentifiedFamily | None:
        try:
            uuid.UUID(str(id))
        except ValueError:
            return None  # not an id the service could hold (an empty one would name the list)
        try:
            found = await info.context.services.intelligence.identified_family(str(id))
        except UpstreamError as exc:
            if exc.status in (404, 422):
                return None
            raise
        return IdentifiedFamily.from_upstream(found)

    @resolver(
        description="How common each need is and which occur together, by hub and postcode district and over time "
        "(analysts; counts only, counts from 1 to 4 suppressed)."
    )
    async def need_profile(
        self, info: Info, hub_id: str | None = None, postcode_district: str | None = None
    ) -> NeedProfile:
        found = await info.context.services.intelligence.need_profile(hub=hub_id, postcode_district=postcode_district)
        return NeedProfile.from_upstream(found)

    @resolver(description="One worker by id.")
    async def worker(self, info: Info, id: strawberry.ID) -> Worker | None:
        found = await info.context.data_loaders.worker.load(str(id))
        return Worker.from_upstream(found) if found else None

    @resolver(
        description="A hub's active workers with their current caseload and capacity, to choose a lead worker "
        "(the hub's managers)."
    )
    async def hub_workers(self, info: Info, hub: str) -> list[Worker]:
        return [Worker.from_upstream(w) for w in await info.context.services.cases.hub_workers(hub)]

    @resolver(description="The outcome frameworks the outcomes service holds.")
    async def frameworks(self, info: Info) -> list[Framework]:
        return [Framework.from_upstream(f) for f in await info.context.services.outcomes.frameworks()]

    @resolver(description="Payment-by-results claims, a page at a time.")
    async def claims(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: ClaimFilter | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Claim]:
        api = info.context.services.outcomes

        async def fetch(request: PageRequest) -> KeysetPage[ClaimRead]:
            return await api.list_claims(request, **_filters(filter))

        return await paginate(fetch, **_paging(info, first, after, last, before), build=Claim.from_upstream)

    @resolver(description="The pseudonymised cohort report (no names or identifiers).")
    async def cohort_report(self, info: Info, filter: CohortFilter | None = None) -> JSONScalar:
        report = await info.context.services.outcomes.cohort_report(**_filters(filter))
        return cast(JSONScalar, report)
