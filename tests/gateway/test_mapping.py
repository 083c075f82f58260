"""Unit tests of how the gateway maps GraphQL inputs to the services' bodies and their answers back."""

from __future__ import annotations

from datetime import date

import strawberry

from gateway.errors import UpstreamError
from gateway.loaders import ProgressByFamilyDataLoader
from gateway.types.common import UserErrorCode, to_rest, user_errors_from
from gateway.types.enums import ActionStatus, ObservationKind
from gateway.types.graph import Claim, Referral, _claimable, _employment_route, _progress
from gateway.types.inputs import ActionInput, AssessedNeedInput, AssessmentInput, ObservationInput, PlanInput

WORKER = "7b0c4a52-4a57-4d1c-9d8e-6a2f5d1e9b11"


def test_assessment_input_is_the_cases_body() -> None:
    body = to_rest(
        AssessmentInput(
            needs=[AssessedNeedInput(code="education", evidence="78% this term")],
            child_voice="Wants to see friends",
        )
    )
    assert body == {
        "needs": [{"code": "education", "descriptors": [], "evidence": "78% this term"}],
        "child_voice": "Wants to see friends",
    }  # unset optional fields are left out, so the service's defaults apply


def test_plan_input_keeps_owners_and_statuses() -> None:
    body = to_rest(
        PlanInput(
            goals=[],
            actions=[
                ActionInput(
                    need="health",
                    description="GP appointment",
                    owner_worker_id=strawberry.ID(WORKER),
                    due_on=date(2026, 12, 1),
                    status=ActionStatus.IN_PROGRESS,
                )
            ],
        )
    )
    assert body["actions"] == [
        {
            "need": "health",
            "description": "GP appointment",
            "owner_worker_id": WORKER,
            "due_on": "2026-12-01",
            "status": "in_progress",
        }
    ]
    assert body["team"] == [] and body["review_dates"] == [] and "next_review_due" not in body


def test_observation_row_sends_only_the_fields_of_its_kind() -> None:
    row = ObservationInput(
        kind=ObservationKind.PRACTITIONER_ASSESSMENT,
        family_id=strawberry.ID(WORKER),
        need="health",
        met=True,
        evidence="GP letter",
        assessed_on=date(2026, 11, 1),
    )
    assert to_rest(row) == {
        "kind": "practitioner_assessment",
        "family_id": WORKER,
        "need": "health",
        "met": True,
        "evidence": "GP letter",
        "assessed_on": "2026-11-01",
    }


def test_a_refused_claim_names_every_unmet_need() -> None:
    error = UpstreamError(
        "outcomes",
        409,
        "Family is not claimable yet",
        field_errors=[
            {"field": "/needs/education", "message": "missing data"},
            {"field": "/needs/crime", "message": "met but not yet sustained"},
        ],
    )
    errors = user_errors_from(error)
    assert [(e.field, e.code) for e in errors] == [
        ("/needs/education", UserErrorCode.CONFLICT),
        ("/needs/crime", UserErrorCode.CONFLICT),
    ]
    stale = user_errors_from(UpstreamError("cases", 412, "stale", field_errors=[{"field": "", "message": "x"}]))
    assert [(e.field, e.code) for e in stale] == [("version", UserErrorCode.STALE_VERSION)]


def test_referral_matches_and_ids_come_from_the_referrals_answer() -> None:
    referral = Referral.from_json(
        {
            "id": "r1",
            "matching": "completed",
            "family_id": "f1",
            "case_id": None,
            "people": [
                {"ref": "pupil", "match": {"status": "matched", "matched_person_id": "p1", "candidates": []}},
                {
                    "ref": "parent_1",
                    "match": {
                        "status": "candidates",
                        "matched_person_id": None,
                        "candidates": [{"person": {"id": "p2"}, "score": 0.82, "reasons": ["surname similar"]}],
                    },
                },
            ],
        }
    )
    assert referral.matching_status == "completed"
    assert referral.family_id_value == "f1" and referral.case_id_value is None
    assert [(m.ref, m.person_id, m.score) for m in referral.matches] == [("pupil", "p1", 1.0), ("parent_1", "p2", 0.82)]


def test_claim_reads_the_audit_fields_of_the_outcomes_answer() -> None:
    claim = Claim.from_json(
        {
            "id": "c1",
            "family_id": "f1",
            "status": "rejected",
            "programme_phase": "2022-2025",
            "evidence_sha256": "ab" * 32,
            "sample_id": "s1",
            "decided_by": "auditor@LCC",
            "decision_reason": "Evidence letter undated",
            "practitioner_assessed": True,
        }
    )
    assert (claim.sampled_for_audit, claim.audit_reason, claim.decided_by) == (
        True,
        "Evidence letter undated",
        "auditor@LCC",
    )
    assert claim.phase == "2022-2025" and claim.evidence_hash == "ab" * 32 and claim.practitioner_assessed is True


async def test_progress_maps_needs_claimability_and_the_employment_route() -> None:
    """The outcomes service's `/v1/progress` items (one per family) become a family's `progress`, `claimable` and
    `employmentRoute`; a family the service has not enrolled gets no needs and nulls."""
    route = {"need": "route:continuous_employment", "met": True, "sustained": None, "reason": "continuous since …"}
    answer: list[dict[str, object]] = [
        {
            "family_id": "f1",
            "needs": [{"need": "education", "met": False, "sustained": None, "reason": "missing data"}],
            "employment_route": route,
            "claimable": True,
        },
        {"family_id": "f2", "needs": [], "employment_route": None, "claimable": False},
    ]

    class Outcomes:
        async def progress_by_family_ids(self, family_ids: list[str]) -> list[dict[str, object]]:
            assert family_ids == ["f1", "f2", "f3"]
            return answer

    loaded = await ProgressByFamilyDataLoader(Outcomes())._load(["f1", "f2", "f3"])  # type: ignore[arg-type]
    one, two, unknown = loaded
    assert [(p.need, p.met, p.reasons) for p in _progress(one)] == [("education", False, ["missing data"])]
    assert _claimable(one) is True
    employment = _employment_route(one)
    assert employment is not None and (employment.need, employment.met) == ("route:continuous_employment", True)
    assert (_progress(two), _claimable(two), _employment_route(two)) == ([], False, None)
    assert (_progress(unknown), _claimable(unknown), _employment_route(unknown)) == ([], None, None)
