"""The rules of the cases service: one family, one plan, one worker.

Services raise domain errors (`shared.errors`) and never commit: the request (or the event delivery) owns the
transaction. Every read of a person or family and every change is written to the audit log, and every event is
published through the outbox in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cases import matching
from cases.frameworks import Framework
from cases.models import (
    Assessment,
    Case,
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
    Worker,
    platform,
)
from cases.repository import CasesRepository, Viewer
from cases.schemas import (
    AssessmentCreate,
    AssessmentSummary,
    CaseClose,
    CaseCreate,
    CaseRead,
    ContactCreate,
    FamilyCreate,
    FamilyRead,
    LeadWorkerAssign,
    MatchCandidate,
    MatchRequest,
    MatchResult,
    MemberCreate,
    MemberLeave,
    MemberRead,
    MergeRequest,
    PersonCreate,
    PersonRead,
    PlanRead,
    PlanUpdate,
    ReferralAccepted,
    ReferralPerson,
    RelationshipCreate,
    RelationshipRead,
    ReviewCreate,
    ReviewRead,
    UnmergeRequest,
    WorkerCreate,
)
from shared.audit import record_access
from shared.auth import Principal
from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    UnprocessableContent,
    field_error,
)
from shared.events import CloudEvent, publish

SOURCE = "cases"
CHILD_ROLES = ("child", "young_person")


def today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class Caller:
    """The principal of a request and, when they are a worker here, their worker record."""

    principal: Principal
    worker_id: uuid.UUID | None

    @property
    def is_manager(self) -> bool:
        return self.principal.has_role("hub_manager")

    @property
    def viewer(self) -> Viewer:
        hubs = self.principal.hubs if self.is_manager else ()
        worker = self.worker_id if self.principal.has_role("practitioner", "hub_manager") else None
        return Viewer(hubs=tuple(hubs), worker_id=worker)

    @property
    def lead_viewer(self) -> Viewer:
        """Who may read sensitive notes: the lead worker and the hub's managers (not the wider team)."""
        return Viewer(hubs=self.viewer.hubs, worker_id=self.viewer.worker_id, include_team=False)

    def manages(self, hub: str) -> bool:
        return self.is_manager and self.principal.in_hub(hub)


def person_read(person: Person) -> PersonRead:
    return PersonRead.model_validate(person, from_attributes=True)


def plan_etag(plan: Plan | None) -> str:
    return f'"plan-{plan.version}"' if plan is not None else '"plan-0"'


def case_etag(case: Case) -> str:
    return f'"case-{case.version}"'


def _etag_matches(if_match: str, current: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    return "*" in tags or current in tags


def _person_values(
    *,
    given_name: str,
    family_name: str,
    date_of_birth: date | None,
    nhs_number: str | None,
    upn: str | None,
    postcode: str | None,
    address: str | None,
) -> dict[str, Any]:
    return {
        "given_name": given_name,
        "family_name": family_name,
        "date_of_birth": date_of_birth,
        "nhs_number": nhs_number,
        "upn": upn,
        "postcode": postcode,
        "address": address,
        "given_key": matching.name_key(given_name),
        "family_key": matching.name_key(family_name),
    }


class CasesService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = CasesRepository(session)

    async def _audit(
        self,
        actor: Principal | str,
        action: str,
        record_type: str,
        ids: Sequence[Any],
        purpose: str | None = None,
    ) -> None:
        await record_access(
            self.session,
            platform,
            actor=actor,
            action=action,
            record_type=record_type,
            record_ids=ids,
            purpose=purpose,
        )

    async def _publish(self, type_: str, subject: uuid.UUID, data: dict[str, Any]) -> None:
        await publish(self.session, platform, source=SOURCE, type=type_, subject=str(subject), data=data)

    async def caller(self, principal: Principal) -> Caller:
        worker = await self.repo.worker_by_subject(principal.sub)
        return Caller(principal, worker.id if worker is not None and worker.active else None)

    # --- people: matching, lookup, merge ---------------------------------------------------------------

    async def _survivor(self, person: Person) -> Person:
        seen: set[uuid.UUID] = set()
        while person.merged_into_id is not None and person.id not in seen:
            seen.add(person.id)
            survivor = await self.repo.get_person(person.merged_into_id)
            if survivor is None:
                break
            person = survivor
        return person

    async def match_people(self, request: MatchRequest, *, actor: Principal, limit: int) -> MatchResult:
        exact: dict[uuid.UUID, Person] = {}
        for found in await self.repo.people_by_identifiers(request.nhs_number, request.upn):
            survivor = await self._survivor(found)
            exact[survivor.id] = survivor
        query = matching.MatchQuery(request.given_name, request.family_name, request.date_of_birth, request.postcode)
        block = await self.repo.match_block(
            date_of_birth=request.date_of_birth,
            postcode=request.postcode,
            keys=matching.blocking_keys(request.given_name, request.family_name),
            limit=2000,
        )
        scored: list[MatchCandidate] = []
        for person in block:
            if person.id in exact:
                continue
            result = matching.score(
                query,
                matching.IndexedPerson(person.given_name, person.family_name, person.date_of_birth, person.postcode),
            )
            if result.is_candidate:
                scored.append(MatchCandidate(person=person_read(person), score=result.value, reasons=result.reasons))
        scored.sort(key=lambda c: (-c.score, str(c.person.id)))
        candidates = scored[:limit]
        ids = [*exact, *(c.person.id for c in candidates)]
        await self._audit(actor, "match", "person", ids, purpose="person matching")
        return MatchResult(exact=[person_read(p) for p in exact.values()], candidates=candidates)

    async def people(self, ids: Sequence[uuid.UUID], caller: Caller) -> list[PersonRead]:
        people = await self.repo.people_by_ids(ids, caller.viewer)
        await self._audit(caller.principal, "read", "person", [p.id for p in people])
        return [person_read(p) for p in people]

    async def create_person(self, body: PersonCreate, caller: Caller) -> PersonRead:
        if not caller.is_manager:
            raise Forbidden("Only hub managers add people to the index directly")
        person = await self.repo.insert_person(_person_values(**body.model_dump()))
        if person is None:
            raise Conflict("A person with this NHS number or UPN is already in the index; use the match API")
        await self._audit(caller.principal, "create", "person", [person.id])
        return person_read(person)

    async def merge(self, survivor_id: uuid.UUID, body: MergeRequest, caller: Caller) -> PersonMerge:
        if not caller.is_manager:
            raise Forbidden("Only hub managers merge people")
        if survivor_id == body.merge_person_id:
            raise UnprocessableContent(
                "A person cannot be merged into themselves",
                errors=[field_error("/merge_person_id", "must differ from the person in the path")],
            )
        await self.repo.lock([f"person:{survivor_id}", f"person:{body.merge_person_id}"])
        survivor = await self.repo.get_person(survivor_id)
        duplicate = await self.repo.get_person(body.merge_person_id)
        if survivor is None or duplicate is None:
            raise NotFound("No such person")
        # An already-merged duplicate belongs to no family any more; the 409 below explains it.
        await self._require_visible_people(
            caller, [survivor.id] + ([duplicate.id] if duplicate.merged_into_id is None else [])
        )
        if survivor.merged_into_id is not None:
            raise Conflict("The surviving person has itself been merged; merge into its survivor instead")
        if duplicate.merged_into_id is not None:
            raise Conflict("That person is already merged")
        if survivor.nhs_number and duplicate.nhs_number and survivor.nhs_number != duplicate.nhs_number:
            raise Conflict("The two people have different NHS numbers and cannot be the same person")
        if survivor.upn and duplicate.upn and survivor.upn != duplicate.upn:
            raise Conflict("The two people have different UPNs and cannot be the same person")
        moved = await self.repo.repoint_people(duplicate.id, survivor.id, today=today())
        await self.repo.set_merged_into(duplicate.id, survivor.id)
        merge = PersonMerge(
            id=uuid.uuid4(),
            survivor_id=survivor.id,
            merged_id=duplicate.id,
            reason=body.reason,
            merged_by=caller.principal.actor,
            moved=moved,
        )
        if not await self.repo.add_merge(merge):
            raise Conflict("That person is already merged")
        await self._audit(caller.principal, "merge", "person", [survivor.id, duplicate.id], purpose=body.reason)
        return merge

    async def unmerge(self, merge_id: uuid.UUID, body: UnmergeRequest, caller: Caller) -> PersonMerge:
        if not caller.is_manager:
            raise Forbidden("Only hub managers undo merges")
        merge = await self.repo.get_merge(merge_id)
        if merge is None:
            raise NotFound("No such merge")
        await self._require_visible_people(caller, [merge.survivor_id])
        if merge.undone_at is not None:
            raise Conflict("This merge has already been undone")
        await self.repo.lock([f"person:{merge.survivor_id}", f"person:{merge.merged_id}"])
        await self.repo.undo_repoint(merge.moved, merge.merged_id)
        await self.repo.set_merged_into(merge.merged_id, None)
        merge.undone_at = datetime.now(UTC)
        merge.undone_by = caller.principal.actor
        merge.undo_reason = body.reason
        await self.session.flush()
        await self._audit(
            caller.principal, "unmerge", "person", [merge.survivor_id, merge.merged_id], purpose=body.reason
        )
        return merge

    async def _require_visible_people(self, caller: Caller, ids: Sequence[uuid.UUID]) -> None:
        """A manager works only on people of their hubs' families: others are 404 (ids are not disclosed)."""
        visible = {p.id for p in await self.repo.people_by_ids(ids, caller.viewer)}
        if not set(ids) <= visible:
            raise NotFound("No such person")

    async def merges_of(self, person_id: uuid.UUID, caller: Caller) -> list[PersonMerge]:
        if not caller.is_manager:
            raise Forbidden("Only hub managers read merge history")
        await self._require_visible_people(caller, [person_id])
        await self._audit(caller.principal, "read", "person", [person_id], purpose="merge history")
        return await self.repo.merges_of(person_id)

    # --- hubs and workers ---

    async def hubs(self) -> list[Hub]:
        return await self.repo.hubs()

    async def put_hub(self, code: str, name: str, principal: Principal) -> Hub:
        if not principal.has_role("admin"):
            raise Forbidden("Only an admin defines hubs")
        hub = await self.repo.upsert_hub(code, name)
        await self._audit(principal, "update", "hub", [code])
        return hub

    # --- workers ---------------------------------------------------------------------------------------

    async def create_worker(self, body: WorkerCreate, caller: Caller) -> Worker:
        if not (caller.manages(body.hub) or caller.principal.has_role("admin")):
            raise Forbidden("Only the hub's managers (or an admin) add workers to a hub")
        if not await self.repo.hub_exists(body.hub):
            raise UnprocessableContent("Unknown hub", errors=[field_error("/hub", "no such hub")])
        worker = Worker(id=uuid.uuid4(), active=True, **body.model_dump())
        if not await self.repo.add_worker(worker):
            raise Conflict("A worker with this subject already exists")
        return worker

    async def workers(self, ids: Sequence[uuid.UUID], caller: Caller) -> list[Worker]:
        # Workers are staff, not families: any practitioner or manager may look colleagues up.
        return await self.repo.workers_by_ids(ids, None)

    async def caseload(self, worker_id: uuid.UUID, caller: Caller) -> tuple[Worker, list[tuple[Any, Case]]]:
        worker = await self.repo.get_worker(worker_id)
        if worker is None:
            raise NotFound("No such worker")
        if caller.worker_id != worker.id and not caller.manages(worker.hub):
            raise Forbidden("A caseload is visible to the worker and their hub's managers")
        return worker, await self.repo.caseload(worker_id)

    # --- families ----------------------------------------------------------------------------------------

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
        await self._audit(actor, "read", "family", [f.id for f in families])
        person_ids = {m.person.id for f in families for m in f.members if m.person is not None}
        await self._audit(actor, "read", "person", sorted(person_ids, key=str))

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

    async def list_families(
        self, caller: Caller, *, after: uuid.UUID | None, limit: int, **filters: Any
    ) -> list[FamilyRead]:
        rows = await self.repo.list_families(caller.viewer, after=after, limit=limit, **filters)
        result = [self._family_read(*row) for row in rows]
        await self._audit_families(caller.principal, result)
        return result

    async def _writable_family(self, family_id: uuid.UUID, caller: Caller) -> Family:
        family = await self.repo.get_family(family_id)
        if family is None or not await self.repo.is_family_visible(family_id, caller.viewer):
            raise NotFound("No such family")
        return family

    async def create_family(self, body: FamilyCreate, caller: Caller) -> FamilyRead:
        if not caller.manages(body.hub):
            raise Forbidden("Only the hub's managers create families in a hub")
        if not await self.repo.hub_exists(body.hub):
            raise UnprocessableContent("Unknown hub", errors=[field_error("/hub", "no such hub")])
        family = Family(id=uuid.uuid4(), name=body.name, hub=body.hub, address=body.address, postcode=body.postcode)
        await self.repo.add(family)
        for index, member in enumerate(body.members):
            await self._add_member(family, member, caller, pointer=f"/members/{index}")
        await self._publish_membership(family.id, added=len(body.members), left=0)
        await self._audit(caller.principal, "create", "family", [family.id])
        return await self.family(family.id, caller)

    async def _add_member(self, family: Family, body: MemberCreate, caller: Caller, *, pointer: str) -> FamilyMember:
        person_id: uuid.UUID | None = None
        if body.person is not None:
            created = await self.repo.insert_person(_person_values(**body.person.model_dump()))
            if created is None:
                raise Conflict(
                    "A person with this NHS number or UPN is already in the index; add them by person_id",
                    pointer=pointer,
                )
            person_id = created.id
        elif body.person_id is not None:
            person = await self.repo.get_person(body.person_id)
            if person is None:
                raise UnprocessableContent(
                    "Unknown person", errors=[field_error(f"{pointer}/person_id", "no such person")]
                )
            person_id = (await self._survivor(person)).id
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

    async def _publish_membership(self, family_id: uuid.UUID, *, added: int, left: int) -> None:
        if added or left:
            await self._publish(
                "family.membership_changed",
                family_id,
                {"family_id": family_id, "joined": added, "left": left},
            )

    async def add_member(self, family_id: uuid.UUID, body: MemberCreate, caller: Caller) -> FamilyRead:
        family = await self._writable_family(family_id, caller)
        member = await self._add_member(family, body, caller, pointer="")
        await self._publish_membership(family.id, added=1, left=0)
        await self._audit(caller.principal, "update", "family", [family.id], purpose=f"member {member.id} joined")
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
        await self.session.flush()
        await self._publish_membership(family_id, added=0, left=1)
        await self._audit(caller.principal, "update", "family", [family_id], purpose=f"member {member.id} left")
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
        await self._audit(caller.principal, "update", "family", [family_id], purpose="relationship recorded")
        return await self.family(family_id, caller)

    # --- cases ---------------------------------------------------------------------------------------------

    def _case_read(self, case: Case, lead: uuid.UUID | None, assessment: Any, referrals: Any) -> CaseRead:
        return CaseRead(
            id=case.id,
            family_id=case.family_id,
            hub=case.hub,
            status=case.status,
            version=case.version,
            reason=case.reason,
            opened_at=case.opened_at,
            opened_by=case.opened_by,
            referral_ids=list(referrals or []),
            lead_worker_id=lead,
            assessment=AssessmentSummary.model_validate(assessment) if assessment else None,
            closed_on=case.closed_on,
            outcome=case.outcome,
            closure_reason=case.closure_reason,
        )

    async def cases(
        self,
        caller: Caller,
        *,
        ids: Sequence[uuid.UUID] | None = None,
        family_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[CaseRead]:
        rows = await self.repo.cases_with_summary(caller.viewer, ids=ids, family_ids=family_ids)
        result = [self._case_read(*row) for row in rows]
        await self._audit(caller.principal, "read", "case", [c.id for c in result])
        return result

    async def case(self, case_id: uuid.UUID, caller: Caller) -> CaseRead:
        found = await self.cases(caller, ids=[case_id])
        if not found:
            raise NotFound("No such case")
        return found[0]

    async def visible_case(self, case_id: uuid.UUID, caller: Caller, *, for_update: bool = True) -> Case:
        """The case, locked for the change, when the caller may work on it (404 otherwise: ids are not disclosed)."""
        case = await self.repo.get_case(case_id, for_update=for_update, viewer=caller.viewer)
        if case is None:
            raise NotFound("No such case")
        return case

    @staticmethod
    def _require_open(case: Case) -> None:
        if case.status == "closed":
            raise Conflict("The case is closed")

    async def open_case(self, body: CaseCreate, caller: Caller) -> CaseRead:
        # Whether the caller opens cases at all does not depend on the id (403); whether this family is theirs
        # does, so another hub's family answers exactly like an unknown id (404): ids are not disclosed (F5).
        if not caller.is_manager:
            raise Forbidden("Only the family's hub managers open cases")
        family = await self.repo.get_family(body.family_id)
        if family is None or not caller.manages(family.hub):
            raise NotFound("No such family")
        hub = body.hub or family.hub
        if not caller.manages(hub) or not await self.repo.hub_exists(hub):
            raise UnprocessableContent(
                "Unknown hub or not one you manage", errors=[field_error("/hub", "not your hub")]
            )
        case = Case(
            id=uuid.uuid4(),
            family_id=family.id,
            hub=hub,
            status="open",
            version=1,
            reason=body.reason,
            opened_by=caller.principal.actor,
        )
        if not await self.repo.add_case(case):
            existing = await self.repo.open_case_of_family(family.id)
            raise Conflict("The family already has an open case", case_id=str(existing.id) if existing else None)
        if body.stepped_down_from is not None:
            await self.repo.add_step(
                CaseStep(
                    id=uuid.uuid4(),
                    case_id=case.id,
                    direction="down",
                    on_date=today(),
                    agency=body.stepped_down_from.agency,
                    reason=body.stepped_down_from.reason,
                    recorded_by=caller.principal.actor,
                )
            )
        await self._publish(
            "case.opened",
            case.id,
            {
                "case_id": case.id,
                "family_id": family.id,
                "hub": hub,
                "referral_id": None,
                "opened_at": case.opened_at,
            },
        )
        await self._audit(caller.principal, "create", "case", [case.id], purpose=body.reason)
        return await self.case(case.id, caller)

    # --- the lead worker --------------------------------------------------------------------------------

    async def assign_lead_worker(
        self, case_id: uuid.UUID, body: LeadWorkerAssign, caller: Caller
    ) -> LeadWorkerAssignment:
        """Assign or reassign the lead worker, keeping history.

        The case row is locked first (one assignment per case at a time), then the worker row (one caseload count
        per worker at a time), always in that order; the partial unique index is the last line of defence.
        """
        case = await self.visible_case(case_id, caller)
        self._require_open(case)
        current = await self.repo.current_assignment(case.id)
        is_lead = current is not None and caller.worker_id == current.worker_id
        if not (caller.manages(case.hub) or is_lead):
            raise Forbidden("The lead worker is assigned by the hub's managers (or handed over by the lead worker)")
        if body.override_cap and not caller.manages(case.hub):
            raise Forbidden("Only a hub manager can override a caseload cap")
        worker = await self.repo.get_worker(body.worker_id, for_update=True)
        if worker is None or not worker.active:
            raise UnprocessableContent(
                "Unknown or inactive worker", errors=[field_error("/worker_id", "no such worker")]
            )
        if current is not None and current.worker_id == worker.id:
            raise Conflict("This worker is already the case's lead worker")
        load = await self.repo.current_caseload_count(worker.id)
        if load >= worker.caseload_cap and not body.override_cap:
            raise Conflict(
                f"The worker is at their caseload cap ({load} of {worker.caseload_cap})",
                caseload=load,
                caseload_cap=worker.caseload_cap,
            )
        if current is not None:
            await self.repo.end_assignment(current, f"reassigned: {body.reason}")
        assignment = LeadWorkerAssignment(
            id=uuid.uuid4(),
            case_id=case.id,
            worker_id=worker.id,
            reason=body.reason,
            assigned_by=caller.principal.actor,
            cap_overridden=load >= worker.caseload_cap,
        )
        if not await self.repo.add_assignment(assignment):
            raise Conflict("The case's lead worker changed at the same time; reload and try again")
        if case.status == "open":
            await self.repo.touch_case(case, status="assessment")
        else:
            await self.repo.touch_case(case)
        await self._publish(
            "case.lead_worker_assigned",
            case.id,
            {
                "case_id": case.id,
                "family_id": case.family_id,
                "hub": case.hub,
                "worker_id": worker.id,
                "previous_worker_id": current.worker_id if current else None,
                "reason": body.reason,
                "cap_overridden": assignment.cap_overridden,
                "assigned_at": assignment.assigned_at,
            },
        )
        await self._audit(caller.principal, "update", "case", [case.id], purpose="lead worker assigned")
        return assignment

    async def lead_worker_history(self, case_id: uuid.UUID, caller: Caller) -> list[LeadWorkerAssignment]:
        await self.visible_case(case_id, caller, for_update=False)
        await self._audit(caller.principal, "read", "case", [case_id], purpose="lead worker history")
        return await self.repo.assignment_history(case_id)

    # --- assessment -----------------------------------------------------------------------------------------

    @staticmethod
    def eligibility(framework: Framework, need_codes: Sequence[str], roles: Sequence[str]) -> tuple[bool, list[str]]:
        """The framework's rule: a minimum of distinct needs; where asked, dependent children or an expectant parent."""
        reasons: list[str] = []
        distinct = len(set(need_codes))
        enough = distinct >= framework.min_needs
        reasons.append(f"{distinct} distinct need(s) identified; {framework.name} needs at least {framework.min_needs}")
        children_ok = True
        if framework.requires_dependent_children:
            has_children = any(r in CHILD_ROLES for r in roles)
            expectant = "unborn" in roles
            children_ok = has_children or expectant
            if has_children:
                reasons.append("the family includes dependent children")
            elif expectant:
                reasons.append("the family includes an expectant parent")
            else:
                reasons.append(
                    "the framework needs dependent children or an expectant parent, and the family has neither"
                )
        return enough and children_ok, reasons

    async def record_assessment(
        self, case_id: uuid.UUID, body: AssessmentCreate, caller: Caller, framework: Framework
    ) -> Assessment:
        case = await self.visible_case(case_id, caller)
        self._require_open(case)
        errors = []
        for index, need in enumerate(body.needs):
            known = framework.need(need.code)
            if known is None:
                errors.append(field_error(f"/needs/{index}/code", f"not a need of the framework {framework.code}"))
                continue
            for d_index, descriptor in enumerate(need.descriptors):
                if known.descriptors and descriptor not in known.descriptors:
                    errors.append(field_error(f"/needs/{index}/descriptors/{d_index}", "not a descriptor of this need"))
        codes = [n.code for n in body.needs]
        if len(set(codes)) != len(codes):
            errors.append(field_error("/needs", "each need may appear once"))
        if errors:
            raise UnprocessableContent("The assessment does not fit the active framework", errors=errors)
        members = await self.repo.current_members(case.family_id)
        eligible, reasons = self.eligibility(framework, codes, [m.role for m, _ in members])
        assessment = Assessment(
            id=uuid.uuid4(),
            case_id=case.id,
            framework=framework.code,
            framework_version=framework.version,
            needs=[n.model_dump() for n in body.needs],
            need_codes=codes,
            strengths=body.strengths,
            family_views=body.family_views,
            child_voice=body.child_voice,
            eligible=eligible,
            eligibility_reasons=reasons,
            assessed_on=body.assessed_on or today(),
            assessed_by=caller.principal.actor,
        )
        await self.repo.add(assessment)
        await self.repo.touch_case(case, status="plan" if case.status in ("open", "assessment") else case.status)
        people = [
            {
                "person_id": p.id,
                "role": m.role,
                "date_of_birth": p.date_of_birth,
                "nhs_number": p.nhs_number,
                "upn": p.upn,
            }
            for m, p in members
            if p is not None
        ]
        await self._publish(
            "case.assessment_completed",
            case.id,
            {
                "case_id": case.id,
                "family_id": case.family_id,
                "hub": case.hub,
                "framework": framework.code,
                "framework_version": framework.version,
                "needs": codes,
                "assessed_on": assessment.assessed_on,
                "eligible": eligible,
                "people": people,
            },
        )
        await self._audit(caller.principal, "create", "assessment", [assessment.id], purpose=f"case {case.id}")
        return assessment

    # --- the plan -----------------------------------------------------------------------------------------

    async def plan(self, case_id: uuid.UUID, caller: Caller) -> tuple[Plan, list[ReviewRead]]:
        rows = await self.repo.plans_by_case_ids([case_id], caller.viewer)
        if not rows:
            if not await self.repo.is_case_visible(case_id, caller.viewer):
                raise NotFound("No such case")
            raise NotFound("The case has no plan yet")
        await self._audit(caller.principal, "read", "plan", [rows[0][0].id])
        plan, reviews = rows[0]
        return plan, [ReviewRead.model_validate(r) for r in reviews]

    async def plans(self, case_ids: Sequence[uuid.UUID], caller: Caller) -> list[PlanRead]:
        rows = await self.repo.plans_by_case_ids(case_ids, caller.viewer)
        await self._audit(caller.principal, "read", "plan", [p.id for p, _ in rows])
        return [
            PlanRead.model_validate(p, from_attributes=True).model_copy(
                update={"reviews": [ReviewRead.model_validate(r) for r in reviews]}
            )
            for p, reviews in rows
        ]

    async def update_plan(
        self, case_id: uuid.UUID, body: PlanUpdate, caller: Caller, *, if_match: str | None, review_weeks: int
    ) -> Plan:
        """Write a new plan version. The case row lock orders writers; `If-Match` catches stale editors."""
        case = await self.visible_case(case_id, caller)
        self._require_open(case)
        current = await self.repo.active_plan(case.id)
        if current is not None:
            if if_match is None:
                raise PreconditionRequired("Updating a plan needs If-Match with the plan's current ETag")
            if not _etag_matches(if_match, plan_etag(current)):
                raise PreconditionFailed(
                    "The plan has changed since you read it; reload it and apply your change again",
                    current_etag=plan_etag(current),
                )
        elif if_match is not None and if_match.strip() != plan_etag(None):  # `*` needs a current plan
            raise PreconditionFailed("The case has no plan yet", current_etag=plan_etag(None))
        assessment = await self.repo.latest_assessment(case.id)
        if assessment is None:
            raise Conflict("The family needs a whole-family assessment before a plan")
        await self._validate_plan(body, assessment, review_weeks)
        if current is not None:
            await self.repo.retire_plan(current)
        next_review = body.next_review_due or today() + timedelta(weeks=review_weeks)
        plan = Plan(
            id=uuid.uuid4(),
            case_id=case.id,
            version=(current.version + 1) if current else 1,
            active=True,
            goals=[g.model_dump(mode="json") for g in body.goals],
            actions=[a.model_dump(mode="json") for a in body.actions],
            team=[t.model_dump(mode="json") for t in body.team],
            review_dates=[d.isoformat() for d in body.review_dates],
            next_review_due=next_review,
            change_summary=body.change_summary,
            created_by=caller.principal.actor,
        )
        await self.repo.add(plan)
        await self.repo.replace_team(case.id, [(t.worker_id, t.role) for t in body.team])
        if case.status in ("open", "assessment"):
            await self.repo.touch_case(case, status="plan")
        await self._publish(
            "plan.updated",
            case.id,
            {
                "case_id": case.id,
                "family_id": case.family_id,
                "plan_id": plan.id,
                "version": plan.version,
                "next_review_due": plan.next_review_due,
                "needs": sorted({g.need for g in body.goals}),
            },
        )
        await self._audit(caller.principal, "update", "plan", [plan.id], purpose=f"case {case.id} v{plan.version}")
        return plan

    async def _validate_plan(self, body: PlanUpdate, assessment: Assessment, review_weeks: int) -> None:
        needs = set(assessment.need_codes)
        errors = [
            field_error(f"/goals/{i}/need", "not a need identified in the assessment")
            for i, g in enumerate(body.goals)
            if g.need not in needs
        ]
        errors += [
            field_error(f"/actions/{i}/need", "not a need identified in the assessment")
            for i, a in enumerate(body.actions)
            if a.need not in needs
        ]
        workers = {t.worker_id for t in body.team} | {a.owner_worker_id for a in body.actions if a.owner_worker_id}
        known = await self.repo.existing_worker_ids(list(workers)) if workers else set()
        errors += [
            field_error(f"/team/{i}/worker_id", "no such worker")
            for i, t in enumerate(body.team)
            if t.worker_id not in known
        ]
        errors += [
            field_error(f"/actions/{i}/owner_worker_id", "no such worker")
            for i, a in enumerate(body.actions)
            if a.owner_worker_id and a.owner_worker_id not in known
        ]
        if len({t.worker_id for t in body.team}) != len(body.team):
            errors.append(field_error("/team", "each worker may appear once"))
        if body.next_review_due is not None:
            latest = today() + timedelta(weeks=review_weeks)
            if not today() <= body.next_review_due <= latest:
                errors.append(field_error("/next_review_due", f"must be within {review_weeks} weeks from today"))
        if errors:
            raise UnprocessableContent("The plan is not valid for this case", errors=errors)

    async def record_review(
        self, case_id: uuid.UUID, body: ReviewCreate, caller: Caller, *, review_weeks: int
    ) -> Review:
        case = await self.visible_case(case_id, caller)
        self._require_open(case)
        plan = await self.repo.active_plan(case.id)
        if plan is None:
            raise Conflict("A review needs a plan to review")
        reviewed_on = body.reviewed_on or today()
        next_due = body.next_review_due or reviewed_on + timedelta(weeks=review_weeks)
        if next_due > reviewed_on + timedelta(weeks=review_weeks) or next_due < reviewed_on:
            raise UnprocessableContent(
                "The next review is out of range",
                errors=[field_error("/next_review_due", f"within {review_weeks} weeks of the review")],
            )
        review = Review(
            id=uuid.uuid4(),
            case_id=case.id,
            plan_version=plan.version,
            reviewed_on=reviewed_on,
            summary=body.summary,
            progress=body.progress,
            next_review_due=next_due,
            recorded_by=caller.principal.actor,
        )
        await self.repo.add(review)
        await self.repo.touch_case(case, status="review")
        await self._audit(caller.principal, "create", "review", [review.id], purpose=f"case {case.id}")
        return review

    # --- contacts -------------------------------------------------------------------------------------------

    async def add_contact(self, case_id: uuid.UUID, body: ContactCreate, caller: Caller) -> Contact:
        case = await self.visible_case(case_id, caller, for_update=False)
        contact = Contact(id=uuid.uuid4(), case_id=case.id, recorded_by=caller.principal.actor, **body.model_dump())
        await self.repo.add(contact)
        await self._audit(caller.principal, "create", "contact", [contact.id], purpose=f"case {case.id}")
        return contact

    async def contacts(self, case_ids: Sequence[uuid.UUID], caller: Caller) -> list[Contact]:
        found = await self.repo.contacts(case_ids, caller.viewer, sensitive_viewer=caller.lead_viewer)
        await self._audit(caller.principal, "read", "contact", [c.id for c in found])
        return found

    # --- closure --------------------------------------------------------------------------------------------

    async def close_case(
        self, case_id: uuid.UUID, body: CaseClose, caller: Caller, *, if_match: str | None
    ) -> CaseRead:
        case = await self.visible_case(case_id, caller)
        self._require_open(case)
        current = await self.repo.current_assignment(case.id)
        if not (caller.manages(case.hub) or (current is not None and current.worker_id == caller.worker_id)):
            raise Forbidden("A case is closed by its lead worker or the hub's managers")
        if if_match is not None and not _etag_matches(if_match, case_etag(case)):
            raise PreconditionFailed("The case has changed since you read it", current_etag=case_etag(case))
        closed_on = body.closed_on or today()
        if closed_on < case.opened_at.date() or closed_on > today():
            raise UnprocessableContent(
                "closed_on is out of range",
                errors=[field_error("/closed_on", "between the opening date and today")],
            )
        if body.step is not None and body.outcome in ("stepped_up", "stepped_down"):
            await self.repo.add_step(
                CaseStep(
                    id=uuid.uuid4(),
                    case_id=case.id,
                    direction="up" if body.outcome == "stepped_up" else "down",
                    on_date=closed_on,
                    agency=body.step.agency,
                    reason=body.step.reason,
                    recorded_by=caller.principal.actor,
                )
            )
        if current is not None:
            await self.repo.end_assignment(current, "case closed")
        await self.repo.touch_case(
            case, status="closed", closed_on=closed_on, outcome=body.outcome, closure_reason=body.reason
        )
        await self._publish(
            "case.closed",
            case.id,
            {
                "case_id": case.id,
                "family_id": case.family_id,
                "closed_on": closed_on,
                "outcome": body.outcome,
            },
        )
        await self._audit(caller.principal, "update", "case", [case.id], purpose=f"closed: {body.outcome}")
        # read without the visibility check: closing ends the lead worker's assignment, and so their access
        return self._case_read(*(await self.repo.cases_with_summary(None, ids=[case.id]))[0])

    # --- referral.accepted ----------------------------------------------------------------------------------

    async def open_from_referral(self, event: CloudEvent) -> None:
        """Open a case for the referred family, or join the family's open case; idempotent per referral.

        Concurrent deliveries about one family serialise on advisory locks keyed by the people's identities
        (NHS number, UPN, matched id, or name and date of birth), so they find one another's family; the
        partial unique index on open cases is the last line of defence.
        """
        referral = ReferralAccepted.model_validate(event.data)
        actor = f"event:{event.source}"
        if await self.repo.case_of_referral(referral.referral_id) is not None:
            return
        await self.repo.lock(
            [f"referral:{referral.referral_id}", *(k for p in referral.people for k in _identity_keys(p))]
        )
        if await self.repo.case_of_referral(referral.referral_id) is not None:
            return
        await self.repo.ensure_hub(referral.hub)  # hubs are data; a hub referrals allocates to is one we serve
        resolved: list[tuple[ReferralPerson, Person | None]] = []
        for referred in referral.people:
            resolved.append((referred, await self._resolve_identified(referred)))
        known_ids = [p.id for _, p in resolved if p is not None]
        family_ids = await self.repo.families_of_people(known_ids) if known_ids else []
        if not family_ids:
            for index, (ref, found) in enumerate(resolved):
                if found is None:
                    resolved[index] = (ref, await self._find_by_name(ref, referral))
            known_ids = [p.id for _, p in resolved if p is not None]
            family_ids = await self.repo.families_of_people(known_ids) if known_ids else []
        if family_ids:
            family = await self.repo.get_family(family_ids[0])
            assert family is not None
        else:
            family = Family(
                id=uuid.uuid4(),
                name=f"{referral.people[0].family_name} family",
                hub=referral.hub,
                address=referral.address,
                postcode=referral.postcode or referral.people[0].postcode,
            )
            await self.repo.add(family)
        members = await self.repo.current_members(family.id)
        joined = 0
        for ref, maybe_person in resolved:
            person = maybe_person or _same_member(ref, members) or await self._find_by_name(ref, referral)
            if person is None:
                person = await self._create_person(ref, referral)
            if any(m.person_id == person.id for m, _ in members):
                continue
            member = FamilyMember(
                id=uuid.uuid4(), family_id=family.id, person_id=person.id, role=ref.role, joined_on=today()
            )
            if await self.repo.add_member(member):
                members.append((member, person))
                joined += 1
        if referral.expected_delivery_date and not any(
            m.role == "unborn" and m.expected_on == referral.expected_delivery_date for m, _ in members
        ):
            await self.repo.add(
                FamilyMember(
                    id=uuid.uuid4(),
                    family_id=family.id,
                    role="unborn",
                    expected_on=referral.expected_delivery_date,
                    joined_on=today(),
                )
            )
            joined += 1
        await self._publish_membership(family.id, added=joined, left=0)
        case = await self.repo.open_case_of_family(family.id)
        joined_existing = case is not None
        if case is None:
            case = Case(
                id=uuid.uuid4(),
                family_id=family.id,
                hub=referral.hub,
                status="open",
                version=1,
                reason=referral.reason,
                opened_by=actor,
                referral_id=referral.referral_id,
            )
            if not await self.repo.add_case(case):
                case = await self.repo.open_case_of_family(family.id)
                assert case is not None
                joined_existing = True
        await self.repo.link_referral(referral.referral_id, case.id, joined=joined_existing)
        await self._publish(
            "case.joined" if joined_existing else "case.opened",
            case.id,
            {
                "case_id": case.id,
                "family_id": family.id,
                "hub": case.hub,
                "referral_id": referral.referral_id,
                "opened_at": case.opened_at,
            },
        )
        await self._audit(
            actor,
            "update" if joined_existing else "create",
            "case",
            [case.id],
            purpose=f"referral {referral.referral_id} accepted",
        )
        await self._audit(actor, "update", "family", [family.id], purpose=f"referral {referral.referral_id}")

    async def _resolve_identified(self, ref: ReferralPerson) -> Person | None:
        if ref.matched_person_id is not None:
            person = await self.repo.get_person(ref.matched_person_id)
            if person is not None:
                return await self._survivor(person)
        found = await self.repo.people_by_identifiers(ref.nhs_number, ref.upn)
        if found:
            by_nhs = [p for p in found if ref.nhs_number and p.nhs_number == ref.nhs_number]
            return await self._survivor((by_nhs or found)[0])
        return None

    async def _find_by_name(self, ref: ReferralPerson, referral: ReferralAccepted) -> Person | None:
        """A confident match without identifiers: the same normalised names, date of birth and postcode."""
        if ref.nhs_number or ref.upn or ref.date_of_birth is None:
            return None
        postcode = ref.postcode or referral.postcode
        for person in await self.repo.people_same_name_dob(
            date_of_birth=ref.date_of_birth, family_key=matching.name_key(ref.family_name)
        ):
            if (
                matching.normalise_name(person.family_name) == matching.normalise_name(ref.family_name)
                and matching.normalise_name(person.given_name) == matching.normalise_name(ref.given_name)
                and person.postcode == postcode
            ):
                return person
        return None

    async def _create_person(self, ref: ReferralPerson, referral: ReferralAccepted) -> Person:
        values = _person_values(
            given_name=ref.given_name,
            family_name=ref.family_name,
            date_of_birth=ref.date_of_birth,
            nhs_number=ref.nhs_number,
            upn=ref.upn,
            postcode=ref.postcode or referral.postcode,
            address=ref.address or referral.address,
        )
        person = await self.repo.insert_person(values)
        if person is None:
            found = await self.repo.people_by_identifiers(ref.nhs_number, ref.upn)
            if not found:
                raise BadRequest("The person's identifiers conflict with the index")
            person = await self._survivor(found[0])
        return person


def _identity_keys(ref: ReferralPerson) -> list[str]:
    keys = [
        f"person:nhs:{ref.nhs_number}" if ref.nhs_number else "",
        f"person:upn:{ref.upn}" if ref.upn else "",
        f"person:{ref.matched_person_id}" if ref.matched_person_id else "",
    ]
    name = f"{matching.compact(ref.family_name)}|{matching.compact(ref.given_name)}|{ref.date_of_birth}"
    return [k for k in keys if k] or [f"person:name:{name}"]


def _same_member(ref: ReferralPerson, members: Sequence[tuple[FamilyMember, Person | None]]) -> Person | None:
    for _, person in members:
        if (
            person is not None
            and person.date_of_birth == ref.date_of_birth
            and matching.normalise_name(person.family_name) == matching.normalise_name(ref.family_name)
            and matching.normalise_name(person.given_name) == matching.normalise_name(ref.given_name)
        ):
            return person
    return None


async def handle_referral_accepted(session: AsyncSession, event: CloudEvent) -> None:
    """The `referral.accepted` consumer (runs inside the inbox transaction of `POST /v1/events`)."""
    await CasesService(session).open_from_referral(event)
