"""Every query of enrolment: the people and enrolments the events of cases write."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from outcomes.models import Enrolment, EnrolmentMember, Person
from outcomes.repository import Repository


class EnrolmentRepository(Repository):
    async def upsert_people(self, people: Sequence[dict[str, Any]]) -> None:
        if not people:
            return
        stmt = insert(Person).values(list(people))
        stmt = stmt.on_conflict_do_update(
            index_elements=[Person.id],
            set_={
                "date_of_birth": func.coalesce(stmt.excluded.date_of_birth, Person.date_of_birth),
                "nhs_number": func.coalesce(stmt.excluded.nhs_number, Person.nhs_number),
                "upn": func.coalesce(stmt.excluded.upn, Person.upn),
            },
        )
        await self.session.execute(stmt)

    async def upsert_enrolment(self, values: dict[str, Any]) -> uuid.UUID:
        """Enrol a family for a phase; a re-assessment under the same framework version keeps the first start date
        and refreshes the rest; one under another framework or version leaves the enrolment as it is."""
        base = insert(Enrolment).values(id=uuid.uuid4(), **values)
        stmt = base.on_conflict_do_update(
            constraint="uq_enrolments_family_phase",
            set_={
                "case_id": base.excluded.case_id,
                "hub": base.excluded.hub,
                "needs": base.excluded.needs,
                "eligible": base.excluded.eligible,
                "expectant": base.excluded.expectant,
                "assessed_on": base.excluded.assessed_on,
                "closed_on": None,
                "close_outcome": None,
                "updated_at": func.now(),
            },
            where=(Enrolment.framework_code == base.excluded.framework_code)
            & (Enrolment.framework_version == base.excluded.framework_version),
        ).returning(Enrolment.id)
        enrolment_id = (await self.session.execute(stmt)).scalar_one_or_none()
        if enrolment_id is None:
            enrolment_id = await self.session.scalar(
                select(Enrolment.id).where(
                    Enrolment.family_id == values["family_id"], Enrolment.programme_phase == values["programme_phase"]
                )
            )
        assert enrolment_id is not None
        return enrolment_id

    async def replace_members(self, enrolment_id: uuid.UUID, members: Sequence[tuple[uuid.UUID, str]]) -> None:
        await self.session.execute(delete(EnrolmentMember).where(EnrolmentMember.enrolment_id == enrolment_id))
        if members:
            await self.session.execute(
                insert(EnrolmentMember)
                .values([{"enrolment_id": enrolment_id, "person_id": p, "role": r} for p, r in members])
                .on_conflict_do_nothing()
            )

    async def close_enrolment(self, *, family_id: uuid.UUID, case_id: uuid.UUID, closed_on: date, outcome: str) -> int:
        """Close the family's enrolments for that case, in whichever phase (a case may outlive a phase's end)."""
        result = await self.session.execute(
            update(Enrolment)
            .where(Enrolment.family_id == family_id, Enrolment.case_id == case_id)
            .values(closed_on=closed_on, close_outcome=outcome, updated_at=func.now())
            .returning(Enrolment.id)
        )
        return len(result.all())
