"""Input types of the mutations; field names map one to one onto the services' snake_case JSON."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON as JSONScalar

from gateway.types.enums import ClosureOutcome, DecisionOutcome


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
    role: str = strawberry.field(description="Their job role.")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="Email address.")
    phone: str | None = strawberry.field(default=strawberry.UNSET, description="Telephone number.")


@strawberry.input(description="The family's consent to early help.")
class ConsentInput:
    given: bool = strawberry.field(description="Whether consent was given.")
    given_by: str | None = strawberry.field(default=strawberry.UNSET, description="Who gave it.")
    recorded_at: datetime | None = strawberry.field(default=strawberry.UNSET, description="When.")
    method: str | None = strawberry.field(default=strawberry.UNSET, description="verbal, written, …")


@strawberry.input(description="Attendance figures of the pupil.")
class AttendanceInput:
    current_term_percent: float = strawberry.field(description="Attendance this term, 0-100.")
    last_three_terms_percent: list[float] = strawberry.field(description="The last three terms, 0-100 each.")
    unauthorised_absence_sessions: int = strawberry.field(description="Unauthorised absences (sessions).")


@strawberry.input(description="A maternity referral.")
class MaternityReferralInput:
    external_reference: str = strawberry.field(description="The partner's own id, unique per agency.")
    referrer: ReferrerInput = strawberry.field(description="Who is referring.")
    needs: list[str] = strawberry.field(description="Need codes of the active framework.")
    reason: str = strawberry.field(description="Why the family is referred.")
    consent: ConsentInput = strawberry.field(description="The family's consent.")
    safeguarding_concern: bool = strawberry.field(default=False, description="A safeguarding concern.")
    expectant_parent: ReferralPersonInput = strawberry.field(description="The expectant parent.")
    other_parent: ReferralPersonInput | None = strawberry.field(
        default=strawberry.UNSET, description="The other parent."
    )
    expected_delivery_date: date = strawberry.field(description="Expected date of delivery.")
    gestation_weeks: int | None = strawberry.field(default=strawberry.UNSET, description="Weeks of gestation.")
    vulnerabilities: list[str] = strawberry.field(default_factory=list, description="Antenatal vulnerabilities.")
    children: list[ReferralPersonInput] = strawberry.field(default_factory=list, description="Children 0-4.")


@strawberry.input(description="A school referral.")
class SchoolReferralInput:
    external_reference: str = strawberry.field(description="The partner's own id, unique per agency.")
    referrer: ReferrerInput = strawberry.field(description="Who is referring.")
    needs: list[str] = strawberry.field(description="Need codes of the active framework.")
    reason: str = strawberry.field(description="Why the family is referred.")
    consent: ConsentInput = strawberry.field(description="The family's consent.")
    safeguarding_concern: bool = strawberry.field(default=False, description="A safeguarding concern.")
    school_urn: str = strawberry.field(description="The school's 6-digit URN.")
    pupil: PupilInput = strawberry.field(description="The pupil.")
    parents: list[ReferralPersonInput] = strawberry.field(default_factory=list, description="Parents or carers.")
    attendance: AttendanceInput | None = strawberry.field(default=strawberry.UNSET, description="Attendance.")
    suspensions_this_year: int = strawberry.field(default=0, description="Suspensions this school year.")
    permanently_excluded: bool = strawberry.field(default=False, description="Permanently excluded.")
    sen_status: str = strawberry.field(default="none", description="none, sen_support or ehcp.")
    transition: bool = strawberry.field(default=False, description="In the year 6 to 7 transition.")


@strawberry.input(description="A hub manager's decision on a referral.")
class DecisionInput:
    outcome: DecisionOutcome = strawberry.field(description="What is decided.")
    reason: str = strawberry.field(description="Why.")


@strawberry.input(description="A (re)assignment of a case's lead worker.")
class LeadWorkerInput:
    worker_id: strawberry.ID = strawberry.field(description="The new lead worker.")
    reason: str = strawberry.field(description="Why the worker is assigned.")
    override_cap: bool = strawberry.field(default=False, description="A hub manager overriding the caseload cap.")


@strawberry.input(description="A whole-family assessment.")
class AssessmentInput:
    needs: list[str] = strawberry.field(description="Need codes identified.")
    details: JSONScalar | None = strawberry.field(
        default=strawberry.UNSET,
        description="Further fields the cases service accepts (descriptors, evidence, strengths, views).",
    )


@strawberry.input(description="The whole plan as it should now be (a new version).")
class PlanInput:
    goals: JSONScalar = strawberry.field(description="Goals: [{need, description, target_date?}].")
    actions: JSONScalar | None = strawberry.field(
        default=strawberry.UNSET,
        description="Actions: [{need, description, owner_worker_id | owner_agency, due_on, status}].",
    )
    team: JSONScalar | None = strawberry.field(
        default=strawberry.UNSET, description="The team around the family: [{worker_id, role}]."
    )
    next_review_due: date | None = strawberry.field(default=strawberry.UNSET, description="Next review.")
    change_summary: str | None = strawberry.field(default=strawberry.UNSET, description="What changed.")


@strawberry.input(description="A visit, call or meeting with its note.")
class ContactInput:
    kind: str = strawberry.field(description="visit, call, meeting, …")
    occurred_at: datetime = strawberry.field(description="When it took place.")
    summary: str = strawberry.field(description="The note.")
    sensitive: bool = strawberry.field(default=False, description="Restrict the note.")


@strawberry.input(description="Closing a case.")
class CloseCaseInput:
    outcome: ClosureOutcome = strawberry.field(description="How the case ended.")
    closed_on: date = strawberry.field(description="The closure date.")
    reason: str | None = strawberry.field(default=strawberry.UNSET, description="Notes on the closure.")


@strawberry.enum(description="An auditor's verdict on a claim.")
class ClaimVerdict(Enum):
    VALIDATED = "validated"
    REJECTED = "rejected"


@strawberry.input(description="An auditor's verdict on a sampled claim.")
class ClaimValidationInput:
    decision: ClaimVerdict = strawberry.field(description="Validate or reject.")
    reason: str | None = strawberry.field(default=strawberry.UNSET, description="Why (required to reject).")
