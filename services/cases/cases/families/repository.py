"""Every query of families: members, relationships, and families with everything inline in one query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, literal_column, null, select, text
from sqlalchemy import case as sql_case
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from cases.access import Viewer, family_visible
from cases.kit import Repository
from cases.models import Assessment, Case, Family, FamilyMember, FamilyRelationship, LeadWorkerAssignment, Person
from shared.pagination import SortKey, Window


def _person_json(p: Any) -> Any:
    return func.json_build_object(
        "id",
        p.id,
        "given_name",
        p.given_name,
        "family_name",
        p.family_name,
        "date_of_birth",
        p.date_of_birth,
        "nhs_number",
        p.nhs_number,
        "upn",
        p.upn,
        "postcode",
        p.postcode,
    )


class FamiliesRepository(Repository):
    async def get_family(self, family_id: uuid.UUID) -> Family | None:
        return await self.session.get(Family, family_id)

    async def current_members(self, family_id: uuid.UUID) -> list[tuple[FamilyMember, Person | None]]:
        rows = await self.session.execute(
            select(FamilyMember, Person)
            .outerjoin(Person, Person.id == FamilyMember.person_id)
            .where(FamilyMember.family_id == family_id, FamilyMember.left_on.is_(None))
            .order_by(FamilyMember.joined_on, FamilyMember.id)
        )
        return [(m, p) for m, p in rows]

    async def get_member(self, family_id: uuid.UUID, member_id: uuid.UUID) -> FamilyMember | None:
        query = select(FamilyMember).where(FamilyMember.id == member_id, FamilyMember.family_id == family_id)
        return (await self.session.scalars(query.with_for_update())).first()

    async def add_member(self, member: FamilyMember) -> bool:
        """False when the person is already a current member of the family."""
        return await self.savepoint_insert(member)

    async def add_relationship(self, relationship: FamilyRelationship) -> bool:
        return await self.savepoint_insert(relationship)

    async def families_of_people(self, person_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """Families in which any of the people is a current member; families with an open case first."""
        has_open = exists().where(Case.family_id == FamilyMember.family_id, Case.status != "closed")
        rows = await self.session.execute(
            select(FamilyMember.family_id, func.bool_or(has_open).label("open"))
            .where(FamilyMember.person_id.in_(person_ids), FamilyMember.left_on.is_(None))
            .group_by(FamilyMember.family_id)
            .order_by(literal_column("open").desc(), FamilyMember.family_id)
        )
        return [row[0] for row in rows.all()]

    def _family_rows(self) -> Select[Any]:
        member, person = FamilyMember.__table__.alias("m"), Person.__table__.alias("p")
        member_json = func.json_build_object(
            "id",
            member.c.id,
            "role",
            member.c.role,
            "expected_on",
            member.c.expected_on,
            "joined_on",
            member.c.joined_on,
            "left_on",
            member.c.left_on,
            "person",
            sql_case((person.c.id.is_(None), null()), else_=_person_json(person.c)),
        )
        members = (
            select(
                func.coalesce(
                    func.json_agg(aggregate_order_by(member_json, member.c.joined_on, member.c.id)),
                    text("'[]'::json"),
                )
            )
            .select_from(member.outerjoin(person, person.c.id == member.c.person_id))
            .where(member.c.family_id == Family.id)
            .scalar_subquery()
        )
        rel = FamilyRelationship.__table__.alias("r")
        relationships = (
            select(
                func.coalesce(
                    func.json_agg(
                        func.json_build_object(
                            "person_id",
                            rel.c.person_id,
                            "related_person_id",
                            rel.c.related_person_id,
                            "kind",
                            rel.c.kind,
                        )
                    ),
                    text("'[]'::json"),
                )
            )
            .where(rel.c.family_id == Family.id)
            .scalar_subquery()
        )
        return select(Family, members.label("members"), relationships.label("relationships"))

    async def families_by_ids(self, ids: Sequence[uuid.UUID], viewer: Viewer | None) -> list[tuple[Family, Any, Any]]:
        """Families with members and relationships inline, in one query."""
        query = self._family_rows().where(Family.id.in_(ids)).order_by(Family.id)
        if viewer is not None:
            query = query.where(family_visible(viewer, Family.id, Family.hub))
        return [(f, m, r) for f, m, r in (await self.session.execute(query))]

    async def list_families(
        self,
        viewer: Viewer,
        *,
        hub: str | None,
        lead_worker_id: uuid.UUID | None,
        case_status: str | None,
        need: str | None,
        eligible: bool | None,
        window: Window,
        person_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[tuple[Family, Any, Any]]:
        query = self._family_rows().where(family_visible(viewer, Family.id, Family.hub))
        if hub:
            query = query.where(Family.hub == hub)
        if person_ids is not None:
            query = query.where(
                exists().where(
                    FamilyMember.family_id == Family.id,
                    FamilyMember.person_id.in_(person_ids),
                    FamilyMember.left_on.is_(None),
                )
            )
        case_conditions: list[ColumnElement[bool]] = []
        if case_status:
            case_conditions.append(Case.status == case_status)
        if lead_worker_id:
            case_conditions.append(
                exists().where(
                    LeadWorkerAssignment.case_id == Case.id,
                    LeadWorkerAssignment.worker_id == lead_worker_id,
                    LeadWorkerAssignment.ended_at.is_(None),
                )
            )
        if need is not None or eligible is not None:
            newer = aliased(Assessment)
            latest = (
                select(newer.id)
                .where(newer.case_id == Case.id)
                .order_by(newer.created_at.desc(), newer.id.desc())
                .limit(1)
                .correlate(Case)
                .scalar_subquery()
            )
            assessed = [Assessment.id == latest]
            if need is not None:
                assessed.append(Assessment.need_codes.contains([need]))
            if eligible is not None:
                assessed.append(Assessment.eligible.is_(eligible))
            case_conditions.append(exists().where(*assessed))
        if case_conditions:
            query = query.where(exists().where(Case.family_id == Family.id, *case_conditions))
        query = window.apply(query, (SortKey(Family.id),))
        return [(f, m, r) for f, m, r in (await self.session.execute(query))]

    async def is_family_visible(self, family_id: uuid.UUID, viewer: Viewer) -> bool:
        query = select(Family.id).where(Family.id == family_id, family_visible(viewer, Family.id, Family.hub))
        return (await self.session.execute(query)).first() is not None
