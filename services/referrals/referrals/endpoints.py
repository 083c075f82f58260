"""Thin HTTP handlers of the referrals API; the rules live in `service.py`."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response

from referrals import service, webhooks
from referrals.models import STATUSES, platform
from referrals.repository import QueuePosition, ReferralFilters, ReferralRepository
from referrals.schemas import (
    Consent,
    DecisionCreate,
    DeliveryPage,
    DeliveryRead,
    Kind,
    MaternityReferralCreate,
    ReferralPage,
    ReferralRead,
    SchoolReferralCreate,
    ScreeningCreate,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookRead,
    WithdrawalCreate,
)
from shared.audit import record_access
from shared.auth import Principal, require_roles
from shared.db import SessionDep
from shared.errors import UnprocessableContent, field_error

MAX_BATCH = 100

Referrer = Annotated[Principal, Depends(require_roles("partner_system", "practitioner", "admin"))]
Reader = Annotated[
    Principal, Depends(require_roles("partner_system", "practitioner", "hub_manager", "admin", "service"))
]
Decider = Annotated[Principal, Depends(require_roles("hub_manager", "admin"))]
PartnerOrAdmin = Annotated[Principal, Depends(require_roles("partner_system", "admin"))]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required from partner systems: the same key and body replay the first response",
    ),
]


async def get_intake(request: Request) -> service.Intake:
    # async: FastAPI runs a plain `def` dependency in the thread pool, a thread hop on every create
    state = request.app.state
    return service.Intake(settings=state.settings, needs=state.needs, matcher=state.matcher, http=state.http)


IntakeDep = Annotated[service.Intake, Depends(get_intake)]
router = APIRouter(prefix="/v1", tags=["referrals"])
CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"model": ReferralRead, "description": "Stored (or replayed: header Idempotent-Replayed: true)"},
    400: {"description": "Idempotency-Key missing (partner systems) or malformed"},
    409: {"description": "The agency already sent this external_reference (names the existing referral)"},
    413: {"description": "Body larger than 1 MiB"},
    422: {"description": "Validation failed, or Idempotency-Key reused with a different body"},
}


def _created(result: service.IntakeResult) -> Response:
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
    session: SessionDep,
    intake: IntakeDep,
    principal: Referrer,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    result = await service.receive_referral(
        repo=ReferralRepository(session),
        intake=intake,
        principal=principal,
        payload=payload,
        idempotency_key=idempotency_key,
    )
    return _created(result)


@router.post(
    "/referrals/school",
    status_code=201,
    response_model=ReferralRead,
    responses=CREATE_RESPONSES,
    summary="Refer a pupil and their family (schools)",
)
async def create_school_referral(
    payload: SchoolReferralCreate,
    session: SessionDep,
    intake: IntakeDep,
    principal: Referrer,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    result = await service.receive_referral(
        repo=ReferralRepository(session),
        intake=intake,
        principal=principal,
        payload=payload,
        idempotency_key=idempotency_key,
    )
    return _created(result)


def _uuid_list(raw: str | None, name: str) -> list[uuid.UUID]:
    if not raw:
        return []
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if len(parts) > MAX_BATCH:
        raise UnprocessableContent(
            f"At most {MAX_BATCH} {name} per call", errors=[field_error(f"#query/{name}", "too many ids")]
        )
    try:
        return list(dict.fromkeys(uuid.UUID(p) for p in parts))
    except ValueError as exc:
        raise UnprocessableContent(
            f"{name} must be comma-separated UUIDs", errors=[field_error(f"#query/{name}", "not a UUID")]
        ) from exc


def _encode_cursor(position: QueuePosition) -> str:
    raw = orjson.dumps([position.safeguarding_concern, position.received_at.isoformat(), str(position.id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> QueuePosition:
    try:
        flag, at, ident = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return QueuePosition(bool(flag), datetime.fromisoformat(at), uuid.UUID(ident))
    except (ValueError, TypeError) as exc:
        raise UnprocessableContent(
            "The cursor is not one this API issued", errors=[field_error("#query/cursor", "invalid cursor")]
        ) from exc


@router.get("/referrals", response_model=ReferralPage, summary="The triage queue and batch lookups")
async def list_referrals(
    session: SessionDep,
    principal: Reader,
    status: Annotated[str | None, Query(description="Comma-separated statuses")] = None,
    kind: Kind | None = None,
    hub: str | None = None,
    agency: str | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    breached: bool | None = None,
    safeguarding_concern: bool | None = None,
    matching: Annotated[str | None, Query(pattern="^(pending|completed)$")] = None,
    ids: Annotated[str | None, Query(description="Comma-separated referral ids (at most 100)")] = None,
    family_ids: Annotated[str | None, Query(description="Comma-separated family ids (at most 100)")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: str | None = None,
) -> ReferralPage:
    statuses = [s.strip() for s in status.split(",") if s.strip()] if status else []
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise UnprocessableContent(
            f"Unknown status {', '.join(unknown)}; one of {', '.join(STATUSES)}",
            errors=[field_error("#query/status", "unknown status")],
        )
    filters = ReferralFilters(
        status=statuses,
        kind=kind,
        hub=hub,
        agency=agency,
        received_from=received_from,
        received_to=received_to,
        breached=breached,
        safeguarding_concern=safeguarding_concern,
        matching=matching,
        ids=_uuid_list(ids, "ids"),
        family_ids=_uuid_list(family_ids, "family_ids"),
    )
    repo = ReferralRepository(session)
    now = datetime.now(UTC)
    after = _decode_cursor(cursor) if cursor else None
    rows = await repo.search(service.read_scope(principal), filters, limit=limit + 1, after=after, now=now)
    page, more = rows[:limit], len(rows) > limit
    await record_access(
        session,
        platform,
        actor=principal,
        action="read",
        record_type="referral",
        record_ids=[r.id for r in page],
        purpose="list referrals",
    )
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = _encode_cursor(QueuePosition(last.safeguarding_concern, last.received_at, last.id))
    return ReferralPage(items=[service.to_read(r, now, principal=principal) for r in page], next_cursor=next_cursor)


@router.get("/referrals/{referral_id}", response_model=ReferralRead, summary="One referral, with its history")
async def get_referral(referral_id: uuid.UUID, session: SessionDep, principal: Reader) -> ReferralRead:
    referral = await service.get_referral(
        repo=ReferralRepository(session), principal=principal, referral_id=referral_id
    )
    return service.to_read(referral, datetime.now(UTC), principal=principal)


@router.post("/referrals/{referral_id}/screening", response_model=ReferralRead, summary="Start screening")
async def start_screening(
    referral_id: uuid.UUID, session: SessionDep, principal: Decider, body: ScreeningCreate | None = None
) -> ReferralRead:
    referral = await service.start_screening(
        repo=ReferralRepository(session),
        principal=principal,
        referral_id=referral_id,
        note=body.note if body else None,
    )
    return service.to_read(referral, datetime.now(UTC), principal=principal)


@router.post("/referrals/{referral_id}/decision", response_model=ReferralRead, summary="Decide a referral")
async def decide_referral(
    referral_id: uuid.UUID, body: DecisionCreate, session: SessionDep, principal: Decider
) -> ReferralRead:
    referral = await service.decide(
        repo=ReferralRepository(session), principal=principal, referral_id=referral_id, decision=body
    )
    return service.to_read(referral, datetime.now(UTC), principal=principal)


@router.post("/referrals/{referral_id}/withdraw", response_model=ReferralRead, summary="Withdraw before a decision")
async def withdraw_referral(
    referral_id: uuid.UUID, session: SessionDep, principal: Referrer, body: WithdrawalCreate | None = None
) -> ReferralRead:
    referral = await service.withdraw(
        repo=ReferralRepository(session),
        principal=principal,
        referral_id=referral_id,
        withdrawal=body or WithdrawalCreate(),
    )
    return service.to_read(referral, datetime.now(UTC), principal=principal)


@router.put("/referrals/{referral_id}/consent", response_model=ReferralRead, summary="Record the family's consent")
async def record_consent(
    referral_id: uuid.UUID, body: Consent, session: SessionDep, principal: Decider
) -> ReferralRead:
    referral = await service.record_consent(
        repo=ReferralRepository(session),
        principal=principal,
        referral_id=referral_id,
        consent=body.model_dump(mode="json"),
    )
    return service.to_read(referral, datetime.now(UTC), principal=principal)


# --- partner webhooks ---------------------------------------------------------------------------------------

webhook_router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _webhook(row: dict[str, Any]) -> WebhookRead:
    return WebhookRead.model_validate(row, from_attributes=False)


@webhook_router.post("", status_code=201, response_model=WebhookCreated, summary="Subscribe to status changes")
async def create_webhook(
    body: WebhookCreate, request: Request, session: SessionDep, principal: PartnerOrAdmin
) -> WebhookCreated:
    row = await webhooks.create_webhook(
        repo=ReferralRepository(session),
        principal=principal,
        body=body,
        environment=request.app.state.settings.environment,
    )
    return WebhookCreated.model_validate(row)


@webhook_router.get("", response_model=WebhookPage, summary="Your webhooks (secrets are never shown again)")
async def list_webhooks(session: SessionDep, principal: PartnerOrAdmin) -> WebhookPage:
    rows = await webhooks.list_webhooks(repo=ReferralRepository(session), principal=principal)
    return WebhookPage(items=[_webhook(r) for r in rows])


@webhook_router.delete("/{webhook_id}", status_code=204, summary="Unsubscribe")
async def delete_webhook(webhook_id: uuid.UUID, session: SessionDep, principal: PartnerOrAdmin) -> Response:
    await webhooks.delete_webhook(repo=ReferralRepository(session), principal=principal, webhook_id=webhook_id)
    return Response(status_code=204)


@webhook_router.get("/{webhook_id}/deliveries", response_model=DeliveryPage, summary="Deliveries to a webhook")
async def list_deliveries(
    webhook_id: uuid.UUID,
    session: SessionDep,
    principal: PartnerOrAdmin,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
) -> DeliveryPage:
    rows = await webhooks.deliveries(
        repo=ReferralRepository(session),
        principal=principal,
        webhook_id=webhook_id,
        limit=limit + 1,
        before_id=int(cursor) if cursor else None,
    )
    page = rows[:limit]
    next_cursor = str(page[-1]["id"]) if len(rows) > limit and page else None
    return DeliveryPage(items=[DeliveryRead.model_validate(r) for r in page], next_cursor=next_cursor)
