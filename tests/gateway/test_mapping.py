"""Unit tests of how the gateway maps GraphQL inputs to the services' bodies and their answers back."""

from __future__ import annotations

from datetime import date

import pytest
import strawberry
from pydantic import ValidationError

from gateway.errors import UpstreamError
from gateway.loaders import ProgressByFamilyDataLoader
from gateway.types.common import UserErrorCode, to_rest, user_errors_from
from gateway.types.enums import ActionStatus, ObservationKind
from gateway.types.inputs import ActionInput, AssessedNeedInput, AssessmentInput, ObservationInput, PlanInput
from gateway.types.outcomes import Claim
from gateway.types.people import claimable_of, employment_route_of, progress_of
from gateway.types.referrals import Referral
from gateway.upstream.outcomes import ClaimRead, FamilyProgress
from gateway.upstream.referrals import ReferralRead

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
    assert "team" not in body and body["review_dates"] == [] and "next_review_due" not in body


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


def _referral_answer(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "r1",
        "kind": "school",
        "status": "received",
        "agency": "school-1",
        "external_reference": "x-1",
        "hub": "north",
        "safeguarding_concern": False,
        "needs": [],
        "received_at": "2026-09-01T09:00:00Z",
        "decision_due_at": "2026-09-03T17:00:00Z",
        "breached": False,
        "decision": None,
        "matching": "done",
        "family_id": None,
        "case_id": None,
        "people": [],
    }
    return base | fields


def test_referral_matches_and_ids_come_from_the_referrals_answer() -> None:
    answer = _referral_answer(
        matching="done",
        family_id="f1",
        people=[
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
    )
    referral = Referral.from_upstream(ReferralRead.model_validate(answer))
    assert referral.matching_status == "done"
    assert referral.family_id_value == "f1" and referral.case_id_value is None
    assert [(m.ref, m.person_id, m.score) for m in referral.matches] == [("pupil", "p1", 1.0), ("parent_1", "p2", 0.82)]


def test_a_referral_answer_of_another_shape_is_refused_not_guessed() -> None:
    """The gateway reads one shape: a renamed field is a validation error, never a silent null."""
    answer = _referral_answer()
    answer["matching_status"] = answer.pop("matching")
    with pytest.raises(ValidationError):
        ReferralRead.model_validate(answer)


def test_claim_reads_the_audit_fields_of_the_outcomes_answer() -> None:
    claim = Claim.from_upstream(
        ClaimRead.model_validate(
            {
                "id": "c1",
                "family_id": "f1",
                "status": "rejected",
                "programme_phase": "2022-2025",
                "hub": "north",
                "evidence_sha256": "ab" * 32,
                "created_at": "2026-09-01T09:00:00Z",
                "sample_id": "s1",
                "decided_by": "auditor@LCC",
                "decision_reason": "Evidence letter undated",
                "practitioner_assessed": True,
            }
        )
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
    route = {"need": "route:continuous_employment", "met": True, "sustained": None, "reason": "continuous since …",
             "evaluated_at": None}  # fmt: skip
    answer = [
        FamilyProgress.model_validate(
            {
                "family_id": "f1",
                "needs": [
                    {
                        "need": "education",
                        "met": False,
                        "sustained": None,
                        "reason": "missing data",
                        "evaluated_at": None,
                    }
                ],
                "employment_route": route,
                "claimable": True,
            }
        ),
        FamilyProgress.model_validate({"family_id": "f2", "needs": [], "employment_route": None, "claimable": False}),
    ]

    class Outcomes:
        async def progress_by_family_ids(self, family_ids: list[str]) -> list[FamilyProgress]:
            assert family_ids == ["f1", "f2", "f3"]
            return answer

    loaded = await ProgressByFamilyDataLoader(Outcomes())._load(["f1", "f2", "f3"])  # type: ignore[arg-type]
    one, two, unknown = loaded
    assert [(p.need, p.met, p.reasons) for p in progress_of(one)] == [("education", False, ["missing data"])]
    assert claimable_of(one) is True
    employment = employment_route_of(one)
    assert employment is not None and (employment.need, employment.met) == ("route:continuous_employment", True)
    assert (progress_of(two), claimable_of(two), employment_route_of(two)) == ([], False, None)
    assert (progress_of(unknown), claimable_of(unknown), employment_route_of(unknown)) == ([], None, None)
