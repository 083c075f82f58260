"""Every query of family merges: moving members, relationships and cases between families, and moving them back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, tuple_, update

from cases.access import Caller, family_visible
from cases.kit import Repository
from cases.models import Case, Family, FamilyMember, FamilyMerge, FamilyRelationship, LeadWorkerAssignment


def _ids(values: Sequence[Any]) -> list[str]:
    return [str(v) for v in values]


class MergesRepository(Repository):
    async def family_visible_to_manager(self, family_id: uuid.UUID, caller: Caller) -> bool:
        """The family exists and is one of the caller's hubs' (or has a case they may see)."""
        query = select(Family.id).where(Family.id == family_id, family_visible(caller.viewer, Family.id, Family.hub))
        return (await self.session.scalars(query)).first() is not None

    async def get_merge(self, merge_id: uuid.UUID) -> FamilyMerge | None:
        query = select(FamilyMerge).where(FamilyMerge.id == merge_id).with_for_update()
        return (await self.session.scalars(query)).first()

    async def live_merge_of(self, family_id: uuid.UUID) -> FamilyMerge | None:
        """The merge (not undone) that merged this family away, if any."""
        query = select(FamilyMerge).where(FamilyMerge.merged_id == family_id, FamilyMerge.undone_at.is_(None))
        return (await self.session.scalars(query)).first()

    async def merges_of(self, family_id: uuid.UUID) -> list[FamilyMerge]:
        query = (
            select(FamilyMerge)
            .where((FamilyMerge.survivor_id == family_id) | (FamilyMerge.merged_id == family_id))
            .order_by(FamilyMerge.merged_at)
        )
        return list((await self.session.scalars(query)).all())

    async def add_merge(self, merge: FamilyMerge) -> bool:
        return await self.savepoint_insert(merge)

    async def open_case(self, family_id: uuid.UUID) -> Case | None:
        query = select(Case).where(Case.family_id == family_id, Case.status != "closed").with_for_update()
        return (await self.session.scalars(query)).first()

    async def move_members(self, from_id: uuid.UUID, to_id: uuid.UUID, *, today: date) -> dict[str, list[str]]:
        """Current members of `from_id` join `to_id`; one already a current member there leaves `from_id` instead."""
        survivors = select(FamilyMember.person_id).where(
            FamilyMember.family_id == to_id, FamilyMember.left_on.is_(None), FamilyMember.person_id.is_not(None)
        )
        ended = await self.session.scalars(
            update(FamilyMember)
            .where(
                FamilyMember.family_id == from_id,
                FamilyMember.left_on.is_(None),
                FamilyMember.person_id.in_(survivors),
            )
            .values(left_on=today, left_reason="family merged")
            .returning(FamilyMember.id)
        )
        ended_ids = _ids(ended.all())
        moved = await self.session.scalars(
            update(FamilyMember)
            .where(FamilyMember.family_id == from_id, FamilyMember.left_on.is_(None))
            .values(family_id=to_id)
            .returning(FamilyMember.id)
        )
        return {"members_moved": _ids(moved.all()), "members_ended": ended_ids}

    async def move_relationships(self, from_id: uuid.UUID, to_id: uuid.UUID) -> list[str]:
        held = select(
            FamilyRelationship.person_id, FamilyRelationship.related_person_id, FamilyRelationship.kind
        ).where(FamilyRelationship.family_id == to_id)
        rows = await self.session.scalars(
            update(FamilyRelationship)
            .where(
                FamilyRelationship.family_id == from_id,
                ~tuple_(
                    FamilyRelationship.person_id, FamilyRelationship.related_person_id, FamilyRelationship.kind
                ).in_(held),
            )
            .values(family_id=to_id)
            .returning(FamilyRelationship.id)
        )
        return _ids(rows.all())

    async def move_cases(self, from_id: uuid.UUID, to_id: uuid.UUID) -> list[str]:
        rows = await self.session.scalars(
            update(Case).where(Case.family_id == from_id).values(family_id=to_id).returning(Case.id)
        )
        return _ids(rows.all())

    async def end_lead(self, case_id: uuid.UUID, *, at: datetime) -> str | None:
        row = await self.session.scalars(
            update(LeadWorkerAssignment)
            .where(LeadWorkerAssignment.case_id == case_id, LeadWorkerAssignment.ended_at.is_(None))
            .values(ended_at=at, end_reason="family merged")
            .returning(LeadWorkerAssignment.id)
        )
        found = row.first()
        return str(found) if found else None

    async def undo(self, merge: FamilyMerge) -> None:
        moved = merge.moved

        def ids(key: str) -> list[uuid.UUID]:
            return [uuid.UUID(i) for i in moved.get(key) or []]

        if ids("cases_moved"):
            await self.session.execute(
                update(Case).where(Case.id.in_(ids("cases_moved"))).values(family_id=merge.merged_id)
            )
        closed = moved.get("case_closed")
        if closed:
            await self.session.execute(
                update(Case)
                .where(Case.id == uuid.UUID(closed["id"]))
                .values(status=closed["status"], closed_on=None, outcome=None, closure_reason=None)
            )
        if moved.get("lead_ended"):
            await self.session.execute(
                update(LeadWorkerAssignment)
                .where(LeadWorkerAssignment.id == uuid.UUID(moved["lead_ended"]))
                .values(ended_at=None, end_reason=None)
            )
        if ids("members_moved"):
            await self.session.execute(
                update(FamilyMember).where(FamilyMember.id.in_(ids("members_moved"))).values(family_id=merge.merged_id)
            )
        if ids("members_ended"):
            await self.session.execute(
                update(FamilyMember)
                .where(FamilyMember.id.in_(ids("members_ended")))
                .values(left_on=None, left_reason=None)
            )
        if ids("relationships_moved"):
            await self.session.execute(
                update(FamilyRelationship)
                .where(FamilyRelationship.id.in_(ids("relationships_moved")))
                .values(family_id=merge.merged_id)
            )
