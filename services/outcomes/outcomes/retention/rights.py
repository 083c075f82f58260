"""The outcomes service's part of erasure (Art. 17) and rectification (Art. 16), announced by cases by person id:
the person's observations and identifiers go (their family's enrolment and other members stay), or their
identifiers are corrected. Plus the legal-hold replica (`shared.retention.holds`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.models import Person, platform, retention
from outcomes.retention.sources import erase_people
from shared.audit import record_access
from shared.contracts.events import PersonErased, PersonRectified
from shared.events import CloudEvent, EventHandler
from shared.retention.holds import legal_hold_handlers

COPIED = ("date_of_birth", "nhs_number", "upn")


async def on_person_erased(session: AsyncSession, event: CloudEvent) -> None:
    data = PersonErased.model_validate(event.data)
    if await session.get(Person, data.person_id) is None:
        return
    await erase_people(session, [data.person_id])
    await session.execute(
        retention.tombstones.insert().values(
            record_type="person",
            record_id=str(data.person_id),
            action="erase",
            rule=f"erasure on request (UK GDPR Art. 17), {data.erasure_id}",
            due_on=data.erased_at.date(),
            erased_by=f"event:{event.source}",
        )
    )
    await record_access(
        session,
        platform,
        actor=f"event:{event.source}",
        action="erase",
        record_type="person",
        record_ids=[data.person_id],
        purpose="erasure on request",
    )


async def on_person_rectified(session: AsyncSession, event: CloudEvent) -> None:
    data = PersonRectified.model_validate(event.data)
    values: dict[str, Any] = {k: v for k, v in data.changes.items() if k in COPIED}
    if "date_of_birth" in values and values["date_of_birth"] is not None:
        values["date_of_birth"] = date.fromisoformat(values["date_of_birth"])
    if not values:
        return
    await session.execute(update(Person).where(Person.id == data.person_id).values(**values))
    await record_access(
        session,
        platform,
        actor=f"event:{event.source}",
        action="rectify",
        record_type="person",
        record_ids=[data.person_id],
        purpose="rectification",
        details={"fields": sorted(values)},
    )


def rights_event_handlers() -> dict[str, EventHandler]:
    return {
        PersonErased.event_type: on_person_erased,
        PersonRectified.event_type: on_person_rectified,
        **legal_hold_handlers(retention),
    }
