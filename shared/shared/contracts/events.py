"""The payload of every event the services exchange (the `data` of the CloudEvent), one model per event type.

A producer builds the model and publishes `payload.data()`; a consumer parses `event.data` with
`parse_event(event.type, event.data)` or the model's own `model_validate`. `EVENT_TYPES` maps each type name to
its model, and `docs/contracts.md` is checked against it (`tests/shared/test_contracts.py`). Readers are
tolerant (fields they do not know are ignored), producers exact: the test compares every producer's output
with the model field by field.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.identifiers import UPN, NHSNumber, Postcode

SOURCE_PREFIX = "urn:earlyhelp:"
SERVICES = ("referrals", "cases", "outcomes", "intelligence", "gateway")

ReferralKind = Literal["maternity", "school", "intelligence", "partner", "operation_encompass"]
ReferralStatus = Literal[
    "received", "screening", "accepted", "signposted", "no_further_action", "stepped_up", "withdrawn"
]
DecisionOutcome = Literal["accepted", "signposted", "no_further_action", "stepped_up"]
MemberRole = Literal["parent_carer", "child", "young_person", "other_adult", "unborn"]
ClosureOutcome = Literal["needs_met", "stepped_up", "stepped_down", "moved_away", "disengaged", "other"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def source_of(service: str) -> str:
    """The CloudEvent `source` of a service's events: `urn:earlyhelp:<service>`."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    return SOURCE_PREFIX + service


class EventPayload(BaseModel):
    """The base of every payload: its event type name, and the JSON-ready `data` to publish."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    event_type: ClassVar[str]
    producer: ClassVar[str]
    consumers: ClassVar[tuple[str, ...]] = ()

    def data(self) -> dict[str, Any]:
        """The payload as `publish(data=…)` takes it (UUIDs, dates and times become JSON on the way out)."""
        return self.model_dump()


# --- referrals ---------------------------------------------------------------------------------------------


class ReferralReceived(EventPayload):
    """A partner's referral was stored (after validation and hub allocation)."""

    event_type: ClassVar[str] = "referral.received"
    producer: ClassVar[str] = "referrals"

    referral_id: uuid.UUID
    kind: ReferralKind
    agency: str
    agency_type: str | None
    hub: str
    hub_defaulted: bool = Field(description="True when no postcode placed the family and the default hub took it.")
    safeguarding_concern: bool
    needs: list[str] = Field(description="Need codes of the active framework, as the referrer saw them.")
    received_at: datetime
    decision_due_at: datetime


_OUTCOME_DEPRECATED = "the same value as `decision`, under its old name; `outcome` goes in the next release."


def _decision_or_outcome(data: Any) -> Any:
    """Readers take either name (an event from a producer of before `decision` has only `outcome`)."""
    if isinstance(data, dict):
        if "decision" not in data and "outcome" in data:
            return {**data, "decision": data["outcome"]}
        if "outcome" not in data and "decision" in data:
            return {**data, "outcome": data["decision"]}
    return data


class Decision(BaseModel):
    """A hub manager's decision on a referral."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    decision: DecisionOutcome = Field(description="What was decided.")
    outcome: DecisionOutcome = Field(description="Deprecated: " + _OUTCOME_DEPRECATED, deprecated="Use `decision`")
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None

    _either_name = model_validator(mode="before")(_decision_or_outcome)


class ReferralDecided(EventPayload):
    """A hub manager decided a referral (any outcome)."""

    event_type: ClassVar[str] = "referral.decided"
    producer: ClassVar[str] = "referrals"

    referral_id: uuid.UUID
    kind: ReferralKind
    agency: str
    hub: str
    safeguarding_concern: bool
    received_at: datetime
    decision_due_at: datetime
    decision: DecisionOutcome = Field(description="What was decided.")
    outcome: DecisionOutcome = Field(description="Deprecated: " + _OUTCOME_DEPRECATED, deprecated="Use `decision`")
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None

    _either_name = model_validator(mode="before")(_decision_or_outcome)


class ReferralStatusChanged(EventPayload):
    """Any change of a referral's status; delivered to the referring partner's webhooks (audience = its agency)."""

    event_type: ClassVar[str] = "referral.status_changed"
    producer: ClassVar[str] = "referrals"
    consumers: ClassVar[tuple[str, ...]] = ("partner webhooks",)

    referral_id: uuid.UUID
    external_reference: str | None
    status: ReferralStatus
    previous_status: ReferralStatus | None
    decision: Decision | None
    family_id: uuid.UUID | None
    case_id: uuid.UUID | None
    changed_at: datetime


class ReferralPerson(BaseModel):
    """One person named in an accepted referral, with the person index match found at intake."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ref: str | None = Field(default=None, description="Which person of the referral: pupil, parent_1, child_1, …")
    role: MemberRole
    given_name: Name
    family_name: Name
    date_of_birth: date | None = None
    nhs_number: NHSNumber | None = None
    upn: UPN | None = None
    postcode: Postcode | None = None
    address: str | None = None
    matched_person_id: uuid.UUID | None = None
    identity: Literal["matched", "confirmed", "new"] | None = Field(
        default=None,
        description="How the identity was settled: linked automatically, confirmed at triage, or a new person "
        "declared at triage (null: no candidate was found)",
    )


class ReferralAccepted(EventPayload):
    """Everything cases needs to open a case for the family or join its open one."""

    event_type: ClassVar[str] = "referral.accepted"
    producer: ClassVar[str] = "referrals"
    consumers: ClassVar[tuple[str, ...]] = ("cases",)

    referral_id: uuid.UUID
    kind: ReferralKind
    agency: str | None = None
    agency_type: str | None = None
    hub: str
    received_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    needs: list[str] = Field(default_factory=list)
    reason: str | None = None
    safeguarding_concern: bool = False
    consent: dict[str, Any] | None = Field(default=None, description="given, given_by, recorded_at, method.")
    postcode: Postcode | None = None
    address: str | None = None
    expected_delivery_date: date | None = Field(
        default=None, description="A maternity referral's expected baby: cases records it as an unborn member."
    )
    people: list[ReferralPerson] = Field(min_length=1)


class ReferralWithdrawn(EventPayload):
    """The referring agency withdrew a referral before it was decided."""

    event_type: ClassVar[str] = "referral.withdrawn"
    producer: ClassVar[str] = "referrals"

    referral_id: uuid.UUID
    agency: str
    hub: str
    withdrawn_at: datetime
    reason: str


# --- cases -------------------------------------------------------------------------------------------------


class CaseOpened(EventPayload):
    """A case was opened for a family (from an accepted referral, or directly by a hub manager)."""

    event_type: ClassVar[str] = "case.opened"
    producer: ClassVar[str] = "cases"
    consumers: ClassVar[tuple[str, ...]] = ("referrals",)

    case_id: uuid.UUID
    family_id: uuid.UUID
    hub: str
    referral_id: uuid.UUID | None = Field(description="The referral that opened it; null for a direct opening.")
    opened_at: datetime


class CaseJoined(CaseOpened):
    """An accepted referral joined the family's already open case (same fields as `case.opened`)."""

    event_type: ClassVar[str] = "case.joined"


class LeadWorkerAssigned(EventPayload):
    """A case's lead worker was assigned or changed (history is kept)."""

    event_type: ClassVar[str] = "case.lead_worker_assigned"
    producer: ClassVar[str] = "cases"

    case_id: uuid.UUID
    family_id: uuid.UUID
    hub: str
    worker_id: uuid.UUID
    previous_worker_id: uuid.UUID | None
    reason: str | None
    cap_overridden: bool = Field(description="True when a hub manager assigned past the worker's caseload cap.")
    assigned_at: datetime


class AssessedPerson(BaseModel):
    """A current member of the assessed family, as outcomes needs them to match observations."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    person_id: uuid.UUID
    role: MemberRole
    date_of_birth: date | None = None
    nhs_number: NHSNumber | None = None
    upn: UPN | None = None


class AssessmentCompleted(EventPayload):
    """A whole-family assessment was recorded against a framework; outcomes enrols the family."""

    event_type: ClassVar[str] = "case.assessment_completed"
    producer: ClassVar[str] = "cases"
    consumers: ClassVar[tuple[str, ...]] = ("outcomes",)

    case_id: uuid.UUID
    family_id: uuid.UUID
    hub: str
    framework: str
    framework_version: str
    needs: list[str] = Field(description="The identified needs' codes.")
    assessed_on: date = Field(description="The baseline date of the family's outcomes.")
    eligible: bool
    people: list[AssessedPerson]
    expectant: bool = Field(
        default=False,
        description="The family includes an expectant parent (an `unborn` member, who has no person record).",
    )


class PlanUpdated(EventPayload):
    """A new version of a case's plan."""

    event_type: ClassVar[str] = "plan.updated"
    producer: ClassVar[str] = "cases"

    case_id: uuid.UUID
    family_id: uuid.UUID
    plan_id: uuid.UUID
    version: int
    next_review_due: date | None
    needs: list[str]


class CaseClosed(EventPayload):
    """A case was closed; outcomes starts the sustainment clock of the family's enrolment."""

    event_type: ClassVar[str] = "case.closed"
    producer: ClassVar[str] = "cases"
    consumers: ClassVar[tuple[str, ...]] = ("outcomes",)

    case_id: uuid.UUID
    family_id: uuid.UUID
    closed_on: date
    outcome: ClosureOutcome


class FamilyMembershipChanged(EventPayload):
    """People joined or left a family (counts only: no personal data)."""

    event_type: ClassVar[str] = "family.membership_changed"
    producer: ClassVar[str] = "cases"

    family_id: uuid.UUID
    joined: int = Field(ge=0)
    left: int = Field(ge=0)


# --- intelligence ------------------------------------------------------------------------------------------


class NeedEvidence(BaseModel):
    """One partner record showing a need of an identified family."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    need: str = Field(description="The need code of the active framework.")
    dataset: str = Field(description="school_census, police_incident, housing, worklessness, health, neet, …")
    source_agency: str
    record_id: str
    date: date | None
    shows: str = Field(description="What the record shows, in words (e.g. `attendance 84.5% to 2026-07-22`).")


class IdentifiedPerson(BaseModel):
    """A member of an identified family, as the linked partner records name them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    role: MemberRole
    given_name: Name
    family_name: Name
    date_of_birth: date
    nhs_number: NHSNumber | None = None
    upn: UPN | None = None
    postcode: Postcode | None = None
    address: str | None = None
    reason: str = Field(description="Why the person is in the household (shared UPRN, address, incident).")


class FamilyReferred(EventPayload):
    """A hub manager decided to refer a family that partner data identified; referrals receives it as a
    referral of kind `intelligence`, which goes through ordinary triage."""

    event_type: ClassVar[str] = "intelligence.family_referred"
    producer: ClassVar[str] = "intelligence"
    consumers: ClassVar[tuple[str, ...]] = ("referrals",)

    identified_family_id: uuid.UUID
    hub: str
    hub_defaulted: bool
    framework: str = Field(description="`code@version` of the framework the needs were computed against.")
    needs: list[str] = Field(description="Need codes of the active framework.")
    evidence: list[NeedEvidence]
    postcode: Postcode | None = None
    address: str | None = None
    people: list[IdentifiedPerson] = Field(min_length=1)
    reason: str | None = Field(description="The hub manager's note on the decision.")
    decided_by: str
    decided_at: datetime
    lawful_basis: str = Field(description="UK GDPR Article 6 basis of the data-led referral, e.g. 6(1)(e).")


# --- data protection (retention, legal holds, erasure, rectification, consent) ------------------------------


class LegalHoldPlaced(EventPayload):
    """A hub manager or admin put a family on legal hold: every service's retention run keeps its records. The
    reason stays in cases (it may name people)."""

    event_type: ClassVar[str] = "family.legal_hold_placed"
    producer: ClassVar[str] = "cases"
    consumers: ClassVar[tuple[str, ...]] = ("referrals", "outcomes")

    hold_id: uuid.UUID
    family_id: uuid.UUID
    placed_at: datetime


class LegalHoldReleased(EventPayload):
    """A family's legal hold was released; the retention schedule applies to it again."""

    event_type: ClassVar[str] = "family.legal_hold_released"
    producer: ClassVar[str] = "cases"
    consumers: ClassVar[tuple[str, ...]] = ("referrals", "outcomes")

    hold_id: uuid.UUID
    family_id: uuid.UUID
    released_at: datetime


class PersonErased(EventPayload):
    """A person was erased on request (UK GDPR Art. 17): each service erases what it holds about them (by person
    id; referrals by the person index's match) and keeps their family's other members."""

    event_type: ClassVar[str] = "person.erased"
    producer: ClassVar[str] = "cases"
    consumers: ClassVar[tuple[str, ...]] = ("referrals", "outcomes")

    person_id: uuid.UUID
    erasure_id: uuid.UUID
    erased_at: datetime
    identifier_hashes: list[str] = Field(
        default_factory=list,
        description="sha256 hex of `nhs:<NHS number>` and `upn:<UPN>` as the person had them, so that copies never "
        "linked to the person index are found too (`shared.retention.identifier_hashes`)",
    )


class PersonRectified(EventPayload):
    """A person's details were corrected (UK GDPR Art. 16): the corrected values, for the services' copies. Only
    the fields that changed are present in `changes`."""

    event_type: ClassVar[str] = "person.rectified"
    producer: ClassVar[str] = "cases"
    consumers: ClassVar[tuple[str, ...]] = ("referrals", "outcomes")

    person_id: uuid.UUID
    rectification_id: uuid.UUID
    changes: dict[str, str | None]
    rectified_at: datetime
    identifier_hashes: list[str] = Field(
        default_factory=list, description="as in `person.erased`, of the identifiers before the correction"
    )


class ReferralConsentWithdrawn(EventPayload):
    """The family withdrew its consent to a referral: referrals sends its partner no further status webhooks, and
    cases flags the case."""

    event_type: ClassVar[str] = "referral.consent_withdrawn"
    producer: ClassVar[str] = "referrals"
    consumers: ClassVar[tuple[str, ...]] = ("cases",)

    referral_id: uuid.UUID
    family_id: uuid.UUID | None
    case_id: uuid.UUID | None
    withdrawn_at: datetime


EVENT_TYPES: dict[str, type[EventPayload]] = {
    model.event_type: model
    for model in (
        ReferralReceived,
        ReferralDecided,
        ReferralStatusChanged,
        ReferralAccepted,
        ReferralWithdrawn,
        CaseOpened,
        CaseJoined,
        LeadWorkerAssigned,
        AssessmentCompleted,
        PlanUpdated,
        CaseClosed,
        FamilyMembershipChanged,
        FamilyReferred,
        LegalHoldPlaced,
        LegalHoldReleased,
        PersonErased,
        PersonRectified,
        ReferralConsentWithdrawn,
    )
}
"""Every event type name and the model of its payload."""


def parse_event(event_type: str, data: Any) -> EventPayload:
    """The payload of an event of a known type (raises `KeyError` for an unknown type, pydantic's
    `ValidationError` for a payload that does not fit)."""
    return EVENT_TYPES[event_type].model_validate(data)
