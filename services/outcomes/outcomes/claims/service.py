"""The rules of payment-by-results claims: a claim for a family whose every need is met, a reproducible audit
sample, the auditor's decision, and the export of a period's validated claims."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from outcomes.claims.repository import ClaimsRepository
from outcomes.claims.schemas import AuditSampleCreate, AuditSampleRead, ClaimDecision, ClaimRead, Period
from outcomes.config import Settings
from outcomes.evaluation.schemas import FamilyProgress
from outcomes.evaluation.service import EvaluationService, ProgressService, evaluation_date
from outcomes.models import AuditSample, Claim, Enrolment
from shared.auth import Principal
from shared.contracts import ActiveFramework, eligibility
from shared.errors import Conflict, NotFound, UnprocessableContent, field_error
from shared.pagination import Slice, Window


def claim_read(claim: Claim, *, with_evidence: bool = False) -> ClaimRead:
    return ClaimRead(
        id=claim.id,
        family_id=claim.family_id,
        programme_phase=claim.programme_phase,
        framework=claim.framework_code,
        framework_version=claim.framework_version,
        hub=claim.hub,
        status=claim.status,
        funding_model=claim.funding_model,
        practitioner_assessed=claim.practitioner_assessed,
        evidence_sha256=claim.evidence_sha256,
        created_at=claim.created_at,
        created_by=claim.created_by,
        sample_id=claim.sample_id,
        decided_by=claim.decided_by,
        decided_at=claim.decided_at,
        decision_reason=claim.decision_reason,
        evidence=claim.evidence if with_evidence else None,
    )


def evidence_hash(snapshot: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def sample_claims(
    pending: Sequence[tuple[uuid.UUID, bool]], rate: float, seed: int
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """A reproducible sample: the same population, rate and seed always give the same claims.

    Returns (randomly chosen, chosen because a need rests on a practitioner's judgement).
    """
    ids = sorted(claim_id for claim_id, _ in pending)
    k = math.ceil(rate * len(ids)) if ids else 0
    chosen = sorted(random.Random(seed).sample(ids, k))
    forced = sorted(claim_id for claim_id, assessed in pending if assessed and claim_id not in set(chosen))
    return chosen, forced


EXPORT_COLUMNS = (
    "claim_id",
    "family_id",
    "programme_phase",
    "framework",
    "framework_version",
    "hub",
    "claimed_at",
    "validated_at",
    "evidence_sha256",
    "funding_model",
)


def _snapshot(enrolment: Enrolment, family: FamilyProgress, as_of: date | None) -> dict[str, Any]:
    """The evidence a claim carries: the enrolment and every need's result as they stood when claimed."""
    snapshot = {
        "family_id": str(family.family_id),
        "enrolment_id": str(enrolment.id),
        "programme_phase": enrolment.programme_phase,
        "framework": enrolment.framework_code,
        "framework_version": enrolment.framework_version,
        "start_date": enrolment.start_date.isoformat(),
        "closed_on": enrolment.closed_on.isoformat() if enrolment.closed_on else None,
        "as_of": (as_of or datetime.now(UTC).date()).isoformat(),
        "needs": [json.loads(n.model_dump_json(exclude={"evaluated_at"})) for n in family.needs],
    }
    if family.employment_route is not None:
        snapshot["employment_route"] = json.loads(family.employment_route.model_dump_json(exclude={"evaluated_at"}))
    return snapshot


class NotClaimable(UnprocessableContent):
    """A claim the framework does not allow: `errors` names every condition that fails."""

    title, slug = "Not claimable", "not-claimable"


def _not_claimable(enrolment: Enrolment, family: FamilyProgress) -> NotClaimable:
    unmet = [
        field_error(f"/needs/{n.need}", n.reason if not n.met else "met but not yet sustained", "not_met")
        for n in family.needs
        if not n.met or n.sustained is False
    ]
    if family.employment_route is not None:
        unmet.append(field_error("/employment_route", family.employment_route.reason, "not_met"))
    if not enrolment.eligible:
        unmet.insert(0, field_error("/eligible", "the family was not eligible at assessment", "not_eligible"))
    return NotClaimable(f"Family {family.family_id} is not claimable yet", errors=unmet)


def eligibility_problems(
    enrolment: Enrolment, framework: ActiveFramework | None, roles: Sequence[str]
) -> list[dict[str, Any]]:
    """Every condition of the framework version the family was enrolled under that it fails, checked again at
    claim time (whatever the enrolment recorded): the version is loaded, every identified need is one of its
    needs, there are at least `min_needs` of them, dependent children or an expectant parent where it asks."""
    label = f"{enrolment.framework_code}@{enrolment.framework_version}"
    if framework is None:
        return [field_error("/framework", f"framework {label} is not loaded", "framework_unknown")]
    rule = eligibility(framework, enrolment.needs, [*roles, *(["unborn"] if enrolment.expectant else [])])
    problems = [field_error(pointer, message, "not_eligible") for pointer, message in rule.failures]
    if not enrolment.eligible and not problems:
        problems.append(field_error("/eligible", "the family was not eligible at assessment", "not_eligible"))
    return problems


class ClaimsService:
    def __init__(
        self,
        repo: ClaimsRepository,
        *,
        settings: Settings,
        evaluation: EvaluationService,
        progress: ProgressService,
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.evaluation = evaluation
        self.progress = progress

    async def create(self, *, family_id: uuid.UUID, as_of: date | None, principal: Principal) -> Claim:
        """Re-evaluate the family, and claim when every need is met (and sustained where the framework asks)."""
        as_of = evaluation_date(as_of)
        enrolment = await self.evaluation.enrolment(family_id)
        if enrolment is None:
            raise NotFound(f"Family {family_id} is not enrolled in phase {self.settings.programme_phase}")
        framework = await self.evaluation.framework_of(enrolment)
        problems = eligibility_problems(enrolment, framework, await self.repo.member_roles(enrolment.id))
        if problems:
            raise NotClaimable(
                f"Family {family_id} is not eligible under {enrolment.framework_code} version "
                f"{enrolment.framework_version}: " + "; ".join(p["detail"] for p in problems),
                errors=problems,
            )
        await self.evaluation.evaluate(family_id=family_id, as_of=as_of, actor=principal.actor)
        family = (await self.progress.progress(principal, [family_id], with_evidence=True))[0]
        if not family.claimable:
            raise _not_claimable(enrolment, family)
        snapshot = _snapshot(enrolment, family, as_of) | {"funding_model": self.settings.funding_model}
        claim = Claim(
            id=uuid.uuid4(),
            family_id=family_id,
            enrolment_id=enrolment.id,
            programme_phase=enrolment.programme_phase,
            framework_code=enrolment.framework_code,
            framework_version=enrolment.framework_version,
            hub=enrolment.hub,
            status="pending",
            funding_model=self.settings.funding_model,
            practitioner_assessed=any(n.rule_kind == "practitioner_assessed" for n in family.needs),
            evidence=snapshot,
            evidence_sha256=evidence_hash(snapshot),
            created_by=principal.actor,
        )
        await self.repo.add_claim(claim)
        await self.repo.audit(principal, "create", "claim", [claim.id], "payment-by-results claim")
        return claim

    async def get(self, claim_id: uuid.UUID, principal: Principal) -> Claim:
        claim = await self.repo.claim(claim_id)
        if claim is None:
            raise NotFound(f"No claim {claim_id}")
        await self.repo.audit(principal, "read", "claim", [claim.id], "claim evidence")
        return claim

    async def list_claims(
        self,
        principal: Principal,
        *,
        status: str | None,
        family_ids: Sequence[uuid.UUID] | None,
        hub: str | None,
        period: Period | None,
        window: Window,
    ) -> Slice[Claim]:
        start, end = (period.start, period.end) if period else (None, None)
        rows = await self.repo.list_claims(
            status=status, family_ids=family_ids, hub=hub, created_from=start, created_to=end, window=window
        )
        page = Slice.of(window, rows)
        if page.rows:
            await self.repo.audit(principal, "read", "claim", [c.id for c in page.rows], "claims list")
        return page

    async def audit_sample(self, body: AuditSampleCreate, principal: Principal) -> AuditSampleRead:
        pending = [(row.id, bool(row.practitioner_assessed)) for row in await self.repo.pending_claims()]
        chosen, forced = sample_claims(pending, body.rate, body.seed)
        sample = AuditSample(
            id=uuid.uuid4(),
            rate=body.rate,
            seed=body.seed,
            population=len(pending),
            claim_ids=chosen + forced,
            created_by=principal.actor,
        )
        await self.repo.add_sample(sample, chosen + forced)
        return AuditSampleRead(
            id=sample.id,
            rate=body.rate,
            seed=body.seed,
            population=len(pending),
            random_claim_ids=chosen,
            practitioner_assessed_claim_ids=forced,
            claim_ids=sorted(chosen + forced),
        )

    async def decide(self, claim_id: uuid.UUID, body: ClaimDecision, principal: Principal) -> Claim:
        claim = await self.repo.claim(claim_id, for_update=True)
        if claim is None:
            raise NotFound(f"No claim {claim_id}")
        if claim.status != "pending":
            raise Conflict(f"Claim {claim_id} has already been {claim.status}")
        claim.status = body.decision
        claim.decision_reason = body.reason
        claim.decided_by = principal.actor
        claim.decided_at = datetime.now(UTC)
        await self.repo.flush()
        await self.repo.audit(principal, "update", "claim", [claim.id], f"audit decision: {body.decision}")
        return claim

    async def export(self, period: Period, principal: Principal) -> str:
        """The CSV of the validated claims created in `period`."""
        claims = await self.repo.validated_claims(period.start, period.end)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for c in claims:
            writer.writerow(
                [
                    c.id,
                    c.family_id,
                    c.programme_phase,
                    c.framework_code,
                    c.framework_version,
                    c.hub or "",
                    c.created_at.isoformat(),
                    c.decided_at.isoformat() if c.decided_at else "",
                    c.evidence_sha256,
                    c.funding_model,
                ]
            )
        if claims:
            await self.repo.audit(principal, "export", "claim", [c.id for c in claims], f"claims export {period.label}")
        return out.getvalue()
