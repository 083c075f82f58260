"""The rules of a practitioner's judgement: the family's lead worker (asked of cases) records it on a need of the
family's enrolment whose rule is `practitioner_assessed`, with evidence; it is stored as a practitioner
assessment observation, audited, and always sampled for audit once claimed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from outcomes.evaluation.repository import EvaluationRepository
from outcomes.frameworks.repository import FrameworksRepository
from outcomes.frameworks.schemas import PractitionerAssessedRule
from outcomes.frameworks.service import parse_definition
from outcomes.judgements.schemas import JudgementCreate, JudgementRead
from outcomes.observations.schemas import ObservationBatch
from outcomes.observations.service import ObservationsService
from shared.auth import Principal
from shared.caseload import CaseloadClient, CasesUnreachable
from shared.errors import Forbidden, NotFound, ServiceUnavailable, UnprocessableContent, field_error

ANY_FAMILY_ROLES = ("analyst", "admin")


class JudgementsService:
    def __init__(
        self,
        *,
        enrolments: EvaluationRepository,
        frameworks: FrameworksRepository,
        observations: ObservationsService,
        caseload: CaseloadClient | None,
        phase: str,
    ) -> None:
        self.enrolments = enrolments
        self.frameworks = frameworks
        self.observations = observations
        self.caseload = caseload
        self.phase = phase

    async def _require_lead(self, principal: Principal, family_id: uuid.UUID) -> None:
        """Analysts and admins may record for any family; a practitioner only as the family's lead worker."""
        if principal.has_role(*ANY_FAMILY_ROLES):
            return
        if self.caseload is None:
            raise Forbidden("Only the family's lead worker may record a judgement")
        try:
            visible = await self.caseload.visible(principal, [family_id])
            leads = bool(visible) and await self.caseload.leads(principal, family_id)
        except CasesUnreachable as exc:
            raise ServiceUnavailable("The cases service did not answer who leads this family; try again") from exc
        if not visible:
            raise NotFound(f"Family {family_id} is not enrolled")
        if not leads:
            raise Forbidden("Only the family's lead worker records a judgement on its needs")

    async def record(self, family_id: uuid.UUID, body: JudgementCreate, principal: Principal) -> JudgementRead:
        # An unknown family is the same 404 for everyone, before cases is asked who leads it.
        enrolment = await self.enrolments.enrolment_for_family(family_id, self.phase)
        if enrolment is None:
            raise NotFound(f"Family {family_id} is not enrolled")
        await self._require_lead(principal, family_id)
        today = datetime.now(UTC).date()
        assessed_on = body.assessed_on or today
        errors = []
        row = await self.frameworks.framework(enrolment.framework_code, enrolment.framework_version)
        need = parse_definition(row.definition).need(body.need) if row is not None else None
        if body.need not in enrolment.needs or need is None:
            errors.append(field_error("/need", f"{body.need!r} is not a need identified for this family"))
        elif not isinstance(need.rule, PractitionerAssessedRule):
            errors.append(field_error("/need", f"{body.need!r} is shown by its {need.rule.kind} rule, not a judgement"))
        elif need.rule.params.evidence_required and not body.evidence.strip():
            errors.append(field_error("/evidence", "the framework asks for the evidence of a judgement"))
        if assessed_on > today:
            errors.append(field_error("/assessed_on", f"must not be after {today.isoformat()}", "future_date"))
        if errors:
            raise UnprocessableContent("The judgement cannot be recorded", errors=errors)
        batch = ObservationBatch.model_validate(
            {
                "rows": [
                    {
                        "kind": "practitioner_assessment",
                        "family_id": str(family_id),
                        "need": body.need,
                        "met": body.met,
                        "evidence": body.evidence,
                        "assessed_on": assessed_on.isoformat(),
                    }
                ]
            }
        )
        report = await self.observations.import_batch(batch, principal)
        await self.enrolments.audit(
            principal,
            "create",
            "practitioner_judgement",
            [family_id],
            f"judgement on {body.need}",
            details={"need": body.need, "met": body.met, "assessed_on": assessed_on.isoformat()},
        )
        return JudgementRead(
            family_id=family_id,
            need=body.need,
            met=body.met,
            evidence=body.evidence,
            assessed_on=assessed_on,
            recorded_by=principal.actor,
            already_recorded=report.rows_already_present > 0,
            import_id=report.import_ids[0] if report.import_ids else None,
        )
