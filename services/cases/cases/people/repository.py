"""Every query of the person index: lookups, matching blocks, inserts, merges and their undoing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert

from cases.access import Viewer, person_visible
from cases.kit import Repository
from cases.models import Case, FamilyMember, FamilyRelationship, Person, PersonMerge
from cases.people.model import Record

_COMPARED = (
    Person.id,
    Person.given_name,
    Person.family_name,
    Person.date_of_birth,
    Person.postcode,
    Person.nhs_number,
    Person.upn,
)
"""A person's id and the fields of a `Record`, in its order (ix_people_block_dob includes them all)."""


class PeopleRepository(Repository):
    async def get_person(self, person_id: uuid.UUID) -> Person | None:
        return await self.session.get(Person, person_id)

    async def people_by_ids(self, ids: Sequence[uuid.UUID], viewer: Viewer | None) -> list[Person]:
        query = select(Person).where(Person.id.in_(ids)).order_by(Person.family_name, Person.id)
        if viewer is not None:
            query = query.where(person_visible(viewer))
        return list((await self.session.scalars(query)).all())

    async def people_by_identifiers(self, nhs_number: str | None, upn: str | None) -> list[Person]:
        conditions = []
        if nhs_number:
            conditions.append(Person.nhs_number == nhs_number)
        if upn:
            conditions.append(Person.upn == upn)
        if not conditions:
            return []
        return list((await self.session.scalars(select(Person).where(or_(*conditions)))).all())

    async def match_block(
        self, *, date_of_birth: date, postcode: str | None, keys: Sequence[str], limit: int
    ) -> list[tuple[uuid.UUID, Record]]:
        """People sharing the date of birth (or its day-month transposition), or the postcode and a phonetic name
        key: their ids and the fields a comparison reads, as plain rows (at national scale a date of birth is
        shared by hundreds of people, nearly all screened out before anything else is read of them). The same
        person may come twice (the caller keeps the first)."""
        dates = [date_of_birth]
        if date_of_birth.day <= 12 and date_of_birth.day != date_of_birth.month:
            dates.append(date(date_of_birth.year, date_of_birth.day, date_of_birth.month))
        live = Person.merged_into_id.is_(None)
        # Two branches, not one OR: the date of birth is read from the covering index alone (an index-only scan
        # of ix_people_block_dob, no visit to the table), the postcode and name keys through their own indexes.
        # A person in both branches is read twice, and kept once by the caller.
        branches = [select(*_COMPARED).where(live, Person.date_of_birth.in_(dates))]
        if postcode and keys:
            branches.append(
                select(*_COMPARED).where(
                    live, Person.postcode == postcode, or_(Person.family_key.in_(keys), Person.given_key.in_(keys))
                )
            )
        query = union_all(*branches).limit(limit)
        return [(row[0], Record(*row[1:])) for row in (await self.session.execute(query)).all()]

    async def insert_person(self, values: dict[str, Any]) -> Person | None:
        """Insert a person; None when an NHS number or UPN is already held (a concurrent insert won)."""
        stmt = insert(Person).values(id=uuid.uuid4(), **values).on_conflict_do_nothing().returning(Person)
        return (await self.session.scalars(stmt)).first()

    async def people_same_name_dob(self, *, date_of_birth: date | None, family_key: str) -> list[Person]:
        query = select(Person).where(
            Person.date_of_birth == date_of_birth,
            Person.family_key == family_key,
            Person.merged_into_id.is_(None),
        )
        return list((await self.session.scalars(query)).all())

    async def current_families(self, person_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        query = select(FamilyMember.family_id).where(
            FamilyMember.person_id.in_(person_ids), FamilyMember.left_on.is_(None)
        )
        return set((await self.session.scalars(query)).all())

    async def set_merged_into(self, person_id: uuid.UUID, survivor_id: uuid.UUID | None) -> None:
        await self.session.execute(update(Person).where(Person.id == person_id).values(merged_into_id=survivor_id))

    async def repoint_people(self, from_id: uuid.UUID, to_id: uuid.UUID, *, today: date) -> dict[str, list[str]]:
        """Move a person's records to another person; what moved is returned so that it can be moved back."""
        survivor_families = select(FamilyMember.family_id).where(
            FamilyMember.person_id == to_id, FamilyMember.left_on.is_(None)
        )
        ended = await self.session.scalars(
            update(FamilyMember)
            .where(
                FamilyMember.person_id == from_id,
                FamilyMember.left_on.is_(None),
                FamilyMember.family_id.in_(survivor_families),
            )
            .values(left_on=func.greatest(FamilyMember.joined_on, today), left_reason="merged")
            .returning(FamilyMember.id)
        )
        ended_ids = [str(i) for i in ended.all()]
        moved = await self.session.scalars(
            update(FamilyMember)
            .where(FamilyMember.person_id == from_id, FamilyMember.left_reason.is_distinct_from("merged"))
            .values(person_id=to_id)
            .returning(FamilyMember.id)
        )
        moved_ids = [str(i) for i in moved.all()]
        rel_a = await self.session.scalars(
            update(FamilyRelationship)
            .where(FamilyRelationship.person_id == from_id)
            .values(person_id=to_id)
            .returning(FamilyRelationship.id)
        )
        rel_a_ids = [str(i) for i in rel_a.all()]
        rel_b = await self.session.scalars(
            update(FamilyRelationship)
            .where(FamilyRelationship.related_person_id == from_id)
            .values(related_person_id=to_id)
            .returning(FamilyRelationship.id)
        )
        return {
            "memberships_moved": moved_ids,
            "memberships_ended": ended_ids,
            "relationships_person": rel_a_ids,
            "relationships_related": [str(i) for i in rel_b.all()],
        }

    async def undo_repoint(self, moved: dict[str, list[str]], merged_id: uuid.UUID) -> None:
        def ids(key: str) -> list[uuid.UUID]:
            return [uuid.UUID(i) for i in moved.get(key, [])]

        if ids("memberships_moved"):
            await self.session.execute(
                update(FamilyMember).where(FamilyMember.id.in_(ids("memberships_moved"))).values(person_id=merged_id)
            )
        if ids("memberships_ended"):
            await self.session.execute(
                update(FamilyMember)
                .where(FamilyMember.id.in_(ids("memberships_ended")))
                .values(left_on=None, left_reason=None)
            )
        if ids("relationships_person"):
            await self.session.execute(
                update(FamilyRelationship)
                .where(FamilyRelationship.id.in_(ids("relationships_person")))
                .values(person_id=merged_id)
            )
        if ids("relationships_related"):
            await self.session.execute(
                update(FamilyRelationship)
                .where(FamilyRelationship.id.in_(ids("relationships_related")))
                .values(related_person_id=merged_id)
            )

    async def add_merge(self, merge: PersonMerge) -> bool:
        return await self.savepoint_insert(merge)

    async def get_merge(self, merge_id: uuid.UUID) -> PersonMerge | None:
        return (
            await self.session.scalars(select(PersonMerge).where(PersonMerge.id == merge_id).with_for_update())
        ).first()

    async def merges_of(self, person_id: uuid.UUID) -> list[PersonMerge]:
        query = (
            select(PersonMerge)
            .where(or_(PersonMerge.survivor_id == person_id, PersonMerge.merged_id == person_id))
            .order_by(PersonMerge.merged_at)
        )
        return list((await self.session.scalars(query)).all())

    async def case_statuses(self, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[tuple[bool, str]]]:
        """(a current member, the case's status) of every case of every family each person is or was in."""
        if not person_ids:
            return {}
        query = (
            select(FamilyMember.person_id, FamilyMember.left_on.is_(None), Case.status)
            .join(Case, Case.family_id == FamilyMember.family_id)
            .where(FamilyMember.person_id.in_(person_ids))
        )
        found: dict[uuid.UUID, list[tuple[bool, str]]] = {}
        for person_id, current, status in (await self.session.execute(query)).all():
            if person_id is not None:
                found.setdefault(person_id, []).append((bool(current), str(status)))
        return found
