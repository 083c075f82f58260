"""Referrals, their decisions and person matches (the referrals service)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.context import Info
from gateway.loaders import loaded
from gateway.types.common import Resolved, parse_enum, resolver
from gateway.types.enums import DecisionOutcome, ReferralKind, ReferralStatus
from gateway.types.node import Node
from gateway.upstream import referrals as up


@strawberry.type(description="A hub manager's decision on a referral.")
class Decision:
    decision: DecisionOutcome | None = strawberry.field(description="What was decided.")
    outcome: DecisionOutcome | None = strawberry.field(
        description="What was decided: the same value as `decision`, under its old name.",
        deprecation_reason="Use `decision` (the word of every decision, read or written); `outcome` goes in the "
        "next release.",
    )
    reason: str | None = strawberry.field(description="Why.")
    decided_by: str | None = strawberry.field(description="Who decided (token subject).")
    decided_at: datetime | None = strawberry.field(description="When.")

    @classmethod
    def from_upstream(cls, data: up.DecisionRead) -> Decision:
        decision = parse_enum(DecisionOutcome, data.decision)
        return cls(
            decision=decision,
            outcome=decision,
            reason=data.reason,
            decided_by=data.decided_by,
            decided_at=data.decided_at,
        )


@strawberry.type(description="A person index match found for one person named in a referral.")
class PersonMatch:
    ref: str | None = strawberry.field(description="Which person of the referral (e.g. pupil, parent_1).")
    person_id: strawberry.Private[str | None]
    score: float | None = strawberry.field(description="Match score 0-1 (1 for an exact identifier match).")
    reasons: list[str] = strawberry.field(description="Why the candidate scored as it did.")

    @resolver(description="The matched person in the index.", graphql_type="Person | None")
    def person(self, info: Info) -> Resolved[Person | None]:
        if not self.person_id:
            return None
        return loaded(info.context.data_loaders.person, self.person_id, maybe_person)


def matches_of(people: list[up.PersonRead]) -> list[PersonMatch]:
    """The referrals service reports matching per person (`people[].match`): an exact link or candidates."""
    out: list[PersonMatch] = []
    for person in people:
        if person.match is None:
            continue
        if person.match.matched_person_id:
            out.append(
                PersonMatch(
                    ref=person.ref,
                    person_id=person.match.matched_person_id,
                    score=1.0,
                    reasons=["exact identifier match"],
                )
            )
        out += [
            PersonMatch(ref=person.ref, person_id=c.person.id, score=c.score, reasons=list(c.reasons))
            for c in person.match.candidates
        ]
    return out


@strawberry.type(description="A referral from a partner agency (maternity, school or another partner) or from data.")
class Referral(Node):
    family_id: strawberry.Private[str | None]
    case_id: strawberry.Private[str | None]
    id: strawberry.ID = strawberry.field(description="The referral's id.")
    kind: ReferralKind | None = strawberry.field(description="The form it came in on: maternity, school, partner, ...")
    status: ReferralStatus | None = strawberry.field(description="Where the referral is in its lifecycle.")
    hub: str | None = strawberry.field(description="The hub it was allocated to by postcode.")
    agency: str | None = strawberry.field(description="The referring agency's code.")
    external_reference: str | None = strawberry.field(description="The partner's own id for the referral.")
    needs: list[str] = strawberry.field(description="Need codes seen by the referrer.")
    safeguarding_concern: bool = strawberry.field(description="Flagged for immediate step-up.")
    received_at: datetime | None = strawberry.field(description="When the referral arrived.")
    decision_due_at: datetime | None = strawberry.field(description="When a decision is due (working days).")
    breached: bool | None = strawberry.field(description="True when the decision is overdue.")
    matching_status: str | None = strawberry.field(
        description="Matching the people against the person index: pending (it runs moments after intake; the "
        "referral cannot be accepted until it is done) or completed."
    )
    decision: Decision | None = strawberry.field(description="The decision, once made.")
    matches: list[PersonMatch] = strawberry.field(description="Person index matches of the referral's people.")
    identities: list[PersonIdentity] = strawberry.field(
        description="Who each person of the referral is: the match status, the ranked candidates with their "
        "per-field explanation, and triage's confirmation (hub managers, admins and services only)."
    )
    family_id_value: strawberry.ID | None = strawberry.field(
        name="familyId", description="The family's id in the cases service, once a case was opened or joined."
    )
    case_id_value: strawberry.ID | None = strawberry.field(
        name="caseId", description="The id of the case the referral opened or joined."
    )

    @classmethod
    def from_upstream(cls, data: up.ReferralRead) -> Referral:
        return cls(
            family_id_value=strawberry.ID(data.family_id) if data.family_id else None,
            case_id_value=strawberry.ID(data.case_id) if data.case_id else None,
            id=strawberry.ID(data.id),
            family_id=data.family_id,
            case_id=data.case_id,
            kind=parse_enum(ReferralKind, data.kind),
            status=parse_enum(ReferralStatus, data.status),
            hub=data.hub,
            agency=data.agency,
            external_reference=data.external_reference,
            needs=list(data.needs),
            safeguarding_concern=data.safeguarding_concern,
            received_at=data.received_at,
            decision_due_at=data.decision_due_at,
            breached=data.breached,
            matching_status=data.matching,
            decision=Decision.from_upstream(data.decision) if data.decision else None,
            matches=matches_of(data.people),
            identities=identities_of(data.people),
        )

    @resolver(
        description="The family the referral became part of, once the cases service took it on.",
        graphql_type="Family | None",
    )
    def family(self, info: Info) -> Resolved[Family | None]:
        return family_of(info, self.family_id)

    @resolver(description="The case the referral opened or joined.", graphql_type="Case | None")
    def case(self, info: Info) -> Resolved[Case | None]:
        if not self.case_id:
            return None
        return loaded(info.context.data_loaders.case, self.case_id, maybe_case)


def maybe_referral(found: up.ReferralRead | None) -> Referral | None:
    return Referral.from_upstream(found) if found else None


from gateway.types.casework import Case, maybe_case  # noqa: E402  (the graph's types refer to each other)
from gateway.types.identity import PersonIdentity, identities_of  # noqa: E402
from gateway.types.people import Family, Person, family_of, maybe_person  # noqa: E402
