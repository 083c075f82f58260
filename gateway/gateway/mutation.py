"""The root mutation type: each mutation is one service call (or a change and a read), with typed user errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar, cast

import strawberry
from strawberry.scalars import JSON as JSONScalar

from gateway.clients.cases import CasesAPI
from gateway.context import Info
from gateway.errors import ErrorCode, GatewayError, UpstreamError
from gateway.types.casework import Case, Contact, Plan
from gateway.types.common import UserError, UserErrorCode, mutation, to_rest, user_errors_from
from gateway.types.enums import IdentifiedFamilyDecision
from gateway.types.identity import FamilyMerge
from gateway.types.inputs import (
    AssessmentInput,
    ClaimValidationInput,
    CloseCaseInput,
    ContactInput,
    DecisionInput,
    FamilyMergeInput,
    LeadWorkerInput,
    MaternityReferralInput,
    ObservationInput,
    PartnerReferralInput,
    PlanInput,
    SchoolReferralInput,
    TeamInput,
)
from gateway.types.intelligence import IdentifiedFamily
from gateway.types.outcomes import AuditSample, Claim
from gateway.types.payloads import (
    AuditSamplePayload,
    CasePayload,
    ClaimPayload,
    ContactPayload,
    FamilyMergePayload,
    IdentifiedFamilyPayload,
    PlanPayload,
    ReferralPayload,
    ReportPayload,
)
from gateway.types.referrals import Referral
from gateway.upstream.cases import CaseRead
from shared.idempotency import KEY as IDEMPOTENCY_KEY
from shared.idempotency import KEY_RULE

P = TypeVar("P")


async def _attempt(call: Awaitable[Any], build: Callable[[Any], P]) -> tuple[P | None, list[UserError]]:
    try:
        return build(await call), []
    except UpstreamError as exc:
        return None, user_errors_from(exc)


def _report(data: Any) -> JSONScalar:
    return cast(JSONScalar, data)


def _dated(body: dict[str, Any], as_of: date | None) -> dict[str, Any]:
    return {**body, "as_of": as_of.isoformat()} if as_of is not None else body


def _idempotency_key_errors(key: str) -> list[UserError]:
    if IDEMPOTENCY_KEY.fullmatch(key):  # what the services accept (`shared.idempotency.KEY`)
        return []
    message = KEY_RULE.replace("Idempotency-Key", "idempotencyKey", 1)
    return [UserError(field="idempotencyKey", message=message, code=UserErrorCode.INVALID)]


def _required(field: str) -> UserError:
    return UserError(field=field, message=f"`{field}` is required", code=UserErrorCode.INVALID)


async def _then_case(cases: CasesAPI, case_id: strawberry.ID, change: Awaitable[None]) -> CaseRead:
    """Make the change, then read the case as it now is (the change answers with the assignment or the
    assessment, not the case)."""
    await change
    found = await cases.cases_by_ids([str(case_id)])
    if not found:
        raise GatewayError(f"Case {case_id} is not visible after the change", ErrorCode.NOT_FOUND)
    return found[0]


@strawberry.type(description="Change the graph. Each mutation returns the changed object and typed user errors.")
class Mutation:
    @mutation(
        description="Submit a maternity referral. `idempotencyKey` is optional as in REST, except for a partner "
        "system's token, which must send one; a retry with the same key replays the first."
    )
    async def submit_maternity_referral(
        self, info: Info, input: MaternityReferralInput, idempotency_key: str | None = None
    ) -> ReferralPayload:
        if idempotency_key is not None and (refused := _idempotency_key_errors(idempotency_key)):
            return ReferralPayload(referral=None, user_errors=refused)
        call = info.context.services.referrals.submit("maternity", to_rest(input), idempotency_key)
        referral, errors = await _attempt(call, Referral.from_upstream)
        return ReferralPayload(referral=referral, user_errors=errors)

    @mutation(
        description="Submit a school referral. `idempotencyKey` is optional as in REST, except for a partner "
        "system's token, which must send one; a retry with the same key replays the first."
    )
    async def submit_school_referral(
        self, info: Info, input: SchoolReferralInput, idempotency_key: str | None = None
    ) -> ReferralPayload:
        if idempotency_key is not None and (refused := _idempotency_key_errors(idempotency_key)):
            return ReferralPayload(referral=None, user_errors=refused)
        call = info.context.services.referrals.submit("school", to_rest(input), idempotency_key)
        referral, errors = await _attempt(call, Referral.from_upstream)
        return ReferralPayload(referral=referral, user_errors=errors)

    @mutation(
        description="Submit a partner referral: police (with Operation Encompass notifications), health, housing, "
        "probation or the voluntary sector (a retry with the same key replays the first)."
    )
    async def submit_partner_referral(
        self, info: Info, input: PartnerReferralInput, idempotency_key: str
    ) -> ReferralPayload:
        if refused := _idempotency_key_errors(idempotency_key):
            return ReferralPayload(referral=None, user_errors=refused)
        call = info.context.services.referrals.submit("partner", to_rest(input), idempotency_key)
        referral, errors = await _attempt(call, Referral.from_upstream)
        return ReferralPayload(referral=referral, user_errors=errors)

    @mutation(description="Decide a referral (hub manager).")
    async def decide_referral(self, info: Info, id: strawberry.ID, input: DecisionInput) -> ReferralPayload:
        decision = input.chosen()
        if decision is None:
            return ReferralPayload(referral=None, user_errors=[_required("decision")])
        body = {"decision": decision.value, "reason": input.reason}
        referral, errors = await _attempt(info.context.services.referrals.decide(str(id), body), Referral.from_upstream)
        return ReferralPayload(referral=referral, user_errors=errors)

    @mutation(description="Withdraw a referral before it is decided (the referring agency).")
    async def withdraw_referral(self, info: Info, id: strawberry.ID, reason: str) -> ReferralPayload:
        call = info.context.services.referrals.withdraw(str(id), {"reason": reason})
        referral, errors = await _attempt(call, Referral.from_upstream)
        return ReferralPayload(referral=referral, user_errors=errors)

    @mutation(
        description="Confirm who a referred person is: one of their candidates (`personId`), or a new person "
        "(`personId` null, with a `reason`) (hub manager)."
    )
    async def confirm_identity(
        self,
        info: Info,
        referral_id: strawberry.ID,
        ref: str,
        person_id: strawberry.ID | None = None,
        reason: str | None = None,
    ) -> ReferralPayload:
        body: dict[str, Any] = {"person_id": str(person_id) if person_id is not None else None}
        if reason is not None:
            body["reason"] = reason
        call = info.context.services.referrals.confirm_identity(str(referral_id), ref, body)
        referral, errors = await _attempt(call, Referral.from_upstream)
        return ReferralPayload(referral=referral, user_errors=errors)

    @mutation(description="Merge a duplicate family into this family: one family, one case (hub manager).")
    async def merge_families(self, info: Info, family_id: strawberry.ID, input: FamilyMergeInput) -> FamilyMergePayload:
        call = info.context.services.cases.merge_families(str(family_id), to_rest(input))
        merge, errors = await _attempt(call, FamilyMerge.from_upstream)
        return FamilyMergePayload(merge=merge, user_errors=errors)

    @mutation(description="Undo a family merge, restoring both families (hub manager).")
    async def undo_family_merge(self, info: Info, merge_id: strawberry.ID, reason: str) -> FamilyMergePayload:
        call = info.context.services.cases.undo_family_merge(str(merge_id), {"reason": reason})
        merge, errors = await _attempt(call, FamilyMerge.from_upstream)
        return FamilyMergePayload(merge=merge, user_errors=errors)

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
        case, errors = await _attempt(call, Case.from_upstream)
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
        case, errors = await _attempt(call, Case.from_upstream)
        return CasePayload(case=case, user_errors=errors)

    @mutation(
        description="Replace the case's plan with a new version. `version` (the plan's, as read) is required once "
        "a plan exists: without it `PRECONDITION_REQUIRED`, an old one `STALE_VERSION`."
    )
    async def update_plan(
        self, info: Info, case_id: strawberry.ID, input: PlanInput, version: int | None = None
    ) -> PlanPayload:
        etag = f'"plan-{version}"' if version is not None else None
        call = info.context.services.cases.update_plan(str(case_id), to_rest(input), etag)
        plan, errors = await _attempt(call, Plan.from_upstream)
        return PlanPayload(plan=plan, user_errors=errors)

    @mutation(
        description="Change the team around the family (its lead worker or a hub manager; audited with the reason). "
        "The team is who may see the case besides the lead worker and the hub's managers. `version` (the case's, "
        "as read) is required: without it `PRECONDITION_REQUIRED`, an old one `STALE_VERSION`."
    )
    async def update_team(
        self, info: Info, case_id: strawberry.ID, input: TeamInput, version: int | None = None
    ) -> CasePayload:
        cases = info.context.services.cases
        etag = f'"case-{version}"' if version is not None else None
        call = _then_case(cases, case_id, cases.update_team(str(case_id), to_rest(input), etag))
        case, errors = await _attempt(call, Case.from_upstream)
        return CasePayload(case=case, user_errors=errors)

    @mutation(
        description="Record a visit, call or meeting with its note; a retry with the same `idempotencyKey` (a UUID "
        "the portal keeps with its draft) replays the first instead of recording the note twice."
    )
    async def add_contact(
        self, info: Info, case_id: strawberry.ID, input: ContactInput, idempotency_key: str | None = None
    ) -> ContactPayload:
        if idempotency_key is not None and (refused := _idempotency_key_errors(idempotency_key)):
            return ContactPayload(contact=None, user_errors=refused)
        note = input.chosen_note()
        if note is None:
            return ContactPayload(contact=None, user_errors=[_required("note")])
        body = {**to_rest(input), "note": note}
        body.pop("summary", None)
        call = info.context.services.cases.add_contact(str(case_id), body, idempotency_key)
        contact, errors = await _attempt(call, Contact.from_upstream)
        return ContactPayload(contact=contact, user_errors=errors)

    @mutation(
        description="Close a case with its outcome. `version` (the case's, as read) is required: without it "
        "`PRECONDITION_REQUIRED`, an old one `STALE_VERSION`."
    )
    async def close_case(
        self, info: Info, case_id: strawberry.ID, input: CloseCaseInput, version: int | None = None
    ) -> CasePayload:
        etag = f'"case-{version}"' if version is not None else None
        call = info.context.services.cases.close_case(str(case_id), to_rest(input), etag)
        case, errors = await _attempt(call, Case.from_upstream)
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
        claim, errors = await _attempt(call, Claim.from_upstream)
        return ClaimPayload(claim=claim, user_errors=errors)

    @mutation(
        description="Draw a reproducible random sample of pending claims for local audit, plus every claim with a "
        "practitioner-assessed need (auditor)."
    )
    async def sample_claims_for_audit(self, info: Info, rate: float, seed: int) -> AuditSamplePayload:
        call = info.context.services.outcomes.audit_sample({"rate": rate, "seed": seed})
        sample, errors = await _attempt(call, AuditSample.from_upstream)
        return AuditSamplePayload(sample=sample, user_errors=errors)

    @mutation(description="Validate or reject a claim (auditor).")
    async def validate_claim(self, info: Info, id: strawberry.ID, input: ClaimValidationInput) -> ClaimPayload:
        call = info.context.services.outcomes.validate_claim(str(id), to_rest(input))
        claim, errors = await _attempt(call, Claim.from_upstream)
        return ClaimPayload(claim=claim, user_errors=errors)

    @mutation(
        description="Decide an identified family: refer it (a referral of kind intelligence goes to triage), not "
        "now, or dismiss (a reason is required for the last two) (hub manager of its hub, or admin)."
    )
    async def decide_identified_family(
        self, info: Info, id: strawberry.ID, decision: IdentifiedFamilyDecision, reason: str | None = None
    ) -> IdentifiedFamilyPayload:
        body: dict[str, Any] = {"decision": decision.value}
        if reason is not None:
            body["reason"] = reason
        call = info.context.services.intelligence.decide(str(id), body)
        family, errors = await _attempt(call, IdentifiedFamily.from_upstream)
        return IdentifiedFamilyPayload(identified_family=family, user_errors=errors)
