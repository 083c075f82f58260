"""Request bodies of intake: a maternity or school referral, with the people it names."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

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
