"""Input types of the mutations; field names map one to one onto the services' snake_case JSON."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from gateway.types.enums import (
    ActionStatus,
    ClosureOutcome,
    ConsentMethod,
    ContactKind,
    DecisionOutcome,
    LawfulBasis,
    ObservationKind,
    PartnerPersonRole,
    SenStatus,
)


@strawberry.input(description="A person named in a referral.")
class ReferralPersonInput:
    given_name: str = strawberry.field(description="Given name, stored exactly as written.")
    family_name: str = strawberry.field(description="Family name, stored exactly as written.")
    date_of_birth: date = strawberry.field(description="Date of birth.")
    nhs_number: str | None = strawberry.field(default=strawberry.UNSET, description="NHS number (check digit).")
    postcode: str | None = strawberry.field(default=strawberry.UNSET, description="UK postcode.")
    address: str | None = strawberry.field(default=strawberry.UNSET, description="Address.")


@strawberry.input(description="The pupil of a school referral.")
class PupilInput(ReferralPersonInput):
    upn: str = strawberry.field(description="Unique pupil number (check letter).")
    year_group: int = strawberry.field(description="National curriculum year group.")


@strawberry.input(description="The person at the referring agency.")
class ReferrerInput:
    name: str = strawberry.field(description="Their name.")
    role: str | None = strawberry.field(default=strawberry.UNSET, description="Their job role.")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="Email address.")
    phone: str | None = strawberry.field(default=strawberry.UNSET, description="Telephone number.")


@strawberry.input(description="The family's consent to early help.")
class ConsentInput:
    given: bool = strawberry.field(description="Whether consent was given.")
    given_by: str | None = strawberry.field(default=strawberry.UNSET, description="Who gave it.")
    recorded_at: datetime | None = strawberry.field(default=strawberry.UNSET, description="When.")
    method: ConsentMethod | None = strawberry.field(default=strawberry.UNSET, description="How it was given.")


@strawberry.input(description="Attendance figures of the pupil.")
class AttendanceInput:
    current_term_percent: float = strawberry.field(description="Attendance this term, 0-100.")
    last_three_terms_percent: list[float] = strawberry.field(
        default_factory=list, description="The last three terms, 0-100 each (at most three)."
    )
    unauthorised_absence_sessions: int = strawberry.field(default=0, description="Unauthorised absences (sessions).")


@strawberry.input(
    description="What every kind of referral says (the base of the kinds' inputs; not itself in the schema, which "
    "names only the inputs the mutations take)."
)
class ReferralInput:
    external_reference: str = strawberry.field(description="The partner's own id, unique per agency.")
    referrer: ReferrerInput = strawberry.field(description="Who is referring.")
    needs: list[str] = strawberry.field(description="Need codes of the active framework.")
    reason: str = strawberry.field(description="Why the family is referred.")
    consent: ConsentInput = strawberry.field(description="The family's consent.")
    safeguarding_concern: bool = strawberry.field(default=False, description="A safeguarding concern.")
    lawful_basis: LawfulBasis | None = strawberry.field(
        default=strawberry.UNSET, description="The lawful basis for sharing this information."
    )


@strawberry.input(description="A maternity referral.")
class MaternityReferralInput(ReferralInput):
    expectant_parent: ReferralPersonInput = strawberry.field(description="The expectant parent.")
    other_parent: ReferralPersonInput | None = strawberry.field(
        default=strawberry.UNSET, description="The other parent."
    )
    expected_delivery_date: date = strawberry.field(description="Expected date of delivery.")
    gestation_weeks: int | None = strawberry.field(default=strawberry.UNSET, description="Weeks of gestation.")
    vulnerabilities: list[str] = strawberry.field(default_factory=list, description="Antenatal vulnerabilities.")
    children: list[ReferralPersonInput] = strawberry.field(default_factory=list, description="Children 0-4.")


@strawberry.input(description="A school referral.")
class SchoolReferralInput(ReferralInput):
    school_urn: str = strawberry.field(description="The school's 6-digit URN.")
    pupil: PupilInput = strawberry.field(description="The pupil.")
    parents: list[ReferralPersonInput] = strawberry.field(default_factory=list, description="Parents or carers.")
    attendance: AttendanceInput = strawberry.field(description="Attendance of the pupil.")
    suspensions_this_year: int = strawberry.field(default=0, description="Suspensions this school year.")
    permanently_excluded: bool = strawberry.field(default=False, description="Permanently excluded.")
    sen_status: SenStatus = strawberry.field(default=SenStatus.NONE, description="Special educational needs.")
    transition: bool = strawberry.field(default=False, description="In the year 6 to 7 transition.")


@strawberry.input(description="A person named in a partner referral, with their role.")
class PartnerPersonInput(ReferralPersonInput):
    role: PartnerPersonRole = strawberry.field(description="Their role in the family.")
    upn: str | None = strawberry.field(default=strawberry.UNSET, description="A child's unique pupil number.")


@strawberry.input(description="Operation Encompass: a police notification of a domestic abuse incident.")
class DomesticAbuseNotificationInput:
    incident_at: datetime = strawberry.field(description="When the police attended the incident.")
    police_reference: str = strawberry.field(description="The force's incident or crime reference.")
    child_present: bool = strawberry.field(description="Whether a child was present at (or witnessed) it.")
    school_urns: list[str] = strawberry.field(default_factory=list, description="The children's schools' URNs.")


@strawberry.input(description="A referral from a partner agency: police, health, housing, probation, voluntary sector.")
class PartnerReferralInput(ReferralInput):
    people: list[PartnerPersonInput] = strawberry.field(description="The people the referral concerns.")
    service: str | None = strawberry.field(
        default=strawberry.UNSET, description="The referring service within the agency (e.g. health visiting)."
    )
    operation_encompass: DomesticAbuseNotificationInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="An Operation Encompass notification (police only): kind OPERATION_ENCOMPASS.",
    )


@strawberry.input(description="A hub manager's decision on a referral.")
class DecisionInput:
    decision: DecisionOutcome | None = strawberry.field(
        default=strawberry.UNSET, description="What is decided (required; the word every decision input uses)."
    )
    reason: str = strawberry.field(description="Why.")
    outcome: DecisionOutcome | None = strawberry.field(
        default=strawberry.UNSET,
        description="What is decided: the old name of `decision`.",
        deprecation_reason="Use `decision` (the word of every decision input); `outcome` goes in the next release.",
    )

    def chosen(self) -> DecisionOutcome | None:
        """The decision, under its name or its deprecated one."""
        for value in (self.decision, self.outcome):
            if isinstance(value, DecisionOutcome):
                return value
        return None


@strawberry.input(description="A (re)assignment of a case's lead worker.")
class LeadWorkerInput:
    worker_id: strawberry.ID = strawberry.field(description="The new lead worker.")
    reason: str = strawberry.field(description="Why the worker is assigned.")
    override_cap: bool = strawberry.field(default=False, description="A hub manager overriding the caseload cap.")


@strawberry.input(description="One need identified in a whole-family assessment.")
class AssessedNeedInput:
    code: str = strawberry.field(description="The need code (of the active framework).")
    descriptors: list[str] = strawberry.field(
        default_factory=list,
        description="Codes of the need's descriptors seen (`FrameworkNeed.descriptorDetails`; the exact label is "
        "still accepted).",
    )
    evidence: str = strawberry.field(description="The evidence for the need.")


@strawberry.input(description="A whole-family assessment.")
class AssessmentInput:
    needs: list[AssessedNeedInput] = strawberry.field(description="The needs identified, with their evidence.")
    strengths: str | None = strawberry.field(default=strawberry.UNSET, description="The family's strengths.")
    family_views: str | None = strawberry.field(default=strawberry.UNSET, description="The family's own views.")
    child_voice: str | None = strawberry.field(default=strawberry.UNSET, description="The voice of the child.")
    assessed_on: date | None = strawberry.field(default=strawberry.UNSET, description="When (today when omitted).")
    backdate_reason: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Why an assessment is dated before the case began (hub managers only; audited).",
    )


@strawberry.input(description="A goal of the plan for one identified need.")
class GoalInput:
    need: str = strawberry.field(description="The need code the goal addresses.")
    description: str = strawberry.field(description="The goal in the family's words.")
    target_date: date | None = strawberry.field(default=strawberry.UNSET, description="When it should be reached.")


@strawberry.input(description="An action of the plan; owned by a worker or an agency.")
class ActionInput:
    need: str = strawberry.field(description="The need code the action works towards.")
    description: str = strawberry.field(description="What will be done.")
    owner_worker_id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET, description="Owning worker.")
    owner_agency: str | None = strawberry.field(default=strawberry.UNSET, description="Owning agency code.")
    due_on: date = strawberry.field(description="When it is due.")
    status: ActionStatus = strawberry.field(default=ActionStatus.NOT_STARTED, description="Progress of the action.")


@strawberry.input(description="A worker in the team around the family.")
class TeamMemberInput:
    worker_id: strawberry.ID = strawberry.field(description="The worker.")
    role: str = strawberry.field(description="Their role in the team around the family.")


@strawberry.input(description="The whole team around the family as it should now be, and why it changes.")
class TeamInput:
    team: list[TeamMemberInput] = strawberry.field(description="Everyone in the team (an empty list: no team).")
    reason: str = strawberry.field(description="Why the team changes (audited).")


@strawberry.input(description="The whole plan as it should now be (a new version).")
class PlanInput:
    goals: list[GoalInput] = strawberry.field(description="Goals, at least one.")
    actions: list[ActionInput] = strawberry.field(default_factory=list, description="Actions towards the goals.")
    team: list[TeamMemberInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Leave out: the team is changed with `updateTeam`. When given it must equal the current team.",
    )
    review_dates: list[date] = strawberry.field(default_factory=list, description="Planned review dates.")
    next_review_due: date | None = strawberry.field(default=strawberry.UNSET, description="Next review.")
    change_summary: str | None = strawberry.field(default=strawberry.UNSET, description="What changed.")


@strawberry.input(description="A visit, call or meeting with its note.")
class ContactInput:
    kind: ContactKind = strawberry.field(description="What kind of contact.")
    occurred_at: datetime = strawberry.field(description="When it took place.")
    note: str | None = strawberry.field(
        default=strawberry.UNSET, description="The note (required; `note` as in REST and on `Contact`)."
    )
    sensitive: bool = strawberry.field(default=False, description="Restrict the note.")
    summary: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The note: the old name of `note`.",
        deprecation_reason="Use `note` (the word REST and `Contact` use); `summary` goes in the next release.",
    )

    def chosen_note(self) -> str | None:
        """The note, under its name or its deprecated one."""
        for value in (self.note, self.summary):
            if isinstance(value, str):
                return value
        return None


@strawberry.input(description="The agency a family is stepped up or down to, and why.")
class StepInput:
    agency: str = strawberry.field(description="The receiving agency, e.g. children's social care.")
    reason: str = strawberry.field(description="Why.")


@strawberry.input(description="Closing a case.")
class CloseCaseInput:
    outcome: ClosureOutcome = strawberry.field(description="How the case ended.")
    closed_on: date | None = strawberry.field(default=strawberry.UNSET, description="The closure date (today).")
    reason: str = strawberry.field(description="Why the case closes.")
    step: StepInput | None = strawberry.field(
        default=strawberry.UNSET, description="Required when the outcome is stepped_up or stepped_down."
    )


@strawberry.input(
    description=(
        "One observation row. `kind` decides which fields apply (the others are left out): attendance (person, "
        "termStart, termEnd, possibleSessions, attendedSessions, unauthorisedSessions, suspensions, "
        "permanentlyExcluded); offence, asb, domestic_abuse_incident (person or familyId, occurredOn, reference); "
        "employment, housing, neet, financial (person, status, periodStart, periodEnd); practitioner_assessment "
        "(familyId, need, met, evidence, assessedOn). A person is named by personId, nhsNumber or upn."
    )
)
class ObservationInput:
    kind: ObservationKind = strawberry.field(description="What was observed.")
    person_id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET, description="The person (id).")
    nhs_number: str | None = strawberry.field(default=strawberry.UNSET, description="The person (NHS number).")
    upn: str | None = strawberry.field(default=strawberry.UNSET, description="The person (unique pupil number).")
    family_id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET, description="The family.")
    term_start: date | None = strawberry.field(default=strawberry.UNSET, description="Attendance: term start.")
    term_end: date | None = strawberry.field(default=strawberry.UNSET, description="Attendance: term end.")
    possible_sessions: int | None = strawberry.field(default=strawberry.UNSET, description="Attendance: possible.")
    attended_sessions: int | None = strawberry.field(default=strawberry.UNSET, description="Attendance: attended.")
    unauthorised_sessions: int | None = strawberry.field(
        default=strawberry.UNSET, description="Attendance: unauthorised absences."
    )
    suspensions: int | None = strawberry.field(default=strawberry.UNSET, description="Attendance: suspensions.")
    permanently_excluded: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Attendance: permanently excluded in the term."
    )
    occurred_on: date | None = strawberry.field(default=strawberry.UNSET, description="Incident: when.")
    reference: str | None = strawberry.field(default=strawberry.UNSET, description="Incident: source reference.")
    status: str | None = strawberry.field(default=strawberry.UNSET, description="Status kinds: the status held.")
    period_start: date | None = strawberry.field(default=strawberry.UNSET, description="Status kinds: from.")
    period_end: date | None = strawberry.field(default=strawberry.UNSET, description="Status kinds: until (open).")
    need: str | None = strawberry.field(default=strawberry.UNSET, description="Practitioner assessment: the need.")
    met: bool | None = strawberry.field(default=strawberry.UNSET, description="Practitioner assessment: met.")
    evidence: str | None = strawberry.field(default=strawberry.UNSET, description="Practitioner assessment: why.")
    assessed_on: date | None = strawberry.field(default=strawberry.UNSET, description="Practitioner assessment: when.")


@strawberry.enum(description="An auditor's verdict on a claim.")
class ClaimVerdict(Enum):
    VALIDATED = "validated"
    REJECTED = "rejected"


@strawberry.input(description="An auditor's verdict on a sampled claim.")
class ClaimValidationInput:
    decision: ClaimVerdict = strawberry.field(description="Validate or reject.")
    reason: str | None = strawberry.field(default=strawberry.UNSET, description="Why (required to reject).")


@strawberry.input(description="Merge a duplicate family into this one (hub manager).")
class FamilyMergeInput:
    merge_family_id: strawberry.ID = strawberry.field(description="The duplicate family, merged into this family.")
    reason: str = strawberry.field(description="Why they are one family (audited).")
