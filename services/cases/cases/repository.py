"""Every query of the cases service. Methods take domain arguments; the request owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import (
    case as sql_case,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cases.models import (
    Assessment,
    Case,
    CaseReferral,
    CaseStep,
    Contact,
    Family,
    FamilyMember,
    FamilyRelationship,
    Hub,
    LeadWorkerAssignment,
    Person,
    PersonMerge,
    Plan,
    Review,
    Team,
    TeamAroundFamily,
    Worker,
)


@dataclass(frozen=True)
class Viewer:
    """What a caller may see: the hubs they manage, and the worker they are (for cases they work on)."""

    hubs: tuple[str, ...] = ()
    worker_id: uuid.UUID | None = None
    include_team: bool = True
    """False: only the lead worker (and managers), e.g. for sensitive notes."""


# --- visibility predicates --------------------------------------------------------------------------------


def case_visible(viewer: Viewer, case: Any = Case) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if viewer.hubs:
        conditions.append(case.hub.in_(viewer.hubs))
    if viewer.worker_id is not None:
        conditions.append(
            exists().where(
                LeadWorkerAssignment.case_id == case.id,
                LeadWorkerAssignment.worker_id == viewer.worker_id,
                LeadWorkerAssignment.ended_at.is_(None),
            )
        )
        if viewer.include_team:
            conditions.append(
                exists().where(TeamAroundFamily.case_id == case.id, TeamAroundFamily.worker_id == viewer.worker_id)
            )
    return or_(*conditions) if conditions else false()


def family_visible(viewer: Viewer, family_id: Any, family_hub: Any | None = None) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if viewer.hubs and family_hub is not None:
        conditions.append(family_hub.in_(viewer.hubs))
    conditions.append(exists().where(Case.family_id == family_id, case_visible(viewer)))
    return or_(*conditions)


def person_visible(viewer: Viewer) -> ColumnElement[bool]:
    return exists().where(
        FamilyMember.person_id == Person.id,
        FamilyMember.family_id == Family.id,
        family_visible(viewer, Family.id, Family.hub),
    )


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


class CasesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _savepoint_insert(self, obj: Any) -> bool:
        """Insert in a savepoint; False when a unique constraint refused it (the caller decides what that means)."""
        try:
            async with self.session.begin_nested():
                self.session.add(obj)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def lock(self, keys: Sequence[str]) -> None:
        """Transaction-scoped advisory locks, taken in a stable order so that concurrent callers cannot deadlock."""
        for key in sorted(set(keys)):
            await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))

    # --- hubs, teams, workers ---------------------------------------------------------------------------

    async def hub_exists(self, code: str) -> bool:
        return (await self.session.execute(select(Hub.code).where(Hub.code == code))).first() is not None

    async def ensure_hub(self, code: str, name: str | None = None) -> None:
        await self.session.execute(insert(Hub).values(code=code, name=name or code.title()).on_conflict_do_nothing())

    async def upsert_hub(self, code: str, name: str) -> Hub:
        stmt = (
            insert(Hub)
            .values(code=code, name=name)
            .on_conflict_do_update(index_elements=[Hub.code], set_={"name": name})
            .returning(Hub)
        )
        return (await self.session.scalars(stmt)).one()

    async def hubs(self) -> list[Hub]:
        return list((await self.session.scalars(select(Hub).order_by(Hub.code))).all())

    async def teams(self, hub: str | None = None) -> list[Team]:
        query = select(Team).order_by(Team.hub, Team.name)
        if hub:
            query = query.where(Team.hub == hub)
        return list((await self.session.scalars(query)).all())

    async def worker_by_subject(self, subject: str) -> Worker | None:
        return (await self.session.scalars(select(Worker).where(Worker.subject == subject))).first()

    async def get_worker(self, worker_id: uuid.UUID, *, for_update: bool = False) -> Worker | None:
        query = select(Worker).where(Worker.id == worker_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def workers_by_ids(self, ids: Sequence[uuid.UUID], hubs: Sequence[str] | None) -> list[Worker]:
        query = select(Worker).where(Worker.id.in_(ids)).order_by(Worker.name, Worker.id)
        if hubs is not None:
            query = query.where(Worker.hub.in_(hubs))
        return list((await self.session.scalars(query)).all())

    async def add_worker(self, worker: Worker) -> bool:
        return await self._savepoint_insert(worker)

    async def current_caseload_count(self, worker_id: uuid.UUID) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(LeadWorkerAssignment)
            .where(LeadWorkerAssignment.worker_id == worker_id, LeadWorkerAssignment.ended_at.is_(None))
        )
        return int(count or 0)

    async def caseload(self, worker_id: uuid.UUID) -> list[tuple[LeadWorkerAssignment, Case]]:
        rows = await self.session.execute(
            select(LeadWorkerAssignment, Case)
            .join(Case, Case.id == LeadWorkerAssignment.case_id)
            .where(LeadWorkerAssignment.worker_id == worker_id, LeadWorkerAssignment.ended_at.is_(None))
            .order_by(LeadWorkerAssignment.assigned_at)
        )
        return [(a, c) for a, c in rows]

    # --- people ---------------------------------------------------------------------------------------------

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
    ) -> list[Person]:
        """People sharing the date of birth, or the postcode and a phonetic name key (both index scans)."""
        block = Person.date_of_birth == date_of_birth
        if postcode and keys:
            block = or_(
                block,
                and_(Person.postcode == postcode, Person.family_key.in_(keys)),
                and_(Person.postcode == postcode, Person.given_key.in_(keys)),
            )
        query = select(Person).where(block, Person.merged_into_id.is_(None)).limit(limit)
        return list((await self.session.scalars(query)).all())

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
        return await self._savepoint_insert(merge)

    async def live_merge_of(self, merged_id: uuid.UUID) -> PersonMerge | None:
        query = select(PersonMerge).where(PersonMerge.merged_id == merged_id, PersonMerge.undone_at.is_(None))
        return (await self.session.scalars(query.with_for_update())).first()

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

    async def persons_merged_into(self, survivor_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.session.scalars(select(Person.id).where(Person.merged_into_id == survivor_id))
        return list(rows.all())

    # --- families -------------------------------------------------------------------------------------------

    async def get_family(self, family_id: uuid.UUID) -> Family | None:
        return await self.session.get(Family, family_id)

    async def add(self, obj: Any) -> None:
        self.session.add(obj)
        await self.session.flush()

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
        return await self._savepoint_insert(member)

    async def add_relationship(self, relationship: FamilyRelationship) -> bool:
        return await self._savepoint_insert(relationship)

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
        after: uuid.UUID | None,
        limit: int,
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
        if after is not None:
            query = query.where(Family.id > after)
        query = query.order_by(Family.id).limit(limit)
        return [(f, m, r) for f, m, r in (await self.session.execute(query))]

    # --- cases ----------------------------------------------------------------------------------------------

    async def get_case(
        self, case_id: uuid.UUID, *, for_update: bool = False, viewer: Viewer | None = None
    ) -> Case | None:
        """A case (visible to `viewer` when given), optionally locked for a change: one round trip."""
        query = select(Case).where(Case.id == case_id)
        if viewer is not None:
            query = query.where(case_visible(viewer))
        if for_update:
            query = query.with_for_update(of=Case)
        return (await self.session.scalars(query)).first()

    async def open_case_of_family(self, family_id: uuid.UUID) -> Case | None:
        query = select(Case).where(Case.family_id == family_id, Case.status != "closed")
        return (await self.session.scalars(query)).first()

    async def add_case(self, case: Case) -> bool:
        """False when the family already has an open case (the partial unique index refused it)."""
        return await self._savepoint_insert(case)

    async def case_of_referral(self, referral_id: uuid.UUID) -> uuid.UUID | None:
        return await self.session.scalar(select(CaseReferral.case_id).where(CaseReferral.referral_id == referral_id))

    async def link_referral(self, referral_id: uuid.UUID, case_id: uuid.UUID, *, joined: bool) -> bool:
        stmt = (
            insert(CaseReferral)
            .values(referral_id=referral_id, case_id=case_id, joined=joined)
            .on_conflict_do_nothing()
            .returning(CaseReferral.referral_id)
        )
        return (await self.session.scalars(stmt)).first() is not None

    async def touch_case(self, case: Case, **values: Any) -> None:
        """Change a case and bump its version (its ETag)."""
        for key, value in values.items():
            setattr(case, key, value)
        case.version = case.version + 1
        await self.session.flush()

    async def cases_with_summary(
        self,
        viewer: Viewer | None,
        *,
        ids: Sequence[uuid.UUID] | None = None,
        family_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[tuple[Case, uuid.UUID | None, Any, Any]]:
        """Cases with their current lead worker, latest assessment and referral ids, in one query."""
        lead = (
            select(LeadWorkerAssignment.worker_id)
            .where(LeadWorkerAssignment.case_id == Case.id, LeadWorkerAssignment.ended_at.is_(None))
            .scalar_subquery()
        )
        a = Assessment.__table__.alias("a")
        assessment = (
            select(
                func.json_build_object(
                    "id",
                    a.c.id,
                    "framework",
                    a.c.framework,
                    "framework_version",
                    a.c.framework_version,
                    "needs",
                    a.c.need_codes,
                    "eligible",
                    a.c.eligible,
                    "eligibility_reasons",
                    a.c.eligibility_reasons,
                    "assessed_on",
                    a.c.assessed_on,
                )
            )
            .where(a.c.case_id == Case.id)
            .order_by(a.c.created_at.desc(), a.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        referrals = (
            select(func.coalesce(func.json_agg(CaseReferral.referral_id), text("'[]'::json")))
            .where(CaseReferral.case_id == Case.id)
            .scalar_subquery()
        )
        query = select(Case, lead.label("lead"), assessment.label("assessment"), referrals.label("referrals"))
        if ids is not None:
            query = query.where(Case.id.in_(ids))
        if family_ids is not None:
            query = query.where(Case.family_id.in_(family_ids))
        if viewer is not None:
            query = query.where(case_visible(viewer))
        query = query.order_by(Case.opened_at, Case.id)
        return [(c, lw, asmt, refs) for c, lw, asmt, refs in (await self.session.execute(query))]

    async def is_case_visible(self, case_id: uuid.UUID, viewer: Viewer) -> bool:
        query = select(Case.id).where(Case.id == case_id, case_visible(viewer))
        return (await self.session.execute(query)).first() is not None

    async def is_family_visible(self, family_id: uuid.UUID, viewer: Viewer) -> bool:
        query = select(Family.id).where(Family.id == family_id, family_visible(viewer, Family.id, Family.hub))
        return (await self.session.execute(query)).first() is not None

    async def add_step(self, step: CaseStep) -> None:
        await self.add(step)

    # --- lead workers ---------------------------------------------------------------------------------------

    async def current_assignment(self, case_id: uuid.UUID) -> LeadWorkerAssignment | None:
        query = select(LeadWorkerAssignment).where(
            LeadWorkerAssignment.case_id == case_id, LeadWorkerAssignment.ended_at.is_(None)
        )
        return (await self.session.scalars(query)).first()

    async def end_assignment(self, assignment: LeadWorkerAssignment, reason: str) -> None:
        await self.session.execute(
            update(LeadWorkerAssignment)
            .where(LeadWorkerAssignment.id == assignment.id)
            .values(ended_at=func.now(), end_reason=reason)
        )

    async def add_assignment(self, assignment: LeadWorkerAssignment) -> bool:
        return await self._savepoint_insert(assignment)

    async def assignment_history(self, case_id: uuid.UUID) -> list[LeadWorkerAssignment]:
        query = (
            select(LeadWorkerAssignment)
            .where(LeadWorkerAssignment.case_id == case_id)
            .order_by(LeadWorkerAssignment.assigned_at, LeadWorkerAssignment.id)
        )
        return list((await self.session.scalars(query)).all())

    # --- assessments, plans, reviews ----------------------------------------------------------------------

    async def latest_assessment(self, case_id: uuid.UUID) -> Assessment | None:
        query = (
            select(Assessment)
            .where(Assessment.case_id == case_id)
            .order_by(Assessment.created_at.desc(), Assessment.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(query)).first()

    async def active_plan(self, case_id: uuid.UUID) -> Plan | None:
        return (await self.session.scalars(select(Plan).where(Plan.case_id == case_id, Plan.active))).first()

    async def plan_versions(self, case_id: uuid.UUID) -> list[Plan]:
        query = select(Plan).where(Plan.case_id == case_id).order_by(Plan.version)
        return list((await self.session.scalars(query)).all())

    async def retire_plan(self, plan: Plan) -> None:
        plan.active = False
        await self.session.flush()

    async def replace_team(self, case_id: uuid.UUID, team: Sequence[tuple[uuid.UUID, str]]) -> None:
        await self.session.execute(delete(TeamAroundFamily).where(TeamAroundFamily.case_id == case_id))
        if team:
            await self.session.execute(
                insert(TeamAroundFamily),
                [{"id": uuid.uuid4(), "case_id": case_id, "worker_id": w, "role": r} for w, r in team],
            )

    async def existing_worker_ids(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return set((await self.session.scalars(select(Worker.id).where(Worker.id.in_(ids)))).all())

    async def plans_by_case_ids(self, case_ids: Sequence[uuid.UUID], viewer: Viewer | None) -> list[tuple[Plan, Any]]:
        """Active plans with their reviews inline, in one query."""
        r = Review.__table__.alias("rv")
        reviews = (
            select(
                func.coalesce(
                    func.json_agg(
                        aggregate_order_by(
                            func.json_build_object(
                                "id",
                                r.c.id,
                                "case_id",
                                r.c.case_id,
                                "plan_version",
                                r.c.plan_version,
                                "reviewed_on",
                                r.c.reviewed_on,
                                "summary",
                                r.c.summary,
                                "progress",
                                r.c.progress,
                                "next_review_due",
                                r.c.next_review_due,
                                "recorded_by",
                                r.c.recorded_by,
                            ),
                            r.c.reviewed_on,
                        )
                    ),
                    text("'[]'::json"),
                )
            )
            .where(r.c.case_id == Plan.case_id)
            .scalar_subquery()
        )
        query = select(Plan, reviews.label("reviews")).where(Plan.case_id.in_(case_ids), Plan.active)
        if viewer is not None:
            query = query.where(exists().where(Case.id == Plan.case_id, case_visible(viewer)))
        return [(p, rv) for p, rv in (await self.session.execute(query.order_by(Plan.case_id)))]

    # --- contacts -------------------------------------------------------------------------------------------

    async def contacts(
        self, case_ids: Sequence[uuid.UUID], viewer: Viewer, *, sensitive_viewer: Viewer
    ) -> list[Contact]:
        """Contacts of visible cases; sensitive ones only where `sensitive_viewer` (lead, managers) sees the case."""
        sensitive_ok = exists().where(Case.id == Contact.case_id, case_visible(sensitive_viewer))
        query = (
            select(Contact)
            .where(
                Contact.case_id.in_(case_ids),
                exists().where(Case.id == Contact.case_id, case_visible(viewer)),
                or_(Contact.sensitive.is_(False), sensitive_ok),
            )
            .order_by(Contact.case_id, Contact.occurred_at, Contact.id)
        )
        return list((await self.session.scalars(query)).all())
