"""The rules of enrolment: a family is enrolled from its first assessment, and its closure starts the clock."""

from __future__ import annotations

import uuid
from typing import Any

from outcomes.config import Settings
from outcomes.enrolment.repository import EnrolmentRepository
from outcomes.frameworks.repository import FrameworksRepository
from shared.contracts import ActiveFramework, AssessmentCompleted, CaseClosed, eligibility


class EnrolmentService:
    def __init__(self, repo: EnrolmentRepository, *, settings: Settings, frameworks: FrameworksRepository) -> None:
        self.repo = repo
        self.settings = settings
        self.frameworks = frameworks

    async def eligible(self, event: AssessmentCompleted) -> bool:
        """The assessment's verdict, checked again against the framework version it names: a family the rules
        do not make eligible is never stored eligible, whoever produced the event (the demo seeder included)."""
        row = await self.frameworks.framework(event.framework, event.framework_version)
        if row is None:
            return False
        roles = [p.role for p in event.people] + (["unborn"] if event.expectant else [])
        rule = eligibility(ActiveFramework.model_validate(row.definition), event.needs, roles)
        return event.eligible and rule.eligible

    async def enrol(self, event: AssessmentCompleted, *, actor: str) -> uuid.UUID:
        """Enrol a family from a `case.assessment_completed` payload; returns the enrolment id.

        The first assessment's date is the start (baseline) date; a later assessment in the same phase updates the
        needs and people but keeps it. A family keeps the framework version it was enrolled under: a later
        assessment under another framework or version (the active one changed meanwhile) refreshes its people
        only.
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
                "eligible": await self.eligible(event),
                "expectant": event.expectant,
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
            closed_on=event.closed_on,
            outcome=event.outcome,
        )
        if changed:
            await self.repo.audit(actor, "update", "enrolment", [event.family_id], "sustainment clock from case.closed")
        return changed
