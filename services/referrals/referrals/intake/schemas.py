"""Request bodies of intake: a maternity, school or partner referral (police, health, housing, probation, the
voluntary sector; a police Operation Encompass notification), with the people it names."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from referrals.fields import (
    Address,
    DateOfBirth,
    Email,
    ExternalReference,
    LongText,
    Name,
    NeedCode,
    Percent,
    Phone,
    ShortText,
    Strict,
    aware_not_future,
    plausible_birth_date,
    plausible_delivery_date,
    under_five,
)
from referrals.triage.schemas import Consent
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
LawfulBasis = Literal["consent", "public_task", "legal_obligation", "vital_interests", "legitimate_interests"]
SenStatus = Literal["none", "sen_support", "ehcp"]
MAX_PEOPLE = 20


class PersonIn(Strict):
    given_name: Name
    family_name: Name
    date_of_birth: DateOfBirth
    nhs_number: NHSNumber | None = None
    postcode: Postcode | None = None
    address: Address | None = None


class ChildIn(PersonIn):
    date_of_birth: Annotated[date, AfterValidator(plausible_birth_date), AfterValidator(under_five)]


class PupilIn(PersonIn):
    upn: UPN
    year_group: int = Field(ge=-1, le=14, description="-1 nursery, 0 reception, 1 to 13 years 1 to 13, 14 post-16")


class Referrer(Strict):
    name: ShortText
    role: ShortText | None = None
    email: Email | None = None
    phone: Phone | None = None


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
    expected_delivery_date: Annotated[date, AfterValidator(plausible_delivery_date)]
    gestation_weeks: int | None = Field(default=None, ge=0, le=45)
    vulnerabilities: list[Vulnerability] = Field(default_factory=list, max_length=len(VULNERABILITIES))
    children: list[ChildIn] = Field(default_factory=list, max_length=MAX_PEOPLE)

    @property
    def kind(self) -> str:
        return "maternity"


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

    @property
    def kind(self) -> str:
        return "school"


PartnerRole = Literal["child", "young_person", "parent_carer", "other_adult"]
CHILD_ROLES = ("child", "young_person")


class PartnerPersonIn(PersonIn):
    role: PartnerRole = Field(description="child, young_person (13 and over), parent_carer or other_adult")
    upn: UPN | None = Field(default=None, description="A child's unique pupil number, when the partner knows it")


class DomesticAbuseNotification(Strict):
    """Operation Encompass: the police attended a domestic abuse incident involving a child's household; the
    child's school and early help hear of it before the next school day."""

    incident_at: Annotated[datetime, AfterValidator(aware_not_future)]
    police_reference: ShortText = Field(description="The force's incident or crime reference")
    child_present: bool = Field(description="Whether a child was present at (or witnessed) the incident")
    school_urns: list[SchoolURN] = Field(
        default_factory=list, max_length=MAX_PEOPLE, description="The schools of the children, to be told"
    )


class PartnerReferralCreate(ReferralCommon):
    """A referral from any other partner agency (police, health visitor or GP, housing, probation, voluntary
    sector), naming the people it concerns; with `operation_encompass`, a police domestic abuse notification."""

    people: list[PartnerPersonIn] = Field(min_length=1, max_length=MAX_PEOPLE)
    service: ShortText | None = Field(
        default=None, description="The referring service within the agency, e.g. health visiting, a GP practice"
    )
    operation_encompass: DomesticAbuseNotification | None = None

    @field_validator("operation_encompass")
    @classmethod
    def _about_a_child(
        cls, value: DomesticAbuseNotification | None, info: ValidationInfo
    ) -> DomesticAbuseNotification | None:
        people = info.data.get("people")
        if value is not None and people is not None and not any(p.role in CHILD_ROLES for p in people):
            raise ValueError("an Operation Encompass notification is about a child: name one in people")
        return value

    @property
    def kind(self) -> str:
        return "operation_encompass" if self.operation_encompass is not None else "partner"


ReferralCreate = MaternityReferralCreate | SchoolReferralCreate | PartnerReferralCreate
