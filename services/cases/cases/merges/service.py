"""The rules of family merges: one family, one case. Merging a duplicate family into another moves its members,
relationships and cases to the survivor; when both have an open case, the duplicate's is closed as `merged` (its
plan, contacts and history stay, readable from the surviving family) and its lead worker's assignment ends, so one
lead and one plan remain. Every row changed is recorded, so unmerging restores both families exactly.

Hub managers of both families' hubs only; a family they may not see is the same 404 as an unknown id.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from cases.access import Caller
from cases.kit import today
from cases.merges.repository import MergesRepository
from cases.merges.schemas import FamilyMergeRequest, FamilyUnmergeRequest
from cases.models import MERGED, FamilyMerge
from shared.errors import Conflict, Forbidden, NotFound, UnprocessableContent, field_error


class MergesService:
    def __init__(self, repo: MergesRepository) -> None:
        self.repo = repo

    async def _require_families(self, caller: Caller, ids: list[uuid.UUID]) -> None:
        for family_id in ids:
            if not await self.repo.family_visible_to_manager(family_id, caller):
                raise NotFound("No such family")

    async def merge(self, survivor_id: uuid.UUID, body: FamilyMergeRequest, caller: Caller) -> FamilyMerge:
        if not caller.is_manager:
            raise Forbidden("Only hub managers merge families")
        if survivor_id == body.merge_family_id:
            raise UnprocessableContent(
                "A family cannot be merged into itself",
                errors=[field_error("/merge_family_id", "must differ from the family in the path")],
            )
        await self.repo.lock([f"family:{survivor_id}", f"family:{body.merge_family_id}"])
        await self._require_families(caller, [survivor_id, body.merge_family_id])
        if await self.repo.live_merge_of(survivor_id) is not None:
            raise Conflict("The surviving family has itself been merged; merge into its survivor instead")
        if await self.repo.live_merge_of(body.merge_family_id) is not None:
            raise Conflict("That family is already merged")
        now = datetime.now(UTC)
        kept, duplicate = await self.repo.open_case(survivor_id), await self.repo.open_case(body.merge_family_id)
        moved: dict[str, object] = {"surviving_case": str(kept.id) if kept else None}
        if kept is not None and duplicate is not None:
            moved["case_closed"] = {"id": str(duplicate.id), "status": duplicate.status}
            moved["lead_ended"] = await self.repo.end_lead(duplicate.id, at=now)
            duplicate.status, duplicate.closed_on, duplicate.outcome = "closed", today(), MERGED
            duplicate.closure_reason = f"family merged into {survivor_id} (case {kept.id})"
            duplicate.version += 1
            await self.repo.flush()
        moved |= await self.repo.move_members(body.merge_family_id, survivor_id, today=today())
        moved["relationships_moved"] = await self.repo.move_relationships(body.merge_family_id, survivor_id)
        moved["cases_moved"] = await self.repo.move_cases(body.merge_family_id, survivor_id)
        merge = FamilyMerge(
            id=uuid.uuid4(),
            survivor_id=survivor_id,
            merged_id=body.merge_family_id,
            reason=body.reason,
            merged_by=caller.principal.actor,
            merged_at=now,
            moved=moved,
        )
        if not await self.repo.add_merge(merge):
            raise Conflict("That family is already merged")
        await self.repo.audit(
            caller.principal, "merge", "family", [survivor_id, body.merge_family_id], purpose=body.reason
        )
        return merge

    async def unmerge(self, merge_id: uuid.UUID, body: FamilyUnmergeRequest, caller: Caller) -> FamilyMerge:
        if not caller.is_manager:
            raise Forbidden("Only hub managers undo family merges")
        merge = await self.repo.get_merge(merge_id)
        if merge is None:
            raise NotFound("No such merge")
        await self._require_families(caller, [merge.survivor_id])
        if merge.undone_at is not None:
            raise Conflict("This merge has already been undone")
        await self.repo.lock([f"family:{merge.survivor_id}", f"family:{merge.merged_id}"])
        await self.repo.undo(merge)
        merge.undone_at = datetime.now(UTC)
        merge.undone_by = caller.principal.actor
        merge.undo_reason = body.reason
        await self.repo.flush()
        await self.repo.audit(
            caller.principal, "unmerge", "family", [merge.survivor_id, merge.merged_id], purpose=body.reason
        )
        return merge

    async def merges_of(self, family_id: uuid.UUID, caller: Caller) -> list[FamilyMerge]:
        if not caller.is_manager:
            raise Forbidden("Only hub managers read merge history")
        await self._require_families(caller, [family_id])
        await self.repo.audit(caller.principal, "read", "family", [family_id], purpose="family merge history")
        return await self.repo.merges_of(family_id)
