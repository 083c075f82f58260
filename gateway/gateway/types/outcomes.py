"""Frameworks, progress, claims and audit samples (the outcomes service)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON as JSONScalar

from gateway.context import Info
from gateway.loaders import loaded
from gateway.types.common import Resolved, resolver
from gateway.upstream import outcomes as up
from shared.contracts import ActiveFramework


@strawberry.type(description="How progress on a need is shown: a rule kind and its parameters.")
class OutcomeRule:
    kind: str = strawberry.field(description="attendance_threshold, reduction_vs_baseline, …")
    params: JSONScalar | None = strawberry.field(description="The rule's parameters as set in the framework.")


@strawberry.type(description="A descriptor of a need: the code an assessment sends, and the sentence shown.")
class NeedDescriptor:
    code: str = strawberry.field(description="Stable code, sent in `AssessedNeedInput.descriptors`.")
    label: str = strawberry.field(description="The sentence practitioners read.")


@strawberry.type(description="A headline outcome (need) of a framework.")
class FrameworkNeed:
    code: str = strawberry.field(description="The need code used across the platform.")
    name: str = strawberry.field(description="The need's name.")
    descriptor_details: list[NeedDescriptor] = strawberry.field(
        description="Descriptors practitioners assess against: each code (sent by `recordAssessment`) and label."
    )
    descriptors: list[str] = strawberry.field(
        description="The descriptors' labels.",
        deprecation_reason="Use `descriptorDetails`: an assessment sends the code; the label is for display.",
    )
    rule: OutcomeRule | None = strawberry.field(description="The rule that shows progress.")


def _needs(found: ActiveFramework) -> list[FrameworkNeed]:
    return [
        FrameworkNeed(
            code=need.code,
            name=need.name,
            descriptor_details=[NeedDescriptor(code=d.code, label=d.label) for d in need.descriptors],
            descriptors=[d.label for d in need.descriptors],
            rule=OutcomeRule(kind=need.rule.kind, params=cast(JSONScalar, need.rule.params)) if need.rule else None,
        )
        for need in found.needs
    ]


@strawberry.type(description="A version of an outcome framework (frameworks are data).")
class Framework:
    code: str = strawberry.field(description="e.g. supporting-families-2022.")
    version: str = strawberry.field(description="The framework version.")
    name: str = strawberry.field(description="Its name.")

    @classmethod
    def from_upstream(cls, data: up.FrameworkSummary) -> Framework:
        return cls(code=data.code, version=data.version, name=data.name)

    @resolver(description="Minimum distinct needs for eligibility.", graphql_type="int | None")
    def min_needs(self, info: Info) -> Resolved[int | None]:
        return loaded(info.context.data_loaders.framework, (self.code, self.version), lambda f: f.min_needs)

    @resolver(description="Whether dependent children or an expectant parent are required.", graphql_type="bool | None")
    def requires_dependent_children(self, info: Info) -> Resolved[bool | None]:
        loader = info.context.data_loaders.framework
        return loaded(loader, (self.code, self.version), lambda f: f.requires_dependent_children)

    @resolver(description="Months outcomes must be sustained after closure.", graphql_type="int | None")
    def sustain_months(self, info: Info) -> Resolved[int | None]:
        return loaded(info.context.data_loaders.framework, (self.code, self.version), lambda f: f.sustain_months)

    @resolver(description="The headline outcomes.", graphql_type=list[FrameworkNeed])
    def needs(self, info: Info) -> Resolved[list[FrameworkNeed]]:
        return loaded(info.context.data_loaders.framework, (self.code, self.version), _needs)


@strawberry.type(description="The evaluated progress of a family against one identified need.")
class NeedProgress:
    need: str = strawberry.field(description="The need code.")
    met: bool | None = strawberry.field(description="Whether the need's rule is met.")
    sustained: bool | None = strawberry.field(description="Whether the outcome has been sustained as required.")
    reasons: list[str] = strawberry.field(description="Why, in words (e.g. missing data for a term).")
    evaluated_at: datetime | None = strawberry.field(description="When it was last evaluated.")

    @classmethod
    def from_upstream(cls, data: up.NeedProgress) -> NeedProgress:
        return cls(
            need=data.need,
            met=data.met,
            sustained=data.sustained,
            reasons=[data.reason] if data.reason else [],
            evaluated_at=data.evaluated_at,
        )


@strawberry.type(description="A payment-by-results claim for a family, with its frozen evidence.")
class Claim:
    family_id: strawberry.Private[str | None]
    id: strawberry.ID = strawberry.field(description="The claim's id.")
    status: str | None = strawberry.field(description="e.g. pending, sampled, validated, rejected, submitted.")
    phase: str | None = strawberry.field(description="The programme phase claimed in.")
    evidence_hash: str | None = strawberry.field(description="SHA-256 of the frozen evidence snapshot.")
    created_at: datetime | None = strawberry.field(description="When the claim was made.")
    sampled_for_audit: bool | None = strawberry.field(description="Whether local audit sampled the claim.")
    audit_reason: str | None = strawberry.field(description="The auditor's reason, once validated or rejected.")
    decided_by: str | None = strawberry.field(description="The auditor who validated or rejected the claim.")
    practitioner_assessed: bool | None = strawberry.field(
        description="Whether a need rests on a practitioner's judgement (such claims are always audited)."
    )

    @classmethod
    def from_upstream(cls, data: up.ClaimRead) -> Claim:
        return cls(
            id=strawberry.ID(data.id),
            family_id=data.family_id,
            status=data.status,
            phase=data.programme_phase,
            evidence_hash=data.evidence_sha256,
            created_at=data.created_at,
            sampled_for_audit=data.sample_id is not None,
            audit_reason=data.decision_reason,
            decided_by=data.decided_by,
            practitioner_assessed=data.practitioner_assessed,
        )

    @resolver(description="The family claimed for.", graphql_type="Family | None")
    def family(self, info: Info) -> Resolved[Family | None]:
        return family_of(info, self.family_id)


@strawberry.type(description="A reproducible audit sample of pending claims (rate and seed).")
class AuditSample:
    id: strawberry.ID = strawberry.field(description="The sample's id.")
    rate: float = strawberry.field(description="The share of pending claims sampled at random.")
    seed: int = strawberry.field(description="The seed that makes the sample reproducible.")
    population: int = strawberry.field(description="How many pending claims it was drawn from.")
    random_claim_ids: list[strawberry.ID] = strawberry.field(description="Claims drawn at random.")
    practitioner_assessed_claim_ids: list[strawberry.ID] = strawberry.field(
        description="Claims with a practitioner-assessed need (always sampled)."
    )
    claim_ids: list[strawberry.ID] = strawberry.field(description="Every claim in the sample.")

    @classmethod
    def from_upstream(cls, data: up.AuditSampleRead) -> AuditSample:
        return cls(
            id=strawberry.ID(data.id),
            rate=data.rate,
            seed=data.seed,
            population=data.population,
            random_claim_ids=[strawberry.ID(i) for i in data.random_claim_ids],
            practitioner_assessed_claim_ids=[strawberry.ID(i) for i in data.practitioner_assessed_claim_ids],
            claim_ids=[strawberry.ID(i) for i in data.claim_ids],
        )


from gateway.types.people import Family, family_of  # noqa: E402  (the graph's types refer to each other)
