"""The people a referral names, their roles and their `referral_people` rows, and the match queries for them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from referrals.intake.matching import MatchQuery
from referrals.intake.schemas import (
    MaternityReferralCreate,
    PartnerReferralCreate,
    PersonIn,
    PupilIn,
    ReferralCreate,
)
from referrals.models import ReferralPerson

YOUNG_PERSON_AGE = 13


@dataclass(frozen=True, slots=True)
class NamedPerson:
    """One person of a referral: their place in it (`ref`), their role and what the referrer said about them."""

    ref: str
    role: str
    person: PersonIn
    upn: str | None = None


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def people_of(payload: ReferralCreate, today: date) -> list[NamedPerson]:
    if isinstance(payload, MaternityReferralCreate):
        people = [NamedPerson("expectant_parent", "parent_carer", payload.expectant_parent)]
        if payload.other_parent is not None:
            people.append(NamedPerson("other_parent", "parent_carer", payload.other_parent))
        people += [NamedPerson(f"child_{i + 1}", "child", c) for i, c in enumerate(payload.children)]
        return people
    if isinstance(payload, PartnerReferralCreate):
        return [NamedPerson(f"{p.role}_{i + 1}", p.role, p, p.upn) for i, p in enumerate(payload.people)]
    pupil: PupilIn = payload.pupil
    role = "young_person" if _age_on(pupil.date_of_birth, today) >= YOUNG_PERSON_AGE else "child"
    people = [NamedPerson("pupil", role, pupil, pupil.upn)]
    people += [NamedPerson(f"parent_{i + 1}", "parent_carer", p) for i, p in enumerate(payload.parents)]
    return people


def postcode_of(people: list[NamedPerson]) -> str | None:
    """The postcode a referral is allocated by: the first person's, else the first that anyone has."""
    return people[0].person.postcode or next((p.person.postcode for p in people if p.person.postcode), None)


def person_row(
    referral_id: uuid.UUID,
    position: int,
    p: NamedPerson,
    *,
    row_id: uuid.UUID,
    match_status: str = "pending",
    matched_person_id: uuid.UUID | None = None,
    match_candidates: list[Any] | None = None,
) -> dict[str, Any]:
    """A `referral_people` row for one person of a referral (matching still pending unless given)."""
    return {
        "id": row_id,
        "referral_id": referral_id,
        "position": position,
        "ref": p.ref,
        "role": p.role,
        "given_name": p.person.given_name,
        "family_name": p.person.family_name,
        "date_of_birth": p.person.date_of_birth,
        "nhs_number": p.person.nhs_number,
        "upn": p.upn,
        "postcode": p.person.postcode,
        "address": p.person.address,
        "match_status": match_status,
        "matched_person_id": matched_person_id,
        "match_candidates": match_candidates or [],
    }


def kind_details(payload: ReferralCreate) -> dict[str, Any]:
    """The fields particular to the referral's kind, as stored in `details`."""
    if isinstance(payload, MaternityReferralCreate):
        return payload.model_dump(mode="json", include={"gestation_weeks", "vulnerabilities", "expected_delivery_date"})
    if isinstance(payload, PartnerReferralCreate):
        return payload.model_dump(mode="json", include={"service", "operation_encompass"}, exclude_none=True)
    return payload.model_dump(
        mode="json",
        include={
            "school_urn",
            "attendance",
            "suspensions_this_year",
            "permanently_excluded",
            "sen_status",
            "transition",
        },
    ) | {"year_group": payload.pupil.year_group}


def query_for(person: NamedPerson | ReferralPerson) -> MatchQuery:
    """What cases is asked to match for one person."""
    if isinstance(person, ReferralPerson):
        return MatchQuery(
            person.given_name,
            person.family_name,
            person.date_of_birth,
            person.nhs_number,
            person.upn,
            person.postcode,
        )
    p = person.person
    return MatchQuery(p.given_name, p.family_name, p.date_of_birth, p.nhs_number, person.upn, p.postcode)
