"""Enums for the closed lists of docs/contracts.md; values are the services' wire values."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="A person's role in a family.")
class MemberRole(Enum):
    PARENT_CARER = "parent_carer"
    CHILD = "child"
    YOUNG_PERSON = "young_person"
    OTHER_ADULT = "other_adult"
    UNBORN = "unborn"


@strawberry.enum(description="Which partner form a referral came in on.")
class ReferralKind(Enum):
    MATERNITY = "maternity"
    SCHOOL = "school"
    PARTNER = "partner"
    OPERATION_ENCOMPASS = "operation_encompass"
    INTELLIGENCE = "intelligence"


@strawberry.enum(description="The role of a person named in a partner referral.")
class PartnerPersonRole(Enum):
    PARENT_CARER = "parent_carer"
    CHILD = "child"
    YOUNG_PERSON = "young_person"
    OTHER_ADULT = "other_adult"


@strawberry.enum(description="Where a referral is in its lifecycle.")
class ReferralStatus(Enum):
    RECEIVED = "received"
    SCREENING = "screening"
    ACCEPTED = "accepted"
    SIGNPOSTED = "signposted"
    NO_FURTHER_ACTION = "no_further_action"
    STEPPED_UP = "stepped_up"
    WITHDRAWN = "withdrawn"


@strawberry.enum(description="The outcome a hub manager gives a referral.")
class DecisionOutcome(Enum):
    ACCEPTED = "accepted"
    SIGNPOSTED = "signposted"
    NO_FURTHER_ACTION = "no_further_action"
    STEPPED_UP = "stepped_up"


@strawberry.enum(description="How a case ended.")
class ClosureOutcome(Enum):
    NEEDS_MET = "needs_met"
    STEPPED_UP = "stepped_up"
    STEPPED_DOWN = "stepped_down"
    MOVED_AWAY = "moved_away"
    DISENGAGED = "disengaged"
    OTHER = "other"


@strawberry.enum(description="A stage of a case's lifecycle.")
class CaseStatus(Enum):
    OPEN = "open"
    ASSESSMENT = "assessment"
    PLAN = "plan"
    REVIEW = "review"
    CLOSED = "closed"


@strawberry.enum(description="The roles a token can carry.")
class Role(Enum):
    PARTNER_SYSTEM = "partner_system"
    PRACTITIONER = "practitioner"
    HUB_MANAGER = "hub_manager"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SERVICE = "service"


@strawberry.enum(description="The services behind the gateway.")
class ServiceName(Enum):
    REFERRALS = "referrals"
    CASES = "cases"
    OUTCOMES = "outcomes"
    INTELLIGENCE = "intelligence"


@strawberry.enum(description="How the family's consent was given.")
class ConsentMethod(Enum):
    VERBAL = "verbal"
    WRITTEN = "written"
    ELECTRONIC = "electronic"


@strawberry.enum(description="The lawful basis for sharing a referral's information.")
class LawfulBasis(Enum):
    CONSENT = "consent"
    PUBLIC_TASK = "public_task"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    LEGITIMATE_INTERESTS = "legitimate_interests"


@strawberry.enum(description="A pupil's special educational needs status.")
class SenStatus(Enum):
    NONE = "none"
    SEN_SUPPORT = "sen_support"
    EHCP = "ehcp"


@strawberry.enum(description="Progress of a plan action.")
class ActionStatus(Enum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


@strawberry.enum(description="What kind of contact with the family.")
class ContactKind(Enum):
    VISIT = "visit"
    CALL = "call"
    MEETING = "meeting"
    MESSAGE = "message"
    OTHER = "other"


@strawberry.enum(description="What an observation row records.")
class ObservationKind(Enum):
    ATTENDANCE = "attendance"
    OFFENCE = "offence"
    ASB = "asb"
    DOMESTIC_ABUSE_INCIDENT = "domestic_abuse_incident"
    EMPLOYMENT = "employment"
    HOUSING = "housing"
    NEET = "neet"
    FINANCIAL = "financial"
    PRACTITIONER_ASSESSMENT = "practitioner_assessment"


@strawberry.enum(description="Where matching a referred person against the person index stands.")
class MatchStatus(Enum):
    PENDING = "pending"
    MATCHED = "matched"
    CANDIDATES = "candidates"
    CONFIRMED = "confirmed"
    NEW_PERSON = "new_person"
    NO_MATCH = "no_match"


@strawberry.enum(description="How sure the person index is of a candidate.")
class MatchBand(Enum):
    LINK = "link"
    REVIEW = "review"
    CONFLICT = "conflict"


@strawberry.enum(description="Where an identified family stands.")
class IdentifiedFamilyStatus(Enum):
    IDENTIFIED = "identified"
    STATUTORY = "statutory"
    OPEN_CASE = "open_case"
    REFERRED = "referred"
    NOT_NOW = "not_now"
    DISMISSED = "dismissed"


@strawberry.enum(description="What the cases person index says of an identified family's members.")
class CasesCheck(Enum):
    UNCHECKED = "unchecked"
    OPEN_CASE = "open_case"
    CASE_CLOSED = "case_closed"
    KNOWN_NO_CASE = "known_no_case"
    NOT_KNOWN = "not_known"


@strawberry.enum(description="The human decision on an identified family.")
class IdentifiedFamilyDecision(Enum):
    REFER = "refer"
    NOT_NOW = "not_now"
    DISMISS = "dismiss"
