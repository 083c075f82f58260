"""Mutation payloads: the changed object (null when nothing changed) and typed user errors."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON as JSONScalar

from gateway.types.common import UserError
from gateway.types.graph import AuditSample, Case, Claim, Contact, Plan, Referral
from gateway.types.identity import FamilyMerge
from gateway.types.intelligence import IdentifiedFamily


@strawberry.type(description="The result of a referral mutation.")
class ReferralPayload:
    referral: Referral | None = strawberry.field(description="The referral as it now is.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, field by field.")


@strawberry.type(description="The result of a case mutation.")
class CasePayload:
    case: Case | None = strawberry.field(description="The case as it now is.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, field by field.")


@strawberry.type(description="The result of `updatePlan`.")
class PlanPayload:
    plan: Plan | None = strawberry.field(description="The new version of the plan.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, field by field.")


@strawberry.type(description="The result of `addContact`.")
class ContactPayload:
    contact: Contact | None = strawberry.field(description="The recorded contact.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, field by field.")


@strawberry.type(description="The result of a claim mutation.")
class ClaimPayload:
    claim: Claim | None = strawberry.field(description="The claim as it now is.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, field by field.")


@strawberry.type(description="The report of an observations load or an evaluation run.")
class ReportPayload:
    report: JSONScalar | None = strawberry.field(
        description="The service's report (rows stored, rejected with reasons, unmatched; or the evaluation)."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, field by field.")


@strawberry.type(description="The result of `sampleClaimsForAudit`.")
class AuditSamplePayload:
    sample: AuditSample | None = strawberry.field(description="The sample drawn.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, field by field.")


@strawberry.type(description="The result of `mergeFamilies` and `undoFamilyMerge`.")
class FamilyMergePayload:
    merge: FamilyMerge | None = strawberry.field(description="The merge as it now is.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, field by field.")


@strawberry.type(description="The result of `decideIdentifiedFamily`.")
class IdentifiedFamilyPayload:
    identified_family: IdentifiedFamily | None = strawberry.field(description="The identified family as it now is.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, field by field.")
