"""The rules of families: who creates them, who changes their members and relationships.

A family is read with its members and relationships inline; every read of a family is also a read of its
members' person records, and both are written to the access log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from cases.access import Caller
from cases.families.repository import FamiliesRepository
from cases.families.schemas import (
    FamilyCreate,
    FamilyRead,
    MemberCreate,
    MemberLeave,
    MemberRead,
    RelationshipCreate,
    RelationshipRead,
)
from cases.kit import today
from cases.models import Family, FamilyMember, FamilyRelationship
from cases.people.service import PeopleService
from cases.workforce.repository import WorkforceRepository
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound, UnprocessableContent, field_error
from shared.pagination import Slice, Window


class FamiliesService:
    def __init__(self, repo: FamiliesRepository, *, people: PeopleService, workforce: WorkforceRepository) -> None:
        self.repo = repo
        self.people = people
        self.workforce = workforce

    def _family_read(self, family: Family, members: Any, relationships: Any) -> FamilyRead:
        return FamilyRead(
            id=family.id,
            name=family.name,
            hub=family.hub,
            address=family.address,
            postcode=family.postcode,
            members=[MemberRead.model_validate(m) for m in members or []],
            relationships=[RelationshipRead.model_validate(r) for r in relationships or []],
        )

    async def _audit_families(self, actor: Principal, families: Sequence[FamilyRead]) -> None:
        await self.repo.audit(actor, "read", "family", [f.id for f in families])
        person_ids = {m.person.id for f in families for m in f.members if m.person is not None}
        await self.repo.audit(actor, "read", "person", sorted(person_ids, key=str))

    async def families(self, ids: Sequence[uuid.UUID], caller: Caller) -> list[FamilyRead]:
        rows = await self.repo.families_by_ids(ids, caller.viewer)
        result = [self._family_read(*row) for row in rows]
        await self._audit_families(caller.principal, result)
        return result

    async def family(self, family_id: uuid.UUID, caller: Caller) -> FamilyRead:
        found = await self.families([family_id], caller)
        if not found:
            raise NotFound("No such family")
        return found[0]

    async def list_families(self, caller: Caller, *, window: Window, **filters: Any) -> Slice[FamilyRead]:
        page = Slice.of(window, await self.repo.list_families(caller.viewer, window=window, **filters))
        result = [self._family_read(*row) for row in page.rows]
        await self._audit_families(caller.principal, result)
        return Slice(result, has_previous=page.has_previous, has_next=page.has_next)

    async def _writable_family(self, family_id: uuid.UUID, caller: Caller) -> Family:
        family = await self.repo.get_family(family_id)
        if family is None or not await self.repo.is_family_visible(family_id, caller.viewer):
            raise NotFound("No such family")
        # the wider team around the family reads it; its lead worker and the hub's managers change it
        if not await self.repo.is_family_visible(family_id, caller.lead_viewer):
            raise Forbidden("Changing the family is for its lead worker and the hub's managers")
        return family

    async def create_family(self, body: FamilyCreate, caller: Caller) -> FamilyRead:
        if not caller.manages(body.hub):
            raise Forbidden("Only the hub's managers create families in a hub")
        if not await self.workforce.hub_exists(body.hub):
            raise UnprocessableContent("Unknown hub", errors=[field_error("/hub", "no such hub")])
        family = Family(id=uuid.uuid4(), name=body.name, hub=body.hub, address=body.address, postcode=body.postcode)
        await self.repo.add(family)
        for index, member in enumerate(body.members):
            await self._add_member(family, member, caller, pointer=f"/members/{index}")
        await self.publish_membership(family.id, added=len(body.members), left=0)
        await self.repo.audit(caller.principal, "create", "family", [family.id])
        return await self.family(family.id, caller)

    async def _add_member(self, family: Family, body: MemberCreate, caller: Caller, *, pointer: str) -> FamilyMember:
        person_id: uuid.UUID | None = None
        if body.person is not None:
            created = await self.people.insert(body.person)
            if created is None:
                raise Conflict(
                    "A person with this NHS number or UPN is already in the index; add them by person_id",
                    pointer=pointer,
                )
            person_id = created.id
        elif body.person_id is not None:
            # Only someone the caller may already see is added by id: anyone else is the same 404 as an unknown
            # id, so a body cannot read (or reach) another hub's or caseload's person (finding A).
            person = await self.people.current(body.person_id)
            if person is None or not await self.people.is_visible(person.id, caller):
                raise NotFound("No such person", pointer=f"{pointer}/person_id")
            person_id = person.id
        member = FamilyMember(
            id=uuid.uuid4(),
            family_id=family.id,
            person_id=person_id,
            role=body.role,
            expected_on=body.expected_on,
            joined_on=body.joined_on or today(),
        )
        if not await self.repo.add_member(member):
            raise Conflict("That person is already a current member of the family", pointer=pointer)
        return member

    async def publish_membership(self, family_id: uuid.UUID, *, added: int, left: int) -> None:
        if added or left:
            await self.repo.publish(
                "family.membership_changed",
                family_id,
                {"family_id": family_id, "joined": added, "left": left},
            )

    async def add_member(self, family_id: uuid.UUID, body: MemberCreate, caller: Caller) -> FamilyRead:
        family = await self._writable_family(family_id, caller)
        member = await self._add_member(family, body, caller, pointer="")
        await self.publish_membership(family.id, added=1, left=0)
        await self.repo.audit(caller.principal, "update", "family", [family.id], purpose=f"member {member.id} joined")
        return await self.family(family.id, caller)

    async def member_leaves(
        self, family_id: uuid.UUID, member_id: uuid.UUID, body: MemberLeave, caller: Caller
    ) -> FamilyRead:
        await self._writable_family(family_id, caller)
        member = await self.repo.get_member(family_id, member_id)
        if member is None:
            raise NotFound("No such member of this family")
        if member.left_on is not None:
            raise Conflict("This member has already left the family")
        left_on = body.left_on or today()
        if left_on < member.joined_on:
            raise UnprocessableContent(
                "left_on is before joined_on", errors=[field_error("/left_on", "before joined_on")]
            )
        member.left_on, member.left_reason = left_on, body.reason
        await self.repo.flush()
        await self.publish_membership(family_id, added=0, left=1)
        await self.repo.audit(caller.principal, "update", "family", [family_id], purpose=f"member {member.id} left")
        return await self.family(family_id, caller)

    async def add_relationship(self, family_id: uuid.UUID, body: RelationshipCreate, caller: Caller) -> FamilyRead:
        await self._writable_family(family_id, caller)
        current = {p.id for _, p in await self.repo.current_members(family_id) if p is not None}
        for pointer, pid in (("/person_id", body.person_id), ("/related_person_id", body.related_person_id)):
            if pid not in current:
                raise UnprocessableContent(
                    "Relationships are between current members",
                    errors=[field_error(pointer, "not a current member")],
                )
        if body.person_id == body.related_person_id:
            raise UnprocessableContent(
                "A relationship needs two people", errors=[field_error("/related_person_id", "same person")]
            )
        relationship = FamilyRelationship(id=uuid.uuid4(), family_id=family_id, **body.model_dump())
        if not await self.repo.add_relationship(relationship):
            raise Conflict("This relationship is already recorded")
        await self.repo.audit(caller.principal, "update", "family", [family_id], purpose="relationship recorded")
        return await self.family(family_id, caller)
