"""Data-subject rights and legal holds on the cases service: holds on a family (hub manager of its hub, or admin),
erasure and rectification of a person (admin: the data protection officer's role), and the consent flags of a
case. Every call is audited and announced to the other services."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cases.retention import rights
from shared.auth import Principal, require_roles
from shared.db import SessionDep
from shared.errors import UnprocessableContent
from shared.events import EventHandler
from shared.fields import MANY, Actor, LongText
from shared.identifiers import UPN, NHSNumber, Postcode

router = APIRouter(tags=["data protection"])
ManagerOrAdmin = Annotated[Principal, Depends(require_roles("hub_manager", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class HoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(description="Why the family's records must be kept (e.g. care proceedings, a claim)")


class HoldRelease(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class HoldRead(BaseModel):
    id: uuid.UUID
    family_id: uuid.UUID
    reason: LongText
    placed_by: Actor
    placed_at: datetime
    released_at: datetime | None
    released_by: Actor | None
    release_reason: LongText | None


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(description="The request and why it is granted (UK GDPR Art. 17)")


class PersonChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: date | None = None
    nhs_number: NHSNumber | None = None
    upn: UPN | None = None
    postcode: Postcode | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None


class RectificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changes: PersonChanges
    reason: Reason = Field(description="What was wrong and who asked (UK GDPR Art. 16)")


@router.post(
    "/v1/families/{family_id}/legal-holds",
    status_code=201,
    response_model=HoldRead,
    summary="Put a family on legal hold",
)
async def place_hold(family_id: uuid.UUID, body: HoldCreate, session: SessionDep, caller: ManagerOrAdmin) -> Any:
    """Every service's retention run keeps the family's records while the hold is in force."""
    return await rights.place_hold(session, caller, family_id, body.reason)


@router.get(
    "/v1/families/{family_id}/legal-holds",
    response_model=Annotated[list[HoldRead], Field(max_length=MANY)],
    summary="A family's legal holds",
)
async def list_holds(family_id: uuid.UUID, session: SessionDep, caller: ManagerOrAdmin) -> Any:
    return await rights.list_holds(session, caller, family_id)


@router.post(
    "/v1/families/{family_id}/legal-holds/{hold_id}/release", response_model=HoldRead, summary="Release a legal hold"
)
async def release_hold(
    family_id: uuid.UUID, hold_id: uuid.UUID, body: HoldRelease, session: SessionDep, caller: ManagerOrAdmin
) -> Any:
    return await rights.release_hold(session, caller, family_id, hold_id, body.reason)


@router.post("/v1/people/{person_id}/erasure", summary="Erase a person on request (Art. 17)")
async def erase_person(person_id: uuid.UUID, body: ErasureRequest, session: SessionDep, caller: Admin) -> Any:
    """Anonymises the person here and announces `person.erased`; their family's other members stay intact."""
    return await rights.erase_person(session, caller, person_id, body.reason)


@router.post("/v1/people/{person_id}/rectification", summary="Correct a person's details (Art. 16)")
async def rectify_person(person_id: uuid.UUID, body: RectificationRequest, session: SessionDep, caller: Admin) -> Any:
    changes = body.changes.model_dump(exclude_unset=True)
    if not changes:
        raise UnprocessableContent(
            "Nothing to correct",
            errors=[{"pointer": "#/changes", "detail": "name at least one field", "code": "empty"}],
        )
    return await rights.rectify_person(session, caller, person_id, changes, body.reason)


@router.get("/v1/people/{person_id}/rectifications", summary="The history of a person's corrections")
async def rectifications(person_id: uuid.UUID, session: SessionDep, caller: Admin) -> Any:
    return await rights.rectification_history(session, person_id)


@router.get("/v1/cases/{case_id}/consent-withdrawals", summary="Referrals of the case whose consent was withdrawn")
async def consent_withdrawals(case_id: uuid.UUID, session: SessionDep, caller: ManagerOrAdmin) -> Any:
    return await rights.consent_withdrawals(session, case_id)


RIGHTS_EVENT_HANDLERS: dict[str, EventHandler] = {"referral.consent_withdrawn": rights.on_consent_withdrawn}
