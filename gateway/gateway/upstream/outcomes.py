"""The outcomes service's answers, as the gateway reads them (`outcomes.*.schemas`).

A framework's definition (`GET /v1/frameworks/{code}`) is the shared contract `shared.contracts.ActiveFramework`,
the model the other services read it with too.
"""

from __future__ import annotations

from datetime import datetime

from gateway.upstream import UpstreamModel


class FrameworkSummary(UpstreamModel):
    code: str
    version: str
    name: str


class NeedProgress(UpstreamModel):
    need: str
    met: bool
    sustained: bool | None
    reason: str
    evaluated_at: datetime | None


class FamilyProgress(UpstreamModel):
    family_id: str
    needs: list[NeedProgress]
    employment_route: NeedProgress | None = None
    claimable: bool


class ClaimRead(UpstreamModel):
    id: str
    family_id: str
    programme_phase: str
    hub: str | None
    status: str
    practitioner_assessed: bool
    evidence_sha256: str
    created_at: datetime
    sample_id: str | None
    decided_by: str | None
    decision_reason: str | None


class AuditSampleRead(UpstreamModel):
    id: str
    rate: float
    seed: int
    population: int
    random_claim_ids: list[str]
    practitioner_assessed_claim_ids: list[str]
    claim_ids: list[str]


class ClaimTally(UpstreamModel):
    """What the cohort report counts of a claim (`gateway.reports`)."""

    status: str
    hub: str | None
