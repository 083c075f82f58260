"""The object types of the graph, joined across the three services, one module per service's domain.

Each type is built from a service's answer, parsed by the gateway's typed upstream models (`gateway.upstream`),
by `from_upstream`; the ids it needs to reach other services are kept as `strawberry.Private` fields, and every
join goes through the request's DataLoaders (never a direct call), so sibling objects share one batch call.
"""

from __future__ import annotations

from gateway.types.casework import (
    Assessment,
    Case,
    Contact,
    LeadWorkerAssignment,
    Plan,
    PlanAction,
    PlanGoal,
    PlanReview,
    TeamMember,
    Worker,
)
from gateway.types.outcomes import AuditSample, Claim, Framework, FrameworkNeed, NeedProgress, OutcomeRule
from gateway.types.people import Family, FamilyMember, Person, current_case_of
from gateway.types.referrals import Decision, PersonMatch, Referral

__all__ = [
    "Assessment",
    "AuditSample",
    "Case",
    "Claim",
    "Contact",
    "Decision",
    "Family",
    "FamilyMember",
    "Framework",
    "FrameworkNeed",
    "LeadWorkerAssignment",
    "NeedProgress",
    "OutcomeRule",
    "Person",
    "PersonMatch",
    "Plan",
    "PlanAction",
    "PlanGoal",
    "PlanReview",
    "Referral",
    "TeamMember",
    "Worker",
    "current_case_of",
]
