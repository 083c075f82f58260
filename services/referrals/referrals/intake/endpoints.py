"""Thin HTTP handlers of intake: a maternity, school or partner referral from a partner system or practitioner."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Response

from referrals.deps import IdempotencyKeyHeader, IntakeServiceDep, Referrer
from referrals.intake.schemas import MaternityReferralCreate, PartnerReferralCreate, SchoolReferralCreate
from referrals.intake.service import IntakeResult
from referrals.triage.schemas import ReferralRead

router = APIRouter(prefix="/v1", tags=["referrals"])
CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"model": ReferralRead, "description": "Stored (or replayed: header Idempotent-Replayed: true)"},
    400: {"description": "Idempotency-Key missing (partner systems) or malformed"},
    403: {"description": "The agency type of the partner's token may not submit this kind (names those it may)"},
    409: {"description": "The agency already sent this external_reference (names the existing referral)"},
    413: {"description": "Body larger than 1 MiB"},
    422: {"description": "Validation failed, or Idempotency-Key reused with a different body"},
}


def _created(result: IntakeResult) -> Response:
    headers = {"Location": f"/v1/referrals/{result.referral_id}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        orjson.dumps(result.body), status_code=result.status_code, headers=headers, media_type="application/json"
    )


@router.post(
    "/referrals/maternity",
    status_code=201,
    response_model=ReferralRead,
    responses=CREATE_RESPONSES,
    summary="Refer an expectant family (maternity services)",
)
async def create_maternity_referral(
    payload: MaternityReferralCreate,
    intake: IntakeServiceDep,
    principal: Referrer,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    return _created(await intake.receive(principal, payload, idempotency_key))


@router.post(
    "/referrals/school",
    status_code=201,
    response_model=ReferralRead,
    responses=CREATE_RESPONSES,
    summary="Refer a pupil and their family (schools)",
)
async def create_school_referral(
    payload: SchoolReferralCreate,
    intake: IntakeServiceDep,
    principal: Referrer,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    return _created(await intake.receive(principal, payload, idempotency_key))


@router.post(
    "/referrals/partner",
    status_code=201,
    response_model=ReferralRead,
    responses=CREATE_RESPONSES,
    summary="Refer a family (police, health visitor or GP, housing, probation, voluntary sector)",
    description="Kind `partner`; with `operation_encompass`, kind `operation_encompass`: a police notification that "
    "a child was involved in a domestic abuse incident (police only). Which agency types may submit which kinds: "
    "docs/guides/partner-integration.md.",
)
async def create_partner_referral(
    payload: PartnerReferralCreate,
    intake: IntakeServiceDep,
    principal: Referrer,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    return _created(await intake.receive(principal, payload, idempotency_key))
