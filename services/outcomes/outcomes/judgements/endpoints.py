"""Thin HTTP handler of a practitioner's judgement."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from outcomes.deps import JudgementsServiceDep, Recorder
from outcomes.judgements.schemas import JudgementCreate, JudgementRead

router = APIRouter(prefix="/v1")


@router.post(
    "/families/{family_id}/judgements",
    tags=["evaluation"],
    status_code=201,
    summary="The lead worker's professional judgement on a practitioner-assessed need (audited, with evidence)",
)
async def record_judgement(
    family_id: uuid.UUID, body: JudgementCreate, judgements: JudgementsServiceDep, principal: Recorder
) -> JudgementRead:
    return await judgements.record(family_id, body, principal)
