"""The event consumers of enrolment: `case.assessment_completed` and `case.closed` (signed CloudEvents), their
payloads parsed with the models of `shared.contracts`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.config import Settings
from outcomes.enrolment.repository import EnrolmentRepository
from outcomes.enrolment.service import EnrolmentService
from outcomes.frameworks.repository import FrameworksRepository
from outcomes.programme.service import settings_in_phase
from shared.contracts import AssessmentCompleted, CaseClosed
from shared.errors import BadRequest
from shared.events import CloudEvent, EventHandler

Payload = TypeVar("Payload", bound=BaseModel)


def _parse(model: type[Payload], event_type: str, data: Mapping[str, Any]) -> Payload:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(dict.fromkeys(str(e["loc"][0]) for e in exc.errors() if e["loc"]))
        raise BadRequest(f"{event_type} needs a valid {fields or 'payload'}") from exc


async def _service(session: AsyncSession, settings: Settings) -> EnrolmentService:
    """In the programme phase that holds today (an assessment enrols the family in the current phase)."""
    return EnrolmentService(
        EnrolmentRepository(session),
        settings=await settings_in_phase(session, settings),
        frameworks=FrameworksRepository(session),
    )


async def enrol_family(session: AsyncSession, settings: Settings, data: Mapping[str, Any], *, actor: str) -> uuid.UUID:
    """Handle one `case.assessment_completed` payload (the demo seeder calls this as the consumer would)."""
    event = _parse(AssessmentCompleted, "case.assessment_completed", data)
    return await (await _service(session, settings)).enrol(event, actor=actor)


async def close_family_case(session: AsyncSession, settings: Settings, data: Mapping[str, Any], *, actor: str) -> int:
    """Handle one `case.closed` payload."""
    event = _parse(CaseClosed, "case.closed", data)
    return await (await _service(session, settings)).close(event, actor=actor)


def event_handlers(settings: Settings) -> dict[str, EventHandler]:
    async def on_assessment_completed(session: AsyncSession, event: CloudEvent) -> None:
        await enrol_family(session, settings, event.data, actor=f"event:{event.source}")

    async def on_case_closed(session: AsyncSession, event: CloudEvent) -> None:
        await close_family_case(session, settings, event.data, actor=f"event:{event.source}")

    return {"case.assessment_completed": on_assessment_completed, "case.closed": on_case_closed}
