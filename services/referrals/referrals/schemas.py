"""Request and response bodies of the referrals API."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.identifiers import UPN, NHSNumber, Postcode, SchoolURN

VULNERABILITIES = (
    "perinatal_mental_health",
    "substance_use",
    "domestic_abuse",
    "parent_under_20",
    "care_leaver",
    "previous_child_removed",
    "housing",
    "learning_disability",
    "no_recourse_to_public_funds",
    "other",
)
Vulnerability = Literal[
    "perinatal_mental_health",
    "substance_use",
    "domestic_abuse",
    "parent_under_20",
    "care_leaver",
    "previous_child_removed",
    "housing",
    "learning_disability",
    "no_recourse_to_public_funds",
    "other",
]
DecisionOutcome = Literal["accepted", "signposted", "no_further_action", "stepped_up"]
Status = Literal["received", "screening", "accepted", "signposted", "no_further_action", "stepped_up", "withdrawn"]
Kind = Literal["maternity", "school"]
ConsentMethod = Literal["verbal", "written", "electronic"]
LawfulBasis = Literal["consent", "public_task", "legal_obligation", "vital_interests", "legitimate_interests"]
SenStatus = Literal["none", "sen_support", "ehcp"]
MAX_PEOPLE = 20
EDD_MAX_AHEAD = timedelta(weeks=45)
EDD_MAX_PAST = timedelta(weeks=6)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _today() -> date:
    return datetime.now(UTC).date()


def _plain_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _born(value: date) -> date:
    if value > _today():
        raise ValueError("a date of birth cannot be in the future")
    if value.year < 1900:
        raise ValueError("a date of birth before 1900 is not plausible")
    return value


def _under_five(value: date) -> date:
    today = _today()
    try:
        fifth_birthday = value.replace(year=value.year + 5)
    except ValueError:  # 29 February
        fifth_birthday = value.replace(year=value.year + 5, day=28)
    if fifth_birthday <= today:
        raise ValueError("children in a maternity referral are aged 0 to 4")
    return value


def _aware(value: datetime) -> datetime:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    if value > datetime.now(UTC) + timedelta(minutes=5):
        raise ValueError("cannot be in the future")
    return value


def _edd(value: date) -> date:
    today = _today()
    if value > today + EDD_MAX_AHEAD:
        raise ValueError("the expected delivery date must be within 45 weeks")
    if value < today - EDD_MAX_PAST:
        raise ValueError("the expected delivery date is more than 6 weeks in the past")
    return value


Name = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_plain_text)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_plain_text)]
Address = Annotated[str, StringConstraints(min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=5000)]
DateOfBirth = Annotated[date, AfterValidator(_born)]
Percent = Annotated[float, Field(ge=0, le=100)]
NeedCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ExternalReference = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/#-]*$")
]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, StringConstraints(max_length=30, pattern=r"^\+?[0-9 ()-]{6,29}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonIn(Strict):
    given_name: Name
    family_name: Name
    date_of_birth: DateOfBirth
    nhs_number: NHSNumber | None = None
    postcode: Postcode | None = None
    address: Address | None = None


class ChildIn(PersonIn):
    date_of_birth: Annotated[date, AfterValidator(_born), AfterValidator(_under_five)]


class PupilIn(PersonIn):
    upn: UPN
    year_group: int = Field(ge=-1, le=14, description="-1 nursery, 0 reception, 1 to 13 years 1 to 13, 14 post-16")


class Referrer(Strict):
    name: ShortText
    role: ShortText | None = None
    email: Email | None = None
    phone: Phone | None = None


class Consent(Strict):
    """The family's consent to early help: who gave it, when and how. Required details when `given`."""

    given: bool
    given_by: ShortText | None = None
    recorded_at: Annotated[datetime, AfterValidator(_aware)] | None = None
    method: ConsentMethod | None = None

    @model_validator(mode="after")
    def _details_when_given(self) -> Consent:
        if self.given and (self.given_by is None or self.recorded_at is None or self.method is None):
            raise ValueError("consent that is given needs given_by, recorded_at and method")
        return self


class ReferralCommon(Strict):
    external_reference: ExternalReference = Field(
        description="The partner's own id for this referral, unique per agency"
    )
    referrer: Referrer
    needs: list[NeedCode] = Field(
        default_factory=list, max_length=20, description="Codes of the active outcome framework"
    )
    reason: LongText
    consent: Consent
    safeguarding_concern: bool = False
    lawful_basis: LawfulBasis | None = Field(default=None, description="The lawful basis for sharing this information")


class MaternityReferralCreate(ReferralCommon):
    expectant_parent: PersonIn
    other_parent: PersonIn | None = None
    expected_delivery_date: Annotated[date, AfterValidator(_edd)]
    gestation_weeks: int | None = Field(default=None, ge=0, le=45)
    vulnerabilities: list[Vulnerability] = Field(default_factory=list, max_length=len(VULNERABILITIES))
    children: list[ChildIn] = Field(default_factory=list, max_length=MAX_PEOPLE)


class Attendance(Strict):
    current_term_percent: Percent
    last_three_terms_percent: list[Percent] = Field(default_factory=list, max_length=3)
    unauthorised_absence_sessions: int = Field(default=0, ge=0, le=1000)


class SchoolReferralCreate(ReferralCommon):
    school_urn: SchoolURN
    pupil: PupilIn
    parents: list[PersonIn] = Field(default_factory=list, max_length=MAX_PEOPLE)
    attendance: Attendance
    suspensions_this_year: int = Field(default=0, ge=0, le=200)
    permanently_excluded: bool = False
    sen_status: SenStatus = "none"
    transition: bool = Field(default=False, description="Moving from primary to secondary (year 6 to 7)")


ReferralCreate = MaternityReferralCreate | SchoolReferralCreate


class MatchRead(BaseModel):
    status: str = Field(description="pending, matched, candidates or no_match")
    matched_person_id: uuid.UUID | None
    candidates: list[dict[str, Any]]


class PersonRead(BaseModel):
    ref: str
    role: str
    given_name: str
    family_name: str
    date_of_birth: date
    nhs_number: str | None
    upn: str | None
    postcode: str | None
    address: str | None
    match: MatchRead | None = Field(
        description="Matches against the cases person index: shown to hub managers, admins and services only"
    )


class DecisionRead(BaseModel):
    outcome: DecisionOutcome
    reason: str
    decided_by: str
    decided_at: datetime


class StatusChangeRead(BaseModel):
    from_status: str | None
    to_status: str
    changed_at: datetime
    changed_by: str
    reason: str | None


class ReferralRead(BaseModel):
    id: uuid.UUID
    kind: Kind
    status: Status
    agency: str
    agency_type: str | None
    external_reference: str
    hub: str
    hub_defaulted: bool = Field(description="True when the postcode was not covered and the default hub took it")
    postcode: str | None
    address: str | None
    safeguarding_concern: bool = Field(description="Flagged for immediate step-up; sorted first in the queue")
    needs: list[str]
    reason: str
    referrer: dict[str, Any]
    consent: dict[str, Any]
    lawful_basis: str | None
    details: dict[str, Any] = Field(description="The fields particular to the referral's kind")
    expected_delivery_date: date | None
    received_at: datetime
    decision_due_at: datetime
    breached: bool
    decision: DecisionRead | None
    withdrawn_at: datetime | None
    matching: str = Field(description="pending until every person was matched against the cases person index")
    family_id: uuid.UUID | None
    case_id: uuid.UUID | None
    people: list[PersonRead]
    history: list[StatusChangeRead]


class ReferralPage(BaseModel):
    items: list[ReferralRead]
    next_cursor: str | None


class DecisionCreate(Strict):
    outcome: DecisionOutcome
    reason: LongText


class WithdrawalCreate(Strict):
    reason: LongText | None = None


class ScreeningCreate(Strict):
    note: LongText | None = None


WebhookEventType = Literal["referral.status_changed"]


class WebhookCreate(Strict):
    url: Annotated[str, StringConstraints(min_length=8, max_length=2000)]
    event_types: list[WebhookEventType] = Field(
        default_factory=lambda: list[WebhookEventType](["referral.status_changed"]), min_length=1
    )
    description: ShortText | None = None


class WebhookRead(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    created_at: datetime
    active: bool


class WebhookCreated(WebhookRead):
    secret: str = Field(description="The Standard Webhooks signing secret; shown only in this response")


class WebhookPage(BaseModel):
    items: list[WebhookRead]
    next_cursor: str | None = None


class DeliveryAttemptRead(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryRead(BaseModel):
    id: int
    event_id: uuid.UUID
    event_type: str
    subject: str | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    attempt_log: list[DeliveryAttemptRead]


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None
