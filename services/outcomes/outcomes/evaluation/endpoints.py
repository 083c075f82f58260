"""Thin HTTP handlers of evaluation and progress."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from outcomes.deps import Analyst, EvaluationServiceDep, Idempotent, ProgressServiceDep, Reader
from outcomes.evaluation.schemas import EvaluationCreate, EvaluationRead, FamilyProgress, ProgressList
from shared.errors import NotFound
from shared.fields import IDS_LENGTH
from shared.ids import parse_ids

router = APIRouter(prefix="/v1")


@router.post("/evaluations", tags=["evaluation"], status_code=201, summary="Evaluate one family or the cohort")
async def evaluate(
    body: EvaluationCreate, evaluation: EvaluationServiceDep, principal: Analyst, idempotent: Idempotent
) -> EvaluationRead:
    return await idempotent.run(
        EvaluationRead,
        lambda: evaluation.evaluate(family_id=body.family_id, as_of=body.as_of, actor=principal.actor),
    )


@router.get("/families/{family_id}/progress", tags=["evaluation"], summary="Per-need results with evidence")
async def family_progress(family_id: uuid.UUID, progress: ProgressServiceDep, principal: Reader) -> FamilyProgress:
    found = await progress.progress(principal, [family_id], with_evidence=True)
    if not found:
        # A family of a hub the caller does not work in gets the same 404 as an unknown id: a 403 would tell a
        # hub-scoped caller that the id exists (finding F5).
        raise NotFound(f"Family {family_id} is not enrolled")
    return found[0]


@router.get("/progress", tags=["evaluation"], summary="Per-need results of several families (batch)")
async def progress_batch(
    progress: ProgressServiceDep,
    principal: Reader,
    family_ids: Annotated[str, Query(max_length=IDS_LENGTH, description="Comma-separated family ids (at most 100)")],
) -> ProgressList:
    ids = parse_ids(family_ids, "family_ids")
    return ProgressList(items=await progress.progress(principal, ids, with_evidence=False))
