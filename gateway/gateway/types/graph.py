"""The object types of the graph, joined across the three services.

Each type is built from a service's JSON by `from_json`; the ids it needs to reach other services are kept
as `strawberry.Private` fields, and every join goes through the request's DataLoaders (never a direct call),
so sibling objects share one batch call.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON as JSONScalar

from gateway.context import Info
from gateway.loaders import loaded
from gateway.types.common import JSON, Resolved, parse_date, parse_datetime, parse_enum, resolver, strings
from gateway.types.enums import (
    CaseStatus,
    ClosureOutcome,
    DecisionOutcome,
    MemberRole,
    ReferralKind,
    ReferralStatus,
)


def _name(data: JSON) -> str:
    if data.get("name"):
        return str(data["name"])
    return " ".join(str(data[k]) for k in ("given_name", "family_name") if data.get(k))


# --- people and families (cases service) -------------------------------------------------------------------


@strawberry.type(description="A person in the master person index of the cases service.")
class Person:
    id: strawberry.ID = strawberry.field(description="The person's id.")
    given_name: str | None = strawberry.field(description="Given name, exactly as recorded.")
    family_name: str | None = strawberry.field(description="Family name, exactly as recorded.")
    date_of_birth: date | None = strawberry.field(description="Date of birth.")
    nhs_number: str | None = strawberry.field(description="NHS number, when known.")
    upn: str | None = strawberry.field(description="Unique pupil number, when known.")
    postcode: str | None = strawberry.field(description="Postcode of the person's address.")

    @classmethod
    def from_json(cls, data: JSON) -> Person:
        return cls(
            id=strawberry.ID(str(data["id"])),
            given_name=data.get("given_name"),
            family_name=data.get("family_name"),
            date_of_birth=parse_date(data.get("date_of_birth")),
            nhs_number=data.get("nhs_number"),
            upn=data.get("upn"),
            postcode=data.get("postcode"),
        )

    @resolver(
        description="The families this person is a member of now (visible to the caller).",
        graphql_type=list["Family"],
    )
    def families(self, info: Info) -> Resolved[list[Family]]:
        return loaded(info.context.data_loaders.families_by_person, str(self.id), _families)

    @resolver(description="Referrals made about the families this person is a member of now.")
    async def referrals(self, info: Info) -> list[Referral]:
        families = await info.context.data_loaders.families_by_person.load(str(self.id))
        loader = info.context.data_loaders.referrals_by_family
        found = await loader.load_many([str(f["id"]) for f in families])
        return [Referral.from_json(r) for group in found for r in group]


@strawberry.type(description="A person's membership of a family over time.")
class FamilyMember:
    person: Person | None = strawberry.field(description="The member (none yet for an unborn baby).")
    role: MemberRole | None = strawberry.field(description="The member's role in the family.")
    joined_on: date | None = strawberry.field(description="When the person joined the household.")
    left_on: date | None = strawberry.field(description="When the person left, if they have.")
    expected_on: date | None = strawberry.field(description="Expected date of birth of an unborn member.")

    @classmethod
    def from_json(cls, data: JSON) -> FamilyMember:
        person = data.get("person")
        if not person and data.get("person_id"):
            person = {"id": data["person_id"]}
        return cls(
            person=Person.from_json(person) if person else None,
            expected_on=parse_date(data.get("expected_on")),
            role=parse_enum(MemberRole, data.get("role")),
            joined_on=parse_date(data.get("joined_on")),
            left_on=parse_date(data.get("left_on")),
        )


@strawberry.type(description="A household worked with as one family: one family, one plan, one worker.")
class Family:
    id: strawberry.ID = strawberry.field(description="The family's id.")
    hub: str | None = strawberry.field(description="The Early Help Hub the family belongs to.")
    postcode: str | None = strawberry.field(description="The family's postcode.")
    members: list[FamilyMember] = strawberry.field(description="Everyone who is or was in the household.")

    @classmethod
    def from_json(cls, data: JSON) -> Family:
        return cls(
            id=strawberry.ID(str(data["id"])),
            hub=data.get("hub"),
            postcode=data.get("postcode"),
            members=[FamilyMember.from_json(m) for m in data.get("members") or []],
        )

    @resolver(description="The family's open case, if it has one (at most one is open).", graphql_type="Case | None")
    def current_case(self, info: Info) -> Resolved[Case | None]:
        return loaded(info.context.data_loaders.cases_by_family, str(self.id), _current_case)

    @resolver(description="Every case of the family, newest first.", graphql_type=list["Case"])
    def cases(self, info: Info) -> Resolved[list[Case]]:
        return loaded(info.context.data_loaders.cases_by_family, str(self.id), _cases)

    @resolver(
        description="Referrals about this family (from the referrals service).",
        graphql_type="list[Referral] | None",
    )
    def referrals(self, info: Info) -> Resolved[list[Referral] | None]:
        return loaded(info.context.data_loaders.referrals_by_family, str(self.id), _referrals)

    @resolver(
        description="Progress against each identified need (from the outcomes service).",
        graphql_type="list[NeedProgress] | None",
    )
    def progress(self, info: Info) -> Resolved[list[NeedProgress] | None]:
        return loaded(info.context.data_loaders.progress_by_family, str(self.id), _progress)

    @resolver(
        description="Whether a claim can be made for this family now: every identified need met (and sustained "
        "where the framework asks), or the framework's employment route met. Null when the outcomes service has "
        "not enrolled the family.",
        graphql_type="bool | None",
    )
    def claimable(self, info: Info) -> Resolved[bool | None]:
        return loaded(info.context.data_loaders.progress_by_family, str(self.id), _claimable)

    @resolver(
        description="Where the family's framework allows it: whether an adult has moved into continuous "
        "employment, which makes the family claimable whatever its needs' results (from the outcomes service).",
        graphql_type="NeedProgress | None",
    )
    def employment_route(self, info: Info) -> Resolved[NeedProgress | None]:
        return loaded(info.context.data_loaders.progress_by_family, str(self.id), _employment_route)

    @resolver(
        description="Payment-by-results claims for this family (from the outcomes service).",
        graphql_type="list[Claim] | None",
    )
    def claims(self, info: Info) -> Resolved[list[Claim] | None]:
        return loaded(info.context.data_loaders.claims_by_family, str(self.id), _claims)


def _family(info: Info, family_id: Any) -> Resolved[Family | None]:
    if not family_id:
        return None
    return loaded(info.context.data_loaders.family, str(family_id), _maybe_family)


def _maybe_family(found: JSON | None) -> Family | None:
    return Family.from_json(found) if found else None


def _families(found: list[JSON]) -> list[Family]:
    return [Family.from_json(f) for f in found]


def current_case_of(cases: list[JSON]) -> JSON | None:
    """The open case among a family's cases (at most one is open)."""
    return next((c for c in cases if c.get("status") != CaseStatus.CLOSED.value), None)


def _current_case(cases: list[JSON]) -> Case | None:
    current = current_case_of(cases)
    return Case.from_json(current) if current else None


def _cases(found: list[JSON]) -> list[Case]:
    return [Case.from_json(c) for c in found]


def _referrals(found: list[JSON]) -> list[Referral]:
    return [Referral.from_json(r) for r in found]


def _progress(found: JSON) -> list[NeedProgress]:
    return [NeedProgress.from_json(p) for p in found.get("needs", [])]


def _claimable(found: JSON) -> bool | None:
    claimable = found.get("claimable")
    return claimable if isinstance(claimable, bool) else None


def _employment_route(found: JSON) -> NeedProgress | None:
    route = found.get("employment_route")
    return NeedProgress.from_json(route) if isinstance(route, dict) else None


def _claims(found: list[JSON]) -> list[Claim]:
    return [Claim.from_json(c) for c in found]


# --- workers, cases and plans (cases service) --------------------------------------------------------------


@strawberry.type(description="A practitioner who can lead cases or sit in the team around a family.")
class Worker:
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
    def from_json(cls, data: JSON) -> Worker:
        return cls(
            id=strawberry.ID(str(data["id"])),
            name=_name(data),
            agency=data.get("agency"),
            hub=data.get("hub"),
            role=data.get("role"),
            caseload_cap=data.get("caseload_cap"),
            current_caseload=data.get("current_caseload"),
            capacity=data.get("capacity"),
        )


def _worker(info: Info, worker_id: Any) -> Resolved[Worker | None]:
    if not worker_id:
        return None
    return loaded(info.context.data_loaders.worker, str(worker_id), _maybe_worker)


def _maybe_worker(found: JSON | None) -> Worker | None:
    return Worker.from_json(found) if found else None


@strawberry.type(description="One period of a worker leading a case.")
class LeadWorkerAssignment:
    worker_id: strawberry.Private[str | None]
    assigned_at: datetime | None = strawberry.field(description="When the worker became lead.")
    ended_at: datetime | None = strawberry.field(description="When the assignment ended, if it has.")
    reason: str | None = strawberry.field(description="Why the worker was assigned.")

    @classmethod
    def from_json(cls, data: JSON) -> LeadWorkerAssignment:
        return cls(
            worker_id=data.get("worker_id"),
            assigned_at=parse_datetime(data.get("assigned_at")),
            ended_at=parse_datetime(data.get("ended_at") or data.get("unassigned_at")),
            reason=data.get("reason"),
        )

    @resolver(description="The worker.", graphql_type=Worker | None)
    def worker(self, info: Info) -> Resolved[Worker | None]:
        return _worker(info, self.worker_id)


@strawberry.type(description="Summary of the whole-family assessment of a case.")
class Assessment:
    needs: list[str] = strawberry.field(description="Codes of the needs identified (the framework's codes).")
    eligible: bool | None = strawberry.field(description="Whether the family meets the framework's criteria.")
    eligibility_reasons: list[str] = strawberry.field(description="Why the family is or is not eligible.")
    framework: str | None = strawberry.field(description="Code of the framework assessed against.")
    assessed_on: date | None = strawberry.field(description="When the assessment was completed.")

    @classmethod
    def from_json(cls, data: JSON) -> Assessment:
        needs = data.get("needs") or []
        return cls(
            needs=[str(n.get("code") if isinstance(n, dict) else n) for n in needs],
            eligible=data.get("eligible"),
            eligibility_reasons=strings(data.get("eligibility_reasons") or data.get("reasons")),
            framework=data.get("framework"),
            assessed_on=parse_date(data.get("assessed_on") or data.get("completed_at")),
        )


@strawberry.type(description="A step of the plan towards a goal.")
class PlanAction:
    description: str = strawberry.field(description="What will be done.")
    owner: str | None = strawberry.field(description="Who does it (a worker id or an agency).")
    due_on: date | None = strawberry.field(description="When it is due.")
    status: str | None = strawberry.field(description="Progress of the action (e.g. not_started, done).")

    @classmethod
    def from_json(cls, data: JSON) -> PlanAction:
        return cls(
            description=str(data.get("description") or data.get("title") or ""),
            owner=data.get("owner") or data.get("owner_worker_id") or data.get("owner_agency"),
            due_on=parse_date(data.get("due_on") or data.get("due_date")),
            status=data.get("status"),
        )


@strawberry.type(description="A goal of the family plan for one identified need.")
class PlanGoal:
    need: str | None = strawberry.field(description="Code of the need this goal addresses.")
    description: str = strawberry.field(description="The goal in the family's words.")
    actions: list[PlanAction] = strawberry.field(description="The actions towards the goal.")

    @classmethod
    def from_json(cls, data: JSON) -> PlanGoal:
        return cls(
            need=data.get("need"),
            description=str(data.get("description") or data.get("title") or ""),
            actions=[PlanAction.from_json(a) for a in data.get("actions") or []],
        )


@strawberry.type(description="A member of the team around the family.")
class TeamMember:
    worker_id: strawberry.Private[str | None]
    agency: str | None = strawberry.field(description="The member's agency.")
    role: str | None = strawberry.field(description="Their role in the team around the family.")
    name: str | None = strawberry.field(description="Their name, when they are not a platform worker.")

    @classmethod
    def from_json(cls, data: JSON) -> TeamMember:
        return cls(
            worker_id=data.get("worker_id"),
            agency=data.get("agency"),
            role=data.get("role"),
            name=data.get("name"),
        )

    @resolver(description="The platform worker, when the member is one.", graphql_type=Worker | None)
    def worker(self, info: Info) -> Resolved[Worker | None]:
        return _worker(info, self.worker_id)


@strawberry.type(description="A recorded review of the plan.")
class PlanReview:
    reviewed_on: date | None = strawberry.field(description="When the review took place.")
    summary: str | None = strawberry.field(description="What the review found.")

    @classmethod
    def from_json(cls, data: JSON) -> PlanReview:
        return cls(
            reviewed_on=parse_date(data.get("reviewed_on") or data.get("held_on")),
            summary=data.get("summary") or data.get("notes"),
        )


@strawberry.type(description="The active family plan of a case (every change makes a new version).")
class Plan:
    id: strawberry.ID = strawberry.field(description="The plan's id.")
    version: int | None = strawberry.field(description="The version number; pass it to `updatePlan`.")
    goals: list[PlanGoal] = strawberry.field(description="Goals, one or more per identified need.")
    team_around_family: list[TeamMember] = strawberry.field(description="Workers from every agency involved.")
    reviews: list[PlanReview] = strawberry.field(description="Reviews recorded so far.")
    next_review_due: date | None = strawberry.field(description="When the next review is due.")

    @classmethod
    def from_json(cls, data: JSON) -> Plan:
        goals = [PlanGoal.from_json(g) for g in data.get("goals") or []]
        by_need = {goal.need: goal for goal in goals}
        for action in data.get("actions") or []:  # the cases service lists actions beside goals, by need
            goal = by_need.get(action.get("need"))
            if goal is not None:
                goal.actions.append(PlanAction.from_json(action))
        return cls(
            id=strawberry.ID(str(data.get("id") or data.get("case_id"))),
            version=data.get("version"),
            goals=goals,
            team_around_family=[
                TeamMember.from_json(t) for t in data.get("team_around_family") or data.get("team") or []
            ],
            reviews=[PlanReview.from_json(r) for r in data.get("reviews") or []],
            next_review_due=parse_date(data.get("next_review_due") or data.get("next_review_on")),
        )


@strawberry.type(description="A visit, call or meeting with the family, with its note.")
class Contact:
    id: strawberry.ID = strawberry.field(description="The contact's id.")
    kind: str | None = strawberry.field(description="visit, call, meeting, …")
    occurred_at: datetime | None = strawberry.field(description="When it took place.")
    summary: str | None = strawberry.field(description="The note (sensitive notes only for those allowed).")
    sensitive: bool = strawberry.field(description="Whether the note is restricted.")

    @classmethod
    def from_json(cls, data: JSON) -> Contact:
        return cls(
            id=strawberry.ID(str(data["id"])),
            kind=data.get("kind"),
            occurred_at=parse_datetime(data.get("occurred_at")),
            summary=data.get("summary") or data.get("note"),
            sensitive=bool(data.get("sensitive")),
        )


@strawberry.type(description="The work with a family, from opening to closure.")
class Case:
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
    def from_json(cls, data: JSON) -> Case:
        assessment = data.get("assessment")
        closure = data.get("closure") if isinstance(data.get("closure"), dict) else {}
        return cls(
            id=strawberry.ID(str(data["id"])),
            family_id=data.get("family_id"),
            lead_worker_id=data.get("lead_worker_id"),
            status=parse_enum(CaseStatus, data.get("status")),
            hub=data.get("hub"),
            opened_at=parse_datetime(data.get("opened_at")),
            closed_on=parse_date(data.get("closed_on") or (closure or {}).get("closed_on")),
            closure_outcome=parse_enum(ClosureOutcome, data.get("outcome") or (closure or {}).get("outcome")),
            assessment=Assessment.from_json(assessment) if isinstance(assessment, dict) else None,
            version=data.get("version"),
        )

    @resolver(description="The family the case is about.", graphql_type=Family | None)
    def family(self, info: Info) -> Resolved[Family | None]:
        return _family(info, self.family_id)

    @resolver(description="The current lead worker (at most one).", graphql_type=Worker | None)
    def lead_worker(self, info: Info) -> Resolved[Worker | None]:
        return _worker(info, self.lead_worker_id)

    @resolver(description="Every lead worker the case has had, oldest first.", graphql_type=list[LeadWorkerAssignment])
    def lead_worker_history(self, info: Info) -> Resolved[list[LeadWorkerAssignment]]:
        return loaded(info.context.data_loaders.lead_worker_history, str(self.id), _assignments)

    @resolver(description="The active plan (at most one).", graphql_type=Plan | None)
    def plan(self, info: Info) -> Resolved[Plan | None]:
        return loaded(info.context.data_loaders.plan_by_case, str(self.id), _maybe_plan)

    @resolver(description="Contacts and notes, newest first.", graphql_type=list[Contact])
    def contacts(self, info: Info) -> Resolved[list[Contact]]:
        return loaded(info.context.data_loaders.contacts_by_case, str(self.id), _contacts)


def _assignments(found: list[JSON]) -> list[LeadWorkerAssignment]:
    return [LeadWorkerAssignment.from_json(a) for a in found]


def _maybe_plan(found: JSON | None) -> Plan | None:
    return Plan.from_json(found) if found else None


def _contacts(found: list[JSON]) -> list[Contact]:
    return [Contact.from_json(c) for c in found]


# --- referrals (referrals service) -------------------------------------------------------------------------


@strawberry.type(description="A hub manager's decision on a referral.")
class Decision:
    outcome: DecisionOutcome | None = strawberry.field(description="What was decided.")
    reason: str | None = strawberry.field(description="Why.")
    decided_by: str | None = strawberry.field(description="Who decided (token subject).")
    decided_at: datetime | None = strawberry.field(description="When.")

    @classmethod
    def from_json(cls, data: JSON) -> Decision:
        return cls(
            outcome=parse_enum(DecisionOutcome, data.get("outcome")),
            reason=data.get("reason"),
            decided_by=data.get("decided_by"),
            decided_at=parse_datetime(data.get("decided_at")),
        )


@strawberry.type(description="A person index match found for one person named in a referral.")
class PersonMatch:
    ref: str | None = strawberry.field(description="Which person of the referral (e.g. pupil, parent_1).")
    person_id: strawberry.Private[str | None]
    score: float | None = strawberry.field(description="Match score 0-1 (1 for an exact identifier match).")
    reasons: list[str] = strawberry.field(description="Why the candidate scored as it did.")

    @classmethod
    def from_json(cls, data: JSON) -> PersonMatch:
        person = data.get("person") if isinstance(data.get("person"), dict) else {}
        return cls(
            ref=data.get("ref"),
            person_id=data.get("person_id") or data.get("matched_person_id") or (person or {}).get("id"),
            score=data.get("score"),
            reasons=strings(data.get("reasons")),
        )

    @resolver(description="The matched person in the index.", graphql_type=Person | None)
    def person(self, info: Info) -> Resolved[Person | None]:
        if not self.person_id:
            return None
        return loaded(info.context.data_loaders.person, str(self.person_id), _maybe_person)


def _maybe_person(found: JSON | None) -> Person | None:
    return Person.from_json(found) if found else None


def _matches_of_people(people: Any) -> list[JSON]:
    """The referrals service reports matching per person (`people[].match`): an exact link or candidates."""
    out: list[JSON] = []
    for person in people if isinstance(people, list) else []:
        match = person.get("match") if isinstance(person, dict) else None
        if not isinstance(match, dict):
            continue
        if match.get("matched_person_id"):
            out.append({"ref": person.get("ref"), "person_id": match["matched_person_id"], "score": 1.0,
                        "reasons": ["exact identifier match"]})  # fmt: skip
        for candidate in match.get("candidates") or []:
            if isinstance(candidate, dict):
                out.append({"ref": person.get("ref"), **candidate})
    return out


@strawberry.type(description="A maternity or school referral from a partner agency.")
class Referral:
    family_id: strawberry.Private[str | None]
    case_id: strawberry.Private[str | None]
    id: strawberry.ID = strawberry.field(description="The referral's id.")
    kind: ReferralKind | None = strawberry.field(description="maternity or school.")
    status: ReferralStatus | None = strawberry.field(description="Where the referral is in its lifecycle.")
    hub: str | None = strawberry.field(description="The hub it was allocated to by postcode.")
    agency: str | None = strawberry.field(description="The referring agency's code.")
    external_reference: str | None = strawberry.field(description="The partner's own id for the referral.")
    needs: list[str] = strawberry.field(description="Need codes seen by the referrer.")
    safeguarding_concern: bool = strawberry.field(description="Flagged for immediate step-up.")
    received_at: datetime | None = strawberry.field(description="When the referral arrived.")
    decision_due_at: datetime | None = strawberry.field(description="When a decision is due (working days).")
    breached: bool | None = strawberry.field(description="True when the decision is overdue.")
    matching_status: str | None = strawberry.field(description="Person matching: done or pending.")
    decision: Decision | None = strawberry.field(description="The decision, once made.")
    matches: list[PersonMatch] = strawberry.field(description="Person index matches of the referral's people.")
    family_id_value: strawberry.ID | None = strawberry.field(
        name="familyId", description="The family's id in the cases service, once a case was opened or joined."
    )
    case_id_value: strawberry.ID | None = strawberry.field(
        name="caseId", description="The id of the case the referral opened or joined."
    )

    @classmethod
    def from_json(cls, data: JSON) -> Referral:
        decision = data.get("decision")
        matching = data.get("matching") if isinstance(data.get("matching"), dict) else {}
        raw_matches = data.get("matches")
        if raw_matches is None:
            raw_matches = (matching or {}).get("results") or _matches_of_people(data.get("people"))
        return cls(
            family_id_value=strawberry.ID(str(data["family_id"])) if data.get("family_id") else None,
            case_id_value=strawberry.ID(str(data["case_id"])) if data.get("case_id") else None,
            id=strawberry.ID(str(data["id"])),
            family_id=data.get("family_id"),
            case_id=data.get("case_id"),
            kind=parse_enum(ReferralKind, data.get("kind")),
            status=parse_enum(ReferralStatus, data.get("status")),
            hub=data.get("hub"),
            agency=data.get("agency"),
            external_reference=data.get("external_reference"),
            needs=strings(data.get("needs")),
            safeguarding_concern=bool(data.get("safeguarding_concern")),
            received_at=parse_datetime(data.get("received_at")),
            decision_due_at=parse_datetime(data.get("decision_due_at")),
            breached=data.get("breached"),
            matching_status=data.get("matching_status")
            or (matching or {}).get("status")
            or (data["matching"] if isinstance(data.get("matching"), str) else None),
            decision=Decision.from_json(decision) if isinstance(decision, dict) else None,
            matches=[PersonMatch.from_json(m) for m in raw_matches if isinstance(m, dict)],
        )

    @resolver(
        description="The family the referral became part of, once the cases service took it on.",
        graphql_type=Family | None,
    )
    def family(self, info: Info) -> Resolved[Family | None]:
        return _family(info, self.family_id)

    @resolver(description="The case the referral opened or joined.", graphql_type=Case | None)
    def case(self, info: Info) -> Resolved[Case | None]:
        if not self.case_id:
            return None
        return loaded(info.context.data_loaders.case, str(self.case_id), _maybe_case)


def _maybe_case(found: JSON | None) -> Case | None:
    return Case.from_json(found) if found else None


# --- outcomes (outcomes service) ---------------------------------------------------------------------------


@strawberry.type(description="How progress on a need is shown: a rule kind and its parameters.")
class OutcomeRule:
    kind: str = strawberry.field(description="attendance_threshold, reduction_vs_baseline, …")
    params: JSONScalar | None = strawberry.field(description="The rule's parameters as set in the framework.")


@strawberry.type(description="A headline outcome (need) of a framework.")
class FrameworkNeed:
    code: str = strawberry.field(description="The need code used across the platform.")
    name: str = strawberry.field(description="The need's name.")
    descriptors: list[str] = strawberry.field(description="Descriptors practitioners assess against.")
    rule: OutcomeRule | None = strawberry.field(description="The rule that shows progress.")


@strawberry.type(description="A version of an outcome framework (frameworks are data).")
class Framework:
    code: str = strawberry.field(description="e.g. supporting-families-2022.")
    version: str = strawberry.field(description="The framework version.")
    name: str = strawberry.field(description="Its name.")
    min_needs: int | None = strawberry.field(description="Minimum distinct needs for eligibility.")
    requires_dependent_children: bool | None = strawberry.field(
        description="Whether dependent children or an expectant parent are required."
    )
    sustain_months: int | None = strawberry.field(description="Months outcomes must be sustained after closure.")
    needs: list[FrameworkNeed] = strawberry.field(description="The headline outcomes.")

    @classmethod
    def from_json(cls, data: JSON) -> Framework:
        needs = []
        for need in data.get("needs") or []:
            rule = need.get("rule") if isinstance(need.get("rule"), dict) else None
            needs.append(
                FrameworkNeed(
                    code=str(need.get("code")),
                    name=str(need.get("name", need.get("code"))),
                    descriptors=strings(need.get("descriptors")),
                    rule=OutcomeRule(kind=str(rule.get("kind")), params=rule.get("params")) if rule else None,
                )
            )
        return cls(
            code=str(data.get("code")),
            version=str(data.get("version")),
            name=str(data.get("name", data.get("code"))),
            min_needs=data.get("min_needs"),
            requires_dependent_children=data.get("requires_dependent_children"),
            sustain_months=data.get("sustain_months"),
            needs=needs,
        )


@strawberry.type(description="The evaluated progress of a family against one identified need.")
class NeedProgress:
    need: str = strawberry.field(description="The need code.")
    met: bool | None = strawberry.field(description="Whether the need's rule is met.")
    sustained: bool | None = strawberry.field(description="Whether the outcome has been sustained as required.")
    reasons: list[str] = strawberry.field(description="Why, in words (e.g. missing data for a term).")
    evaluated_at: datetime | None = strawberry.field(description="When it was last evaluated.")

    @classmethod
    def from_json(cls, data: JSON) -> NeedProgress:
        reasons = data.get("reasons")
        if reasons is None and data.get("reason"):
            reasons = [data["reason"]]
        return cls(
            need=str(data.get("need") or data.get("need_code") or data.get("code")),
            met=data.get("met"),
            sustained=data.get("sustained"),
            reasons=strings(reasons),
            evaluated_at=parse_datetime(data.get("evaluated_at")),
        )


@strawberry.type(description="A payment-by-results claim for a family, with its frozen evidence.")
class Claim:
    family_id: strawberry.Private[str | None]
    id: strawberry.ID = strawberry.field(description="The claim's id.")
    status: str | None = strawberry.field(description="e.g. pending, sampled, validated, rejected, submitted.")
    phase: str | None = strawberry.field(description="The programme phase claimed in.")
    evidence_hash: str | None = strawberry.field(description="SHA-256 of the frozen evidence snapshot.")
    created_at: datetime | None = strawberry.field(description="When the claim was made.")
    sampled_for_audit: bool | None = strawberry.field(description="Whether local audit sampled the claim.")
    audit_reason: str | None = strawberry.field(description="The auditor's reason, once validated or rejected.")
    decided_by: str | None = strawberry.field(description="The auditor who validated or rejected the claim.")
    practitioner_assessed: bool | None = strawberry.field(
        description="Whether a need rests on a practitioner's judgement (such claims are always audited)."
    )

    @classmethod
    def from_json(cls, data: JSON) -> Claim:
        return cls(
            id=strawberry.ID(str(data["id"])),
            family_id=data.get("family_id"),
            status=data.get("status"),
            phase=data.get("phase") or data.get("programme_phase"),
            evidence_hash=data.get("evidence_hash") or data.get("evidence_sha256"),
            created_at=parse_datetime(data.get("created_at")),
            sampled_for_audit=bool(data.get("sample_id")) if "sample_id" in data else data.get("sampled_for_audit"),
            audit_reason=data.get("decision_reason") or data.get("audit_reason"),
            decided_by=data.get("decided_by"),
            practitioner_assessed=data.get("practitioner_assessed"),
        )

    @resolver(description="The family claimed for.", graphql_type=Family | None)
    def family(self, info: Info) -> Resolved[Family | None]:
        return _family(info, self.family_id)


@strawberry.type(description="A reproducible audit sample of pending claims (rate and seed).")
class AuditSample:
    id: strawberry.ID = strawberry.field(description="The sample's id.")
    rate: float = strawberry.field(description="The share of pending claims sampled at random.")
    seed: int = strawberry.field(description="The seed that makes the sample reproducible.")
    population: int = strawberry.field(description="How many pending claims it was drawn from.")
    random_claim_ids: list[strawberry.ID] = strawberry.field(description="Claims drawn at random.")
    practitioner_assessed_claim_ids: list[strawberry.ID] = strawberry.field(
        description="Claims with a practitioner-assessed need (always sampled)."
    )
    claim_ids: list[strawberry.ID] = strawberry.field(description="Every claim in the sample.")

    @classmethod
    def from_json(cls, data: JSON) -> AuditSample:
        return cls(
            id=strawberry.ID(str(data["id"])),
            rate=float(data.get("rate") or 0),
            seed=int(data.get("seed") or 0),
            population=int(data.get("population") or 0),
            random_claim_ids=[strawberry.ID(i) for i in strings(data.get("random_claim_ids"))],
            practitioner_assessed_claim_ids=[
                strawberry.ID(i) for i in strings(data.get("practitioner_assessed_claim_ids"))
            ],
            claim_ids=[strawberry.ID(i) for i in strings(data.get("claim_ids"))],
        )
