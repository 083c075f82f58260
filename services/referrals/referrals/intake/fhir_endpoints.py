"""FHIR R4 endpoints for maternity systems: `POST /fhir` (transaction), `POST /fhir/$process-message`,
`GET /fhir/ServiceRequest/{id}`, `GET /fhir/Task?focus=ServiceRequest/{id}` and `GET /fhir/metadata`.

Errors are OperationOutcomes. A handler that answers an error rolls the transaction back itself, since it
returns a response rather than raising.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response

from referrals.deps import IdempotencyKeyHeader, IntakeServiceDep, Reader, Referrer, TriageServiceDep
from referrals.intake import fhir
from referrals.intake.service import IntakeResult, IntakeService
from shared.auth import Principal
from shared.db import SessionDep
from shared.errors import ProblemError, UnprocessableContent

FHIR_JSON = "application/fhir+json"
MAX_FHIR_BYTES = 1_048_576


class FhirJSONResponse(Response):
    """Documents (and serves) FHIR's own media type in the OpenAPI."""

    media_type = FHIR_JSON


fhir_router = APIRouter(
    prefix="/fhir",
    tags=["fhir"],
    default_response_class=FhirJSONResponse,
    responses={200: {"description": "A FHIR resource", "content": {FHIR_JSON: {"schema": {"type": "object"}}}}},
)


def _fhir(content: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type=FHIR_JSON, headers=headers)


async def _outcome(session: SessionDep, exc: ProblemError) -> Response:
    await session.rollback()
    return _fhir(fhir.problem_to_outcome(exc), exc.status, exc.headers or None)


async def _read_json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_FHIR_BYTES:
        raise fhir.FhirProblem(
            413, f"A referral Bundle may be at most {MAX_FHIR_BYTES} bytes", [("Bundle", "too large")]
        )
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise fhir.FhirProblem(400, f"The body is not JSON: {exc}", [(None, "not JSON")]) from exc
    if not isinstance(parsed, dict):
        raise fhir.FhirProblem(422, "The body must be a FHIR Bundle", [("Bundle", "not a JSON object")])
    return parsed


async def _receive(
    intake: IntakeService, principal: Principal, mapped: fhir.Mapped, idempotency_key: str | None
) -> IntakeResult:
    payload = fhir.to_referral(mapped)
    key = idempotency_key or (f"fhir:{mapped.bundle_identifier}" if mapped.bundle_identifier else None)
    try:
        return await intake.receive(principal, payload, key)
    except UnprocessableContent as exc:
        raise fhir.remap_field_errors(exc, mapped) from exc


@fhir_router.post("", summary="A transaction Bundle holding one maternity referral")
async def transaction(
    request: Request,
    session: SessionDep,
    intake: IntakeServiceDep,
    principal: Referrer,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Without an Idempotency-Key header, `Bundle.identifier` is the key (partner systems need one of them)."""
    try:
        bundle = fhir.parse_bundle(await _read_json(request), expected_type="transaction")
        mapped = fhir.map_bundle(bundle)
        result = await _receive(intake, principal, mapped, idempotency_key)
    except ProblemError as exc:
        return await _outcome(session, exc)
    rid = result.referral_id
    entries = []
    for entry in bundle.entry or []:
        kind = entry.resource.get_resource_type()
        if kind == "ServiceRequest":
            entries.append({"response": {"status": "201 Created", "location": f"ServiceRequest/{rid}"}})
        else:
            entries.append({"response": {"status": "200 OK"}})  # held within the referral, not a resource of ours
    answer = {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
    headers = {"Location": f"/fhir/ServiceRequest/{rid}", "X-Task-Location": f"/fhir/Task?focus=ServiceRequest/{rid}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return _fhir(answer, 200, headers)


@fhir_router.post("/$process-message", summary="A message Bundle whose MessageHeader names early-help-referral")
async def process_message(
    request: Request,
    session: SessionDep,
    intake: IntakeServiceDep,
    triage: TriageServiceDep,
    principal: Referrer,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    try:
        bundle = fhir.parse_bundle(await _read_json(request), expected_type="message")
        fhir.check_message_header(bundle)
        mapped = fhir.map_bundle(bundle)
        header = bundle.entry[0].resource
        if mapped.bundle_identifier is None and header.id:
            mapped.bundle_identifier = f"message:{header.id}"
        result = await _receive(intake, principal, mapped, idempotency_key)
        referral = await triage.referral(principal, result.referral_id)
    except ProblemError as exc:
        return await _outcome(session, exc)
    answer = {
        "resourceType": "Bundle",
        "type": "message",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": str(uuid.uuid4()),
                    "eventCoding": {"system": f"{fhir.BASE}/message-events", "code": fhir.MESSAGE_EVENT},
                    "source": {"endpoint": str(request.base_url).rstrip("/") + "/fhir"},
                    "response": {"identifier": header.id or "unknown", "code": "ok"},
                    "focus": [{"reference": f"ServiceRequest/{referral.id}"}],
                },
            },
            {"fullUrl": f"ServiceRequest/{referral.id}", "resource": fhir.service_request(referral)},
            {"fullUrl": f"Task/{referral.id}", "resource": fhir.task(referral)},
        ],
    }
    return _fhir(answer, 200, {"Location": f"/fhir/ServiceRequest/{referral.id}"})


@fhir_router.get("/ServiceRequest/{referral_id}", summary="A referral as a FHIR ServiceRequest")
async def read_service_request(
    referral_id: Annotated[str, Path(max_length=64)], session: SessionDep, triage: TriageServiceDep, principal: Reader
) -> Response:
    try:
        rid = _uuid(referral_id, "ServiceRequest.id")
        referral = await triage.referral(principal, rid)
    except ProblemError as exc:
        return await _outcome(session, exc)
    return _fhir(fhir.service_request(referral))


@fhir_router.get("/Task", summary="The Task tracking a referral: ?focus=ServiceRequest/{id}")
async def search_task(
    request: Request,
    session: SessionDep,
    triage: TriageServiceDep,
    principal: Reader,
    focus: Annotated[str, Query(max_length=200, description="ServiceRequest/{id}")],
) -> Response:
    try:
        kind, _, raw_id = focus.rpartition("/")
        if kind.rsplit("/", 1)[-1] != "ServiceRequest":
            raise fhir.FhirProblem(400, "focus must be ServiceRequest/{id}", [("Task.focus", "not a ServiceRequest")])
        rid = _uuid(raw_id, "Task.focus")
        referral = await triage.referral(principal, rid)
        found = [fhir.task(referral)]
    except fhir.FhirProblem as exc:
        return await _outcome(session, exc)
    except ProblemError as exc:
        if exc.status != 404:
            return await _outcome(session, exc)
        found = []  # a search that matches nothing (or nothing the caller may see) is an empty searchset
    return _fhir(fhir.searchset(found, str(request.base_url).rstrip("/") + "/fhir"))


@fhir_router.get("/metadata", summary="The CapabilityStatement of this FHIR endpoint")
async def metadata() -> Response:
    return _fhir(fhir.capability_statement())


def _uuid(value: str, path: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise fhir.FhirProblem(404, f"No resource with id {value!r}", [(path, "unknown id")]) from exc
