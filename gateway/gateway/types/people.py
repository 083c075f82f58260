"""People and families (the cases service), joined to cases, referrals, progress and claims."""

from __future__ import annotations

from datetime import date

import strawberry

from gateway.context import Info
from gateway.loaders import loaded
from gateway.types.common import Resolved, parse_enum, resolver
from gateway.types.enums import CaseStatus, MemberRole
from gateway.types.node import Node
from gateway.upstream import cases as up
from gateway.upstream.outcomes import ClaimRead, FamilyProgress
from gateway.upstream.referrals import ReferralRead


@strawberry.type(description="A person in the master person index of the cases service.")
class Person(Node):
    id: strawberry.ID = strawberry.field(description="The person's id.")
    given_name: str | None = strawberry.field(description="Given name, exactly as recorded.")
    family_name: str | None = strawberry.field(description="Family name, exactly as recorded.")
    date_of_birth: date | None = strawberry.field(description="Date of birth.")
    nhs_number: str | None = strawberry.field(description="NHS number, when known.")
    upn: str | None = strawberry.field(description="Unique pupil number, when known.")
    postcode: str | None = strawberry.field(description="Postcode of the person's address.")

    @classmethod
    def from_upstream(cls, data: up.PersonRead) -> Person:
        return cls(
            id=strawberry.ID(data.id),
            given_name=data.given_name,
            family_name=data.family_name,
            date_of_birth=data.date_of_birth,
            nhs_number=data.nhs_number,
            upn=data.upn,
            postcode=data.postcode,
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
        found = await loader.load_many([f.id for f in families])
        return [Referral.from_upstream(r) for group in found for r in group]


def maybe_person(found: up.PersonRead | None) -> Person | None:
    return Person.from_upstream(found) if found else None


@strawberry.type(description="A person's membership of a family over time.")
class FamilyMember:
    person: Person | None = strawberry.field(description="The member (none yet for an unborn baby).")
    role: MemberRole | None = strawberry.field(description="The member's role in the family.")
    joined_on: date | None = strawberry.field(description="When the person joined the household.")
    left_on: date | None = strawberry.field(description="When the person left, if they have.")
    expected_on: date | None = strawberry.field(description="Expected date of birth of an unborn member.")

    @classmethod
    def from_upstream(cls, data: up.MemberRead) -> FamilyMember:
        return cls(
            person=maybe_person(data.person),
            expected_on=data.expected_on,
            role=parse_enum(MemberRole, data.role),
            joined_on=data.joined_on,
            left_on=data.left_on,
        )


@strawberry.type(description="A household worked with as one family: one family, one plan, one worker.")
class Family(Node):
    id: strawberry.ID = strawberry.field(description="The family's id.")
    hub: str | None = strawberry.field(description="The Early Help Hub the family belongs to.")
    postcode: str | None = strawberry.field(description="The family's postcode.")
    members: list[FamilyMember] = strawberry.field(description="Everyone who is or was in the household.")

    @classmethod
    def from_upstream(cls, data: up.FamilyRead) -> Family:
        return cls(
            id=strawberry.ID(data.id),
            hub=data.hub,
            postcode=data.postcode,
            members=[FamilyMember.from_upstream(m) for m in data.members],
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
        return loaded(info.context.data_loaders.progress_by_family, str(self.id), progress_of)

    @resolver(
        description="Whether a claim can be made for this family now: every identified need met (and sustained "
        "where the framework asks), or the framework's employment route met. Null when the outcomes service has "
        "not enrolled the family.",
        graphql_type="bool | None",
    )
    def claimable(self, info: Info) -> Resolved[bool | None]:
        return loaded(info.context.data_loaders.progress_by_family, str(self.id), claimable_of)

    @resolver(
        description="Where the family's framework allows it: whether an adult has moved into continuous "
        "employment, which makes the family claimable whatever its needs' results (from the outcomes service).",
        graphql_type="NeedProgress | None",
    )
    def employment_route(self, info: Info) -> Resolved[NeedProgress | None]:
        return loaded(info.context.data_loaders.progress_by_family, str(self.id), employment_route_of)

    @resolver(
        description="Payment-by-results claims for this family (from the outcomes service).",
        graphql_type="list[Claim] | None",
    )
    def claims(self, info: Info) -> Resolved[list[Claim] | None]:
        return loaded(info.context.data_loaders.claims_by_family, str(self.id), _claims)

    @resolver(description="The family's merge history, newest first (hub managers).")
    async def merges(self, info: Info) -> list[FamilyMerge]:
        return [FamilyMerge.from_upstream(m) for m in await info.context.services.cases.family_merges(str(self.id))]


def family_of(info: Info, family_id: str | None) -> Resolved[Family | None]:
    """The family with this id, through the request's loader (null for none, or one the caller may not see)."""
    if not family_id:
        return None
    return loaded(info.context.data_loaders.family, family_id, maybe_family)


def maybe_family(found: up.FamilyRead | None) -> Family | None:
    return Family.from_upstream(found) if found else None


def _families(found: list[up.FamilyRead]) -> list[Family]:
    return [Family.from_upstream(f) for f in found]


def current_case_of(cases: list[up.CaseRead]) -> up.CaseRead | None:
    """The open case among a family's cases (at most one is open)."""
    return next((c for c in cases if c.status != CaseStatus.CLOSED.value), None)


def _current_case(cases: list[up.CaseRead]) -> Case | None:
    current = current_case_of(cases)
    return Case.from_upstream(current) if current else None


def _cases(found: list[up.CaseRead]) -> list[Case]:
    return [Case.from_upstream(c) for c in found]


def _referrals(found: list[ReferralRead]) -> list[Referral]:
    return [Referral.from_upstream(r) for r in found]


def progress_of(found: FamilyProgress | None) -> list[NeedProgress]:
    return [NeedProgress.from_upstream(p) for p in found.needs] if found else []


def claimable_of(found: FamilyProgress | None) -> bool | None:
    return found.claimable if found else None


def employment_route_of(found: FamilyProgress | None) -> NeedProgress | None:
    route = found.employment_route if found else None
    return NeedProgress.from_upstream(route) if route else None


def _claims(found: list[ClaimRead]) -> list[Claim]:
    return [Claim.from_upstream(c) for c in found]


# The graph's types refer to each other; strawberry resolves the names in this module's namespace when the
# schema is built, after every module below has been imported.
from gateway.types.casework import Case  # noqa: E402
from gateway.types.identity import FamilyMerge  # noqa: E402
from gateway.types.outcomes import Claim, NeedProgress  # noqa: E402
from gateway.types.referrals import Referral  # noqa: E402
