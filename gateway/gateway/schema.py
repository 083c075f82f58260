"""The GraphQL schema: queries and mutations over the three services, with limits and error masking.

Resolvers call only the request's DataLoaders (reads) or one service call (mutations). The SDL of this
schema is committed in `schema.graphql`; `python -m gateway.schema_check` compares the two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar, cast

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, MaskErrors, MaxTokensLimiter, SchemaExtension
from strawberry.scalars import JSON as JSONScalar
from strawberry.types import ExecutionContext

from gateway.clients import SERVICES
from gateway.clients.base import Caller
from gateway.clients.cases import CasesAPI, OwnCases
from gateway.config import Settings
from gateway.context import Info
from gateway.documents import DocumentCache, DocumentExtension
from gateway.errors import ErrorCode, GatewayError, UpstreamError
from gateway.limits import QueryLimits
from gateway.prefetch import prefetch_families
from gateway.types.common import (
    Connection,
    UserError,
    UserErrorCode,
    mutation,
    paginate,
    resolver,
    to_rest,
    user_errors_from,
)
from gateway.types.enums import CaseStatus, ReferralKind, ReferralStatus, Role, ServiceName
from gateway.types.graph import (
    AuditSample,
    Case,
    Claim,
    Contact,
    Family,
    Framework,
    Person,
    Plan,
    Referral,
    Worker,
)
from gateway.types.inputs import (
    AssessmentInput,
    ClaimValidationInput,
    CloseCaseInput,
    ContactInput,
    DecisionInput,
    LeadWorkerInput,
    MaternityReferralInput,
    ObservationInput,
    PlanInput,
    SchoolReferralInput,
)
from gateway.types.payloads import (
    AuditSamplePayload,
    CasePayload,
    ClaimPayload,
    ContactPayload,
    PlanPayload,
    ReferralPayload,
    ReportPayload,
)
from shared.errors import ProblemError
from shared.idempotency import KEY as IDEMPOTENCY_KEY
from shared.logging import current_request_id

P = TypeVar("P")
log = structlog.get_logger("gateway.schema")
DEFAULT_FIRST = 20


# --- filters -----------------------------------------------------------------------------------------------


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


# --- types only the root uses ------------------------------------------------------------------------------


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
        return [Case.from_json(c) for c in (await self._own_cases(info)).caseload]

    @resolver(
        description="The practitioner's worker record, linked to the token subject by the cases service (null for "
        "other roles, and for a practitioner with no worker record)."
    )
    async def worker(self, info: Info) -> Worker | None:
        if Role.PRACTITIONER not in self.roles:
            return None
        found = (await self._own_cases(info)).worker
        return Worker.from_json(found) if found else None


def _roles(values: frozenset[str]) -> list[Role]:
    out = []
    for value in sorted(values):
        try:
            out.append(Role(value))
        except ValueError:
            continue
    return out


async def _readiness(info: Info, service: str) -> ServiceHealth:
    upstream = getattr(info.context.upstreams, service)
    caller = Caller(token=None, request_id=info.context.caller.request_id, trace_id=info.context.caller.trace_id)
    try:
        await upstream.request("GET", "/readyz", caller)
    except UpstreamError as exc:
        return ServiceHealth(service=ServiceName(service), ready=False, detail=exc.detail)
    return ServiceHealth(service=ServiceName(service), ready=True, detail=None)


@strawberry.type(description="Read the graph.")
class Query:
    @resolver(description="Readiness of each service behind the gateway (no token needed).")
    async def health(self, info: Info) -> list[ServiceHealth]:
        return list(await asyncio.gather(*(_readiness(info, s) for s in SERVICES)))

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

    @resolver(description="One family by id; null when unknown or not yours to see.")
    async def family(self, info: Info, id: strawberry.ID) -> Family | None:
        found = await info.context.data_loaders.family.load(str(id))
        return Family.from_json(found) if found else None

    @resolver(description="Families, a page at a time.")
    async def families(
        self,
        info: Info,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
        filter: FamilyFilter | None = None,
    ) -> Connection[Family]:
        cases = info.context.services.cases
        loader = info.context.data_loaders.family

        async def fetch(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            items, next_cursor = await cases.list_families(limit=limit, cursor=cursor, **_filters(filter))
            for item in items:
                loader.prime(str(item["id"]), item)
            return items, next_cursor

        page = await paginate(
            fetch,
            first=first,
            after=after,
            build=Family.from_json,
            max_page_size=info.context.settings.max_page_size,
        )
        await prefetch_families(info, [str(edge.node.id) for edge in page.edges])
        return page

    @resolver(description="One person by id; null when unknown or not yours to see.")
    async def person(self, info: Info, id: strawberry.ID) -> Person | None:
        found = await info.context.data_loaders.person.load(str(id))
        return Person.from_json(found) if found else None

    @resolver(description="One referral by id; null when unknown or not yours to see.")
    async def referral(self, info: Info, id: strawberry.ID) -> Referral | None:
        found = await info.context.data_loaders.referral.load(str(id))
        return Referral.from_json(found) if found else None

    @resolver(description="Referrals you may see, a page at a time.")
    async def referrals(
        self,
        info: Info,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
        filter: ReferralFilter | None = None,
    ) -> Connection[Referral]:
        api = info.context.services.referrals

        async def fetch(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            return await api.list(limit=limit, cursor=cursor, **_filters(filter))

        return await paginate(
            fetch,
            first=first,
            after=after,
            build=Referral.from_json,
            max_page_size=info.context.settings.max_page_size,
        )

    @resolver(description="A hub's referrals awaiting a decision (safeguarding concerns first).")
    async def triage_queue(
        self, info: Info, hub_id: str, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Referral]:
        api = info.context.services.referrals

        async def fetch(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            return await api.list(limit=limit, cursor=cursor, hub=hub_id, status="received,screening")

        return await paginate(
            fetch,
            first=first,
            after=after,
            build=Referral.from_json,
            max_page_size=info.context.settings.max_page_size,
        )

    @resolver(description="One worker by id.")
    async def worker(self, info: Info, id: strawberry.ID) -> Worker | None:
        found = await info.context.data_loaders.worker.load(str(id))
        return Worker.from_json(found) if found else None

    @resolver(
        description="A hub's active workers with their current caseload and capacity, to choose a lead worker "
        "(the hub's managers)."
    )
    async def hub_workers(self, info: Info, hub: str) -> list[Worker]:
        return [Worker.from_json(w) for w in await info.context.services.cases.hub_workers(hub)]

    @resolver(description="The outcome frameworks the outcomes service holds.")
    async def frameworks(self, info: Info) -> list[Framework]:
        return [Framework.from_json(f) for f in await info.context.services.outcomes.frameworks()]

    @resolver(description="Payment-by-results claims, a page at a time.")
    async def claims(
        self,
        info: Info,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
        filter: ClaimFilter | None = None,
    ) -> Connection[Claim]:
        api = info.context.services.outcomes

        async def fetch(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            return await api.list_claims(limit=limit, cursor=cursor, **_filters(filter))

        return await paginate(
            fetch,
            first=first,
            after=after,
            build=Claim.from_json,
            max_page_size=info.context.settings.max_page_size,
        )

    @resolver(description="The pseudonymised cohort report (no names or identifiers).")
    async def cohort_report(self, info: Info, filter: CohortFilter | None = None) -> JSONScalar:
        report = await info.context.services.outcomes.cohort_report(**_filters(filter))
        return cast(JSONScalar, report)


# --- mutations ---------------------------------------------------------------------------------------------


async def _attempt(call: Awaitable[Any], build: Callable[[Any], P]) -> tuple[P | None, list[UserError]]:
    try:
        return build(await call), []
    except UpstreamError as exc:
        return None, user_errors_from(exc)


def _referral(data: Any) -> Referral:
    return Referral.from_json(data)


def _case(data: Any) -> Case:
    return Case.from_json(data)


def _report(data: Any) -> JSONScalar:
    return cast(JSONScalar, data)


def _dated(body: dict[str, Any], as_of: date | None) -> dict[str, Any]:
    return {**body, "as_of": as_of.isoformat()} if as_of is not None else body


def _idempotency_key_errors(key: str) -> list[UserError]:
    if IDEMPOTENCY_KEY.fullmatch(key):  # what the services accept: 1-255 visible ASCII characters
        return []
    message = "idempotencyKey must be 1-255 visible ASCII characters (a UUID is a good key)"
    return [UserError(field="idempotencyKey", message=message, code=UserErrorCode.INVALID)]


async def _then_case(cases: CasesAPI, case_id: strawberry.ID, change: Awaitable[Any]) -> dict[str, Any]:
    """Make the change, then read the case as it now is (the change answers with the assignment or the
    assessment, not the case)."""
    await change
    found = await cases.cases_by_ids([str(case_id)])
    if not found:
        raise GatewayError(f"Case {case_id} is not visible after the change", ErrorCode.NOT_FOUND)
    return found[0]


@strawberry.type(description="Change the graph. Each mutation returns the changed object and typed user errors.")
class Mutation:
    @mutation(description="Submit a maternity referral (a retry with the same key replays the first).")
    async def submit_maternity_referral(
        self, info: Info, input: MaternityReferralInput, idempotency_key: str
    ) -> ReferralPayload:
        if refused := _idempotency_key_errors(idempotency_key):
            return ReferralPayload(referral=None, user_errors=refused)
        call = info.context.services.referrals.submit("maternity", to_rest(input), idempotency_key)
        referral, errors = await _attempt(call, _referral)
        return ReferralPayload(referral=referral, user_errors=errors)

    @mutation(description="Submit a school referral (a retry with the same key replays the first).")
    async def submit_school_referral(
        self, info: Info, input: SchoolReferralInput, idempotency_key: str
    ) -> ReferralPayload:
        if refused := _idempotency_key_errors(idempotency_key):
            return ReferralPayload(referral=None, user_errors=refused)
        call = info.context.services.referrals.submit("school", to_rest(input), idempotency_key)
        referral, errors = await _attempt(call, _referral)
        return ReferralPayload(referral=referral, user_errors=errors)

    @mutation(description="Decide a referral (hub manager).")
    async def decide_referral(self, info: Info, id: strawberry.ID, input: DecisionInput) -> ReferralPayload:
        referral, errors = await _attempt(info.context.services.referrals.decide(str(id), to_rest(input)), _referral)
        return ReferralPayload(referral=referral, user_errors=errors)

    @mutation(description="Withdraw a referral before it is decided (the referring agency).")
    async def withdraw_referral(self, info: Info, id: strawberry.ID, reason: str) -> ReferralPayload:
        call = info.context.services.referrals.withdraw(str(id), {"reason": reason})
        referral, errors = await _attempt(call, _referral)
        return ReferralPayload(referral=referral, user_errors=errors)

    @mutation(
        description="Assign or reassign a case's lead worker, keeping history (hub manager); a retry with the same "
        "`idempotencyKey` replays the first."
    )
    async def assign_lead_worker(
        self, info: Info, case_id: strawberry.ID, input: LeadWorkerInput, idempotency_key: str | None = None
    ) -> CasePayload:
        if idempotency_key is not None and (refused := _idempotency_key_errors(idempotency_key)):
            return CasePayload(case=None, user_errors=refused)
        cases = info.context.services.cases
        change = cases.assign_lead_worker(str(case_id), to_rest(input), idempotency_key)
        call = _then_case(cases, case_id, change)
        case, errors = await _attempt(call, _case)
        return CasePayload(case=case, user_errors=errors)

    @mutation(
        description="Record the whole-family assessment of a case (its lead worker or a hub manager); a retry with "
        "the same `idempotencyKey` replays the first."
    )
    async def record_assessment(
        self, info: Info, case_id: strawberry.ID, input: AssessmentInput, idempotency_key: str | None = None
    ) -> CasePayload:
        if idempotency_key is not None and (refused := _idempotency_key_errors(idempotency_key)):
            return CasePayload(case=None, user_errors=refused)
        cases = info.context.services.cases
        change = cases.record_assessment(str(case_id), to_rest(input), idempotency_key)
        call = _then_case(cases, case_id, change)
        case, errors = await _attempt(call, _case)
        return CasePayload(case=case, user_errors=errors)

    @mutation(description="Replace the case's plan with a new version; `version` must be the current one.")
    async def update_plan(
        self, info: Info, case_id: strawberry.ID, input: PlanInput, version: int | None = None
    ) -> PlanPayload:
        etag = f'"plan-{version}"' if version is not None else None
        call = info.context.services.cases.update_plan(str(case_id), to_rest(input), etag)
        plan, errors = await _attempt(call, Plan.from_json)
        return PlanPayload(plan=plan, user_errors=errors)

    @mutation(
        description="Record a visit, call or meeting with its note; a retry with the same `idempotencyKey` (a UUID "
        "the portal keeps with its draft) replays the first instead of recording the note twice."
    )
    async def add_contact(
        self, info: Info, case_id: strawberry.ID, input: ContactInput, idempotency_key: str | None = None
    ) -> ContactPayload:
        if idempotency_key is not None and (refused := _idempotency_key_errors(idempotency_key)):
            return ContactPayload(contact=None, user_errors=refused)
        body = to_rest(input)
        body["note"] = body.pop("summary")
        call = info.context.services.cases.add_contact(str(case_id), body, idempotency_key)
        contact, errors = await _attempt(call, Contact.from_json)
        return ContactPayload(contact=contact, user_errors=errors)

    @mutation(description="Close a case with its outcome; `version`, when given, must be the case's current one.")
    async def close_case(
        self, info: Info, case_id: strawberry.ID, input: CloseCaseInput, version: int | None = None
    ) -> CasePayload:
        etag = f'"case-{version}"' if version is not None else None
        call = info.context.services.cases.close_case(str(case_id), to_rest(input), etag)
        case, errors = await _attempt(call, _case)
        return CasePayload(case=case, user_errors=errors)

    @mutation(description="Load a batch of observations, at most 10,000 rows (analyst).")
    async def record_observations(
        self, info: Info, observations: list[ObservationInput], source_agency: str | None = None
    ) -> ReportPayload:
        body: dict[str, Any] = {"rows": to_rest(observations)}
        if source_agency is not None:
            body["source_agency"] = source_agency
        report, errors = await _attempt(info.context.services.outcomes.record_observations(body), _report)
        return ReportPayload(report=report, user_errors=errors)

    @mutation(description="Evaluate one family, or the whole cohort when no family is given (analyst).")
    async def run_evaluation(
        self, info: Info, family_id: strawberry.ID | None = None, as_of: date | None = None
    ) -> ReportPayload:
        body = _dated({"family_id": str(family_id)} if family_id else {}, as_of)
        report, errors = await _attempt(info.context.services.outcomes.run_evaluation(body), _report)
        return ReportPayload(report=report, user_errors=errors)

    @mutation(
        description="Claim for a family whose every need is met and sustained (analyst); a retry with the same "
        "`idempotencyKey` replays the first claim instead of answering that the family is already claimed."
    )
    async def create_claim(
        self, info: Info, family_id: strawberry.ID, as_of: date | None = None, idempotency_key: str | None = None
    ) -> ClaimPayload:
        if idempotency_key is not None and (refused := _idempotency_key_errors(idempotency_key)):
            return ClaimPayload(claim=None, user_errors=refused)
        body = _dated({"family_id": str(family_id)}, as_of)
        call = info.context.services.outcomes.create_claim(body, idempotency_key)
        claim, errors = await _attempt(call, Claim.from_json)
        return ClaimPayload(claim=claim, user_errors=errors)

    @mutation(
        description="Draw a reproducible random sample of pending claims for local audit, plus every claim with a "
        "practitioner-assessed need (auditor)."
    )
    async def sample_claims_for_audit(self, info: Info, rate: float, seed: int) -> AuditSamplePayload:
        call = info.context.services.outcomes.audit_sample({"rate": rate, "seed": seed})
        sample, errors = await _attempt(call, AuditSample.from_json)
        return AuditSamplePayload(sample=sample, user_errors=errors)

    @mutation(description="Validate or reject a claim (auditor).")
    async def validate_claim(self, info: Info, id: strawberry.ID, input: ClaimValidationInput) -> ClaimPayload:
        call = info.context.services.outcomes.validate_claim(str(id), to_rest(input))
        claim, errors = await _attempt(call, Claim.from_json)
        return ClaimPayload(claim=claim, user_errors=errors)


# --- error masking -----------------------------------------------------------------------------------------

TOKEN_LIMIT_MARKER = "tokens. Parsing aborted"


def _is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is None or isinstance(original, GatewayError)


class MaskUnexpectedErrors(MaskErrors):
    """Hide unexpected errors behind the request id; show gateway and upstream errors with their code."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _is_expected(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = current_request_id()
        return GraphQLError(
            message=f"An unexpected error occurred; quote request id {request_id} when reporting it",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            if error.original_error is None and TOKEN_LIMIT_MARKER in error.message:
                error.extensions = {**(error.extensions or {}), "code": ErrorCode.TOO_MANY_TOKENS.value}
        return processed


class GatewaySchema(strawberry.Schema):
    """Logs only unexpected errors (with their trace); upstream and limit errors are the clients' business."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            if not _is_expected(error):
                log.error(
                    "graphql_unexpected_error",
                    error_type=type(error.original_error).__name__,
                    path=error.path,
                    exc_info=error.original_error,
                )


def build_schema(settings: Settings) -> strawberry.Schema:
    limits = QueryLimits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_complexity=settings.max_complexity,
        max_page_size=settings.max_page_size,
        default_page_size=DEFAULT_FIRST,
    )
    documents = DocumentCache()
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: DocumentExtension(limits, documents),
        MaskUnexpectedErrors,
    ]
    if not settings.is_development:
        extensions.append(DisableIntrospection)
    return GatewaySchema(query=Query, mutation=Mutation, extensions=extensions)


schema = strawberry.Schema(query=Query, mutation=Mutation)
"""The schema without per-deployment extensions, for printing the SDL."""
