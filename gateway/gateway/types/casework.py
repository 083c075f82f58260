"""Workers, cases, assessments, plans and contacts (the cases service)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from gateway.context import Info
from gateway.loaders import loaded
from gateway.types.common import Resolved, parse_enum, resolver
from gateway.types.enums import CaseStatus, ClosureOutcome
from gateway.types.node import Node
from gateway.upstream import cases as up


@strawberry.type(description="A practitioner who can lead cases or sit in the team around a family.")
class Worker(Node):
    id: strawberry.ID = strawberry.field(description="The worker's id.")
    name: str = strawberry.field(description="The worker's name.")
    agency: str | None = strawberry.field(description="The agency the worker belongs to.")
    hub: str | None = strawberry.field(description="The hub the worker works in.")
    role: str | None = strawberry.field(description="The worker's job role.")
    caseload_cap: int | None = strawberry.field(description="How many cases the worker may lead at once.")
    current_caseload: int | None = strawberry.field(
        default=None, description="Open cases the worker leads (in `hubWorkers`; null elsewhere)."
    )
    capacity: int | None = strawberry.field(
        default=None, description="Cases the worker can still take before their cap (in `hubWorkers`; null elsewhere)."
    )

    @classmethod
    def from_upstream(cls, data: up.WorkerRead) -> Worker:
        return cls(
            id=strawberry.ID(data.id),
            name=data.name,
            agency=data.agency,
            hub=data.hub,
            role=data.role,
            caseload_cap=data.caseload_cap,
            current_caseload=data.current_caseload,
            capacity=data.capacity,
        )


def worker_of(info: Info, worker_id: str | None) -> Resolved[Worker | None]:
    if not worker_id:
        return None
    return loaded(info.context.data_loaders.worker, worker_id, maybe_worker)


def maybe_worker(found: up.WorkerRead | None) -> Worker | None:
    return Worker.from_upstream(found) if found else None


@strawberry.type(description="One period of a worker leading a case.")
class LeadWorkerAssignment:
    worker_id: strawberry.Private[str | None]
    assigned_at: datetime | None = strawberry.field(description="When the worker became lead.")
    ended_at: datetime | None = strawberry.field(description="When the assignment ended, if it has.")
    reason: str | None = strawberry.field(description="Why the worker was assigned.")

    @classmethod
    def from_upstream(cls, data: up.LeadWorkerAssignmentRead) -> LeadWorkerAssignment:
        return cls(worker_id=data.worker_id, assigned_at=data.assigned_at, ended_at=data.ended_at, reason=data.reason)

    @resolver(description="The worker.", graphql_type=Worker | None)
    def worker(self, info: Info) -> Resolved[Worker | None]:
        return worker_of(info, self.worker_id)


@strawberry.type(description="Summary of the whole-family assessment of a case.")
class Assessment:
    needs: list[str] = strawberry.field(description="Codes of the needs identified (the framework's codes).")
    eligible: bool | None = strawberry.field(description="Whether the family meets the framework's criteria.")
    eligibility_reasons: list[str] = strawberry.field(description="Why the family is or is not eligible.")
    framework: str | None = strawberry.field(description="Code of the framework assessed against.")
    assessed_on: date | None = strawberry.field(description="When the assessment was completed.")

    @classmethod
    def from_upstream(cls, data: up.AssessmentSummary) -> Assessment:
        return cls(
            needs=list(data.needs),
            eligible=data.eligible,
            eligibility_reasons=list(data.eligibility_reasons),
            framework=data.framework,
            assessed_on=data.assessed_on,
        )


@strawberry.type(description="A step of the plan towards a goal.")
class PlanAction:
    description: str = strawberry.field(description="What will be done.")
    owner: str | None = strawberry.field(description="Who does it (a worker id or an agency).")
    due_on: date | None = strawberry.field(description="When it is due.")
    status: str | None = strawberry.field(description="Progress of the action (e.g. not_started, done).")

    @classmethod
    def from_upstream(cls, data: up.Action) -> PlanAction:
        # The cases service requires one owner of the two: a platform worker or an agency.
        owner = data.owner_worker_id if data.owner_worker_id is not None else data.owner_agency
        return cls(description=data.description, owner=owner, due_on=data.due_on, status=data.status)


@strawberry.type(description="A goal of the family plan for one identified need.")
class PlanGoal:
    need: str | None = strawberry.field(description="Code of the need this goal addresses.")
    description: str = strawberry.field(description="The goal in the family's words.")
    actions: list[PlanAction] = strawberry.field(description="The actions towards the goal.")


@strawberry.type(description="A member of the team around the family.")
class TeamMember:
    worker_id: strawberry.Private[str | None]
    agency: str | None = strawberry.field(description="The member's agency.")
    role: str | None = strawberry.field(description="Their role in the team around the family.")
    name: str | None = strawberry.field(description="Their name, when they are not a platform worker.")

    @classmethod
    def from_upstream(cls, data: up.TeamMember) -> TeamMember:
        # The cases service's team holds platform workers only (worker id and role); their agency and name are
        # the worker record's, under `worker`.
        return cls(worker_id=data.worker_id, agency=None, role=data.role, name=None)

    @resolver(description="The platform worker, when the member is one.", graphql_type=Worker | None)
    def worker(self, info: Info) -> Resolved[Worker | None]:
        return worker_of(info, self.worker_id)


@strawberry.type(description="A recorded review of the plan.")
class PlanReview:
    reviewed_on: date | None = strawberry.field(description="When the review took place.")
    summary: str | None = strawberry.field(description="What the review found.")


@strawberry.type(description="The active family plan of a case (every change makes a new version).")
class Plan:
    id: strawberry.ID = strawberry.field(description="The plan's id.")
    version: int | None = strawberry.field(description="The version number; pass it to `updatePlan`.")
    goals: list[PlanGoal] = strawberry.field(description="Goals, one or more per identified need.")
    team_around_family: list[TeamMember] = strawberry.field(description="Workers from every agency involved.")
    reviews: list[PlanReview] = strawberry.field(description="Reviews recorded so far.")
    next_review_due: date | None = strawberry.field(description="When the next review is due.")

    @classmethod
    def from_upstream(cls, data: up.PlanRead) -> Plan:
        # The cases service lists actions beside the goals, linked to a goal by need.
        goals = [
            PlanGoal(
                need=goal.need,
                description=goal.description,
                actions=[PlanAction.from_upstream(a) for a in data.actions if a.need == goal.need],
            )
            for goal in data.goals
        ]
        return cls(
            id=strawberry.ID(data.id),
            version=data.version,
            goals=goals,
            team_around_family=[TeamMember.from_upstream(t) for t in data.team],
            reviews=[PlanReview(reviewed_on=r.reviewed_on, summary=r.summary) for r in data.reviews],
            next_review_due=data.next_review_due,
        )


def maybe_plan(found: up.PlanRead | None) -> Plan | None:
    return Plan.from_upstream(found) if found else None


@strawberry.type(description="A visit, call or meeting with the family, with its note.")
class Contact:
    id: strawberry.ID = strawberry.field(description="The contact's id.")
    kind: str | None = strawberry.field(description="visit, call, meeting, …")
    occurred_at: datetime | None = strawberry.field(description="When it took place.")
    note: str | None = strawberry.field(description="The note (sensitive notes only for those allowed).")
    sensitive: bool = strawberry.field(description="Whether the note is restricted.")

    summary: str | None = strawberry.field(
        description="The note: the old name of `note`.",
        deprecation_reason="Use `note` (the word REST and `addContact` use); `summary` goes in the next release.",
    )

    @classmethod
    def from_upstream(cls, data: up.ContactRead) -> Contact:
        return cls(
            id=strawberry.ID(data.id),
            kind=data.kind,
            occurred_at=data.occurred_at,
            note=data.note,
            sensitive=data.sensitive,
            summary=data.note,
        )


@strawberry.type(description="The work with a family, from opening to closure.")
class Case(Node):
    family_id: strawberry.Private[str | None]
    lead_worker_id: strawberry.Private[str | None]
    id: strawberry.ID = strawberry.field(description="The case's id.")
    status: CaseStatus | None = strawberry.field(description="Where the case is in its lifecycle.")
    hub: str | None = strawberry.field(description="The hub that holds the case.")
    opened_at: datetime | None = strawberry.field(description="When the case was opened.")
    closed_on: date | None = strawberry.field(description="When the case was closed.")
    closure_outcome: ClosureOutcome | None = strawberry.field(description="How the case ended.")
    assessment: Assessment | None = strawberry.field(description="The whole-family assessment, once recorded.")
    version: int | None = strawberry.field(description="The case's version; pass it to `closeCase`.")
    etag: strawberry.Private[str | None] = None

    @classmethod
    def from_upstream(cls, data: up.CaseRead) -> Case:
        return cls(
            id=strawberry.ID(data.id),
            family_id=data.family_id,
            lead_worker_id=data.lead_worker_id,
            status=parse_enum(CaseStatus, data.status),
            hub=data.hub,
            opened_at=data.opened_at,
            closed_on=data.closed_on,
            closure_outcome=parse_enum(ClosureOutcome, data.outcome),
            assessment=Assessment.from_upstream(data.assessment) if data.assessment else None,
            version=data.version,
        )

    @resolver(description="The family the case is about.", graphql_type="Family | None")
    def family(self, info: Info) -> Resolved[Family | None]:
        return family_of(info, self.family_id)

    @resolver(description="The current lead worker (at most one).", graphql_type=Worker | None)
    def lead_worker(self, info: Info) -> Resolved[Worker | None]:
        return worker_of(info, self.lead_worker_id)

    @resolver(description="Every lead worker the case has had, oldest first.", graphql_type=list[LeadWorkerAssignment])
    def lead_worker_history(self, info: Info) -> Resolved[list[LeadWorkerAssignment]]:
        return loaded(info.context.data_loaders.lead_worker_history, str(self.id), _assignments)

    @resolver(description="The active plan (at most one).", graphql_type=Plan | None)
    def plan(self, info: Info) -> Resolved[Plan | None]:
        return loaded(info.context.data_loaders.plan_by_case, str(self.id), maybe_plan)

    @resolver(description="Contacts and notes, newest first.", graphql_type=list[Contact])
    def contacts(self, info: Info) -> Resolved[list[Contact]]:
        return loaded(info.context.data_loaders.contacts_by_case, str(self.id), _contacts)


def maybe_case(found: up.CaseRead | None) -> Case | None:
    return Case.from_upstream(found) if found else None


def _assignments(found: list[up.LeadWorkerAssignmentRead]) -> list[LeadWorkerAssignment]:
    return [LeadWorkerAssignment.from_upstream(a) for a in found]


def _contacts(found: list[up.ContactRead]) -> list[Contact]:
    return [Contact.from_upstream(c) for c in found]


from gateway.types.people import Family, family_of  # noqa: E402  (the graph's types refer to each other)
