"""The rules of enrolment: a family is enrolled from its first assessment, and its closure starts the clock."""

from __future__ import annotations

import uuid
from typing import Any

from outcomes.config import Settings
from outcomes.enrolment.repository import EnrolmentRepository
from shared.contracts import AssessmentCompleted, CaseClosed


class EnrolmentService:
    def __init__(self, repo: EnrolmentRepository, *, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings

    async def enrol(self, event: AssessmentCompleted, *, actor: str) -> uuid.UUID:
        """Enrol a family from a `case.assessment_completed` payload; returns the enrolment id.

        The first assessment's date is the start (baseline) date; a later assessment in the same phase updates the
        needs and people but keeps it.
        """
        people: list[dict[str, Any]] = []
        members: list[tuple[uuid.UUID, str]] = []
        for person in event.people:
            people.append(
                {
                    "id": person.person_id,
                    "date_of_birth": person.date_of_birth,
                    "nhs_number": person.nhs_number,
                    "upn": person.upn,
                }
            )
            members.append((person.person_id, person.role))
        await self.repo.upsert_people(people)
        enrolment_id = await self.repo.upsert_enrolment(
            {
                "family_id": event.family_id,
                "case_id": event.case_id,
                "hub": event.hub,
                "programme_phase": self.settings.programme_phase,
                "framework_code": event.framework,
                "framework_version": event.framework_version,
                "needs": sorted(set(event.needs)),
                "eligible": event.eligible,
                "start_date": event.assessed_on,
                "assessed_on": event.assessed_on,
            }
        )
        await self.repo.replace_members(enrolment_id, members)
        await self.repo.audit(
            actor, "create", "enrolment", [event.family_id], "enrolment from case.assessment_completed"
        )
        return enrolment_id

    async def close(self, event: CaseClosed, *, actor: str) -> int:
        """`case.closed` starts the sustainment clock of the family's enrolment for that case."""
        changed = await self.repo.close_enrolment(
            family_id=event.family_id,
            case_id=event.case_id,
            phase=self.settings.programme_phase,
            closed_on=event.closed_on,
            outcome=event.outcome,
        )
        if changed:
            await self.repo.audit(actor, "update", "enrolment", [event.family_id], "sustainment clock from case.closed")
        return changed
