"""Thin HTTP handlers of triage: the queue and batch lookups, one referral, screening, decision, withdrawal, consent."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from referrals.deps import Decider, Reader, Referrer, TriageServiceDep
from referrals.models import STATUSES
from referrals.triage.repository import ReferralFilters
from referrals.triage.schemas import (
    Consent,
    DecisionCreate,
    IdentityConfirm,
    Kind,
    ReferralPage,
    ReferralRead,
    ReviewItem,
    ReviewPage,
    ScreeningCreate,
    WithdrawalCreate,
    to_read,
)
from shared.errors import UnprocessableContent, field_error
from shared.fields import CODE_LENGTH, CURSOR_LENGTH, IDS_LENGTH
from shared.ids import parse_ids
from shared.pagination import AFTER, BEFORE, FROM_END, Window, aware_datetime, strict_bool

router = APIRouter(prefix="/v1", tags=["referrals"])
QUEUE_CURSOR = (strict_bool, aware_datetime, uuid.UUID)
"""The queue's keyset: safeguarding concern, received at, id (`repository.QUEUE_ORDER`)."""


def _statuses(status: str | None) -> list[str]:
    statuses = [s.strip() for s in status.split(",") if s.strip()] if status else []
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise UnprocessableContent(
            f"Unknown status {', '.join(unknown)}; one of {', '.join(STATUSES)}",
            errors=[field_error("#query/status", "unknown status")],
        )
    return statuses


@router.get("/referrals", response_model=ReferralPage, summary="The triage queue and batch lookups")
async def list_referrals(
    triage: TriageServiceDep,
    principal: Reader,
    status: Annotated[str | None, Query(max_length=IDS_LENGTH, description="Comma-separated statuses")] = None,
    kind: Kind | None = None,
    hub: Annotated[str | None, Query(max_length=CODE_LENGTH)] = None,
    agency: Annotated[str | None, Query(max_length=CODE_LENGTH)] = None,
    received_from: date | None = None,
    received_to: date | None = None,
    breached: bool | None = None,
    safeguarding_concern: bool | None = None,
    matching: Annotated[str | None, Query(max_length=9, pattern="^(pending|completed)$")] = None,
    ids: Annotated[
        str | None, Query(max_length=IDS_LENGTH, description="Comma-separated referral ids (at most 100)")
    ] = None,
    family_ids: Annotated[
        str | None, Query(max_length=IDS_LENGTH, description="Comma-separated family ids (at most 100)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=AFTER)] = None,
    before: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=BEFORE)] = None,
    from_end: Annotated[bool, Query(description=FROM_END)] = False,
) -> ReferralPage:
    filters = ReferralFilters(
        status=_statuses(status),
        kind=kind,
        hub=hub,
        agency=agency,
        received_from=received_from,
        received_to=received_to,
        breached=breached,
        safeguarding_concern=safeguarding_concern,
        matching=matching,
        ids=parse_ids(ids, "ids"),
        family_ids=parse_ids(family_ids, "family_ids"),
    )
    now = datetime.now(UTC)
    window = Window.of(limit=limit, after=cursor, before=before, from_end=from_end, parsers=QUEUE_CURSOR)
    page = await triage.queue(principal, filters, window=window, now=now)
    return ReferralPage(
        items=[to_read(r, now, principal=principal) for r in page.rows],
        **page.links(lambda r: (r.safeguarding_concern, r.received_at, r.id)),
    )


@router.get(
    "/identity-reviews",
    response_model=ReviewPage,
    summary="People in review or conflict awaiting triage's confirmation, oldest first",
)
async def identity_reviews(
    triage: TriageServiceDep,
    principal: Decider,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=AFTER)] = None,
    before: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=BEFORE)] = None,
    from_end: Annotated[bool, Query(description=FROM_END)] = False,
) -> ReviewPage:
    window = Window.of(limit=limit, after=cursor, before=before, from_end=from_end, parsers=(aware_datetime, uuid.UUID))
    page = await triage.review_queue(principal, window=window)
    items = [
        ReviewItem(
            referral_id=r.id,
            ref=p.ref,
            role=p.role,
            hub=r.hub,
            received_at=r.received_at,
            given_name=p.given_name,
            family_name=p.family_name,
            date_of_birth=p.date_of_birth,
            postcode=p.postcode,
            nhs_number=p.nhs_number,
            upn=p.upn,
            conflict=any(c.get("band") == "conflict" for c in p.match_candidates),
            candidates=p.match_candidates,
        )
        for p, r in page.rows
    ]
    return ReviewPage(items=items, **page.links(lambda row: (row[1].received_at, row[0].id)))


@router.get("/referrals/{referral_id}", response_model=ReferralRead, summary="One referral, with its history")
async def get_referral(referral_id: uuid.UUID, triage: TriageServiceDep, principal: Reader) -> ReferralRead:
    referral = await triage.referral(principal, referral_id)
    return to_read(referral, datetime.now(UTC), principal=principal)


@router.post("/referrals/{referral_id}/screening", response_model=ReferralRead, summary="Start screening")
async def start_screening(
    referral_id: uuid.UUID, triage: TriageServiceDep, principal: Decider, body: ScreeningCreate | None = None
) -> ReferralRead:
    referral = await triage.start_screening(principal, referral_id, body.note if body else None)
    return to_read(referral, datetime.now(UTC), principal=principal)


@router.post("/referrals/{referral_id}/decision", response_model=ReferralRead, summary="Decide a referral")
async def decide_referral(
    referral_id: uuid.UUID, body: DecisionCreate, triage: TriageServiceDep, principal: Decider
) -> ReferralRead:
    referral = await triage.decide(principal, referral_id, body)
    return to_read(referral, datetime.now(UTC), principal=principal)


@router.post("/referrals/{referral_id}/withdraw", response_model=ReferralRead, summary="Withdraw before a decision")
async def withdraw_referral(
    referral_id: uuid.UUID, triage: TriageServiceDep, principal: Referrer, body: WithdrawalCreate | None = None
) -> ReferralRead:
    referral = await triage.withdraw(principal, referral_id, body or WithdrawalCreate())
    return to_read(referral, datetime.now(UTC), principal=principal)


@router.put("/referrals/{referral_id}/consent", response_model=ReferralRead, summary="Record the family's consent")
async def record_consent(
    referral_id: uuid.UUID, body: Consent, triage: TriageServiceDep, principal: Decider
) -> ReferralRead:
    referral = await triage.record_consent(principal, referral_id, body.model_dump(mode="json"))
    return to_read(referral, datetime.now(UTC), principal=principal)


@router.put(
    "/referrals/{referral_id}/people/{ref}/identity",
    response_model=ReferralRead,
    summary="Confirm who a referred person is (a match candidate) or declare a new person",
)
async def confirm_identity(
    referral_id: uuid.UUID,
    ref: Annotated[str, Path(max_length=40)],
    body: IdentityConfirm,
    triage: TriageServiceDep,
    principal: Decider,
) -> ReferralRead:
    referral = await triage.confirm_identity(principal, referral_id, ref, body)
    return to_read(referral, datetime.now(UTC), principal=principal)
