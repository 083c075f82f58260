"""Who a referred person is (issue 17): the match with its explained candidates, triage's review queue, and
family merges (the cases service)."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON as JSONScalar

from gateway.context import Info
from gateway.loaders import loaded
from gateway.types.common import Resolved, parse_enum, resolver
from gateway.types.enums import MatchBand, MatchStatus
from gateway.types.people import Family, Person, family_of, maybe_person
from gateway.upstream import cases as cu
from gateway.upstream import referrals as up


@strawberry.type(description="How one field of a candidate compared with the referred person, and what it weighed.")
class FieldWeight:
    field: str = strawberry.field(description="The field compared (e.g. given_name, date_of_birth, upn).")
    level: str = strawberry.field(description="How it compared: exact, fuzzy, different, agree, missing, ...")
    weight: float = strawberry.field(description="The match weight it added (log2 of m/u; negative against).")
    explanation: str = strawberry.field(description="The comparison in words.")


@strawberry.type(description="A person of the index who may be the referred person, with why.")
class MatchCandidate:
    person_id: strawberry.Private[str]
    score: float = strawberry.field(description="The match probability 0-1 (1 for an exact identifier match).")
    band: MatchBand | None = strawberry.field(description="link, review or conflict (none for an exact match).")
    conflict: str | None = strawberry.field(description="Why an agreeing identifier is not trusted, when it is not.")
    match_weight: float | None = strawberry.field(description="The prior plus the weight of every field.")
    fields: list[FieldWeight] = strawberry.field(description="The per-field explanation of the score.")
    reasons: list[str] = strawberry.field(description="Why the candidate scored as it did, in short.")

    @classmethod
    def from_upstream(cls, data: up.Candidate) -> MatchCandidate:
        return cls(
            person_id=data.person.id,
            score=data.score,
            band=parse_enum(MatchBand, data.band) if data.band else None,
            conflict=data.conflict,
            match_weight=data.match_weight,
            fields=[
                FieldWeight(field=f.field, level=f.level, weight=f.weight, explanation=f.explanation)
                for f in data.fields
            ],
            reasons=list(data.reasons),
        )

    @resolver(description="The candidate in the person index.", graphql_type="Person | None")
    def person(self, info: Info) -> Resolved[Person | None]:
        return loaded(info.context.data_loaders.person, self.person_id, maybe_person)


@strawberry.type(description="Who one person named in a referral is: the match and triage's confirmation.")
class PersonIdentity:
    matched_person_id: strawberry.Private[str | None]
    ref: str = strawberry.field(description="Which person of the referral (e.g. pupil, parent_1).")
    status: MatchStatus | None = strawberry.field(description="Where matching stands.")
    candidates: list[MatchCandidate] = strawberry.field(description="Ranked candidates, best first.")
    confirmed_by: str | None = strawberry.field(description="Who confirmed the person or declared a new one.")
    confirmed_at: datetime | None = strawberry.field(description="When.")
    reason: str | None = strawberry.field(description="Why triage declared a new person (or confirmed one).")

    @resolver(description="The person linked or confirmed, once known.", graphql_type="Person | None")
    def person(self, info: Info) -> Resolved[Person | None]:
        if not self.matched_person_id:
            return None
        return loaded(info.context.data_loaders.person, self.matched_person_id, maybe_person)


def identities_of(people: list[up.PersonRead]) -> list[PersonIdentity]:
    return [
        PersonIdentity(
            matched_person_id=p.match.matched_person_id,
            ref=p.ref,
            status=parse_enum(MatchStatus, p.match.status),
            candidates=[MatchCandidate.from_upstream(c) for c in p.match.candidates],
            confirmed_by=p.match.confirmed_by,
            confirmed_at=p.match.confirmed_at,
            reason=p.match.reason,
        )
        for p in people
        if p.match is not None
    ]


@strawberry.type(description="A referred person awaiting triage's answer to who they are.")
class IdentityReview:
    referral_id: strawberry.ID = strawberry.field(description="The referral naming the person.")
    ref: str = strawberry.field(description="Which person of the referral.")
    role: str = strawberry.field(description="Their role in the referral (pupil, parent, ...).")
    hub: str | None = strawberry.field(description="The referral's hub.")
    received_at: datetime = strawberry.field(description="When the referral arrived.")
    given_name: str = strawberry.field(description="Given name as referred.")
    family_name: str = strawberry.field(description="Family name as referred.")
    date_of_birth: date = strawberry.field(description="Date of birth as referred.")
    postcode: str | None = strawberry.field(description="Postcode as referred.")
    nhs_number: str | None = strawberry.field(description="NHS number as referred.")
    upn: str | None = strawberry.field(description="Unique pupil number as referred.")
    conflict: bool = strawberry.field(description="An identifier agrees while the date of birth and name disagree.")
    candidates: list[MatchCandidate] = strawberry.field(description="Ranked, explained candidates.")

    @classmethod
    def from_upstream(cls, data: up.ReviewItem) -> IdentityReview:
        return cls(
            referral_id=strawberry.ID(data.referral_id),
            ref=data.ref,
            role=data.role,
            hub=data.hub,
            received_at=data.received_at,
            given_name=data.given_name,
            family_name=data.family_name,
            date_of_birth=data.date_of_birth,
            postcode=data.postcode,
            nhs_number=data.nhs_number,
            upn=data.upn,
            conflict=data.conflict,
            candidates=[MatchCandidate.from_upstream(c) for c in data.candidates],
        )


@strawberry.type(description="A duplicate family merged into a surviving one, and whether it was undone.")
class FamilyMerge:
    id: strawberry.ID = strawberry.field(description="The merge's id (to undo it).")
    survivor_id: strawberry.ID = strawberry.field(description="The family that remains.")
    merged_id: strawberry.ID = strawberry.field(description="The duplicate family merged into it.")
    reason: str = strawberry.field(description="Why the families were merged.")
    merged_by: str = strawberry.field(description="Who merged them (token subject).")
    merged_at: datetime = strawberry.field(description="When.")
    moved: JSONScalar = strawberry.field(description="Every row the merge changed (members, cases, ...).")
    undone_at: datetime | None = strawberry.field(description="When the merge was undone, if it was.")
    undone_by: str | None = strawberry.field(description="Who undid it.")
    undo_reason: str | None = strawberry.field(description="Why it was undone.")

    @classmethod
    def from_upstream(cls, data: cu.FamilyMergeRead) -> FamilyMerge:
        return cls(
            id=strawberry.ID(data.id),
            survivor_id=strawberry.ID(data.survivor_id),
            merged_id=strawberry.ID(data.merged_id),
            reason=data.reason,
            merged_by=data.merged_by,
            merged_at=data.merged_at,
            moved=cast(JSONScalar, data.moved),
            undone_at=data.undone_at,
            undone_by=data.undone_by,
            undo_reason=data.undo_reason,
        )

    @resolver(description="The surviving family.", graphql_type="Family | None")
    def survivor(self, info: Info) -> Resolved[Family | None]:
        return family_of(info, str(self.survivor_id))
