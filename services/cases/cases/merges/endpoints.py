"""HTTP endpoints of family merges: thin handlers over `MergesService`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from cases.deps import CallerDep, Idempotent, MergesServiceDep
from cases.merges.schemas import FamilyMergeRead, FamilyMergeRequest, FamilyUnmergeRequest
from cases.models import FamilyMerge
from cases.schemas import Page

router = APIRouter(prefix="/v1", tags=["cases"])


def _read(merge: FamilyMerge) -> FamilyMergeRead:
    return FamilyMergeRead.model_validate(merge, from_attributes=True)


@router.post(
    "/families/{family_id}/merge",
    status_code=status.HTTP_201_CREATED,
    summary="Merge a duplicate family into this family (one family, one case)",
)
async def merge_family(
    family_id: uuid.UUID, body: FamilyMergeRequest, merges: MergesServiceDep, caller: CallerDep, idempotent: Idempotent
) -> FamilyMergeRead:
    return await idempotent.run(FamilyMergeRead, lambda: merges.merge(family_id, body, caller))


@router.post("/families/merges/{merge_id}/undo", summary="Undo a family merge (both families restored)")
async def undo_family_merge(
    merge_id: uuid.UUID, body: FamilyUnmergeRequest, merges: MergesServiceDep, caller: CallerDep
) -> FamilyMergeRead:
    return _read(await merges.unmerge(merge_id, body, caller))


@router.get("/families/{family_id}/merges", summary="Merge history of a family")
async def family_merges(family_id: uuid.UUID, merges: MergesServiceDep, caller: CallerDep) -> Page[FamilyMergeRead]:
    return Page(items=[_read(m) for m in await merges.merges_of(family_id, caller)])
