"""FHIR R4 (UK Core) intake for maternity systems: Bundles in, the same maternity referral out.

A `transaction` Bundle (or a `message` Bundle whose MessageHeader names `early-help-referral`) is parsed with
the `fhir.resources` R4B models, mapped to a `MaternityReferralCreate` (so the JSON API's validation,
idempotency, events and status apply unchanged), and every problem is answered as an `OperationOutcome`
whose `expression` is the FHIRPath of the element at fault. The mapping is documented in docs/fhir.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task
from pydantic import ValidationError

from referrals.intake.schemas import MaternityReferralCreate
from referrals.models import Referral
from shared.errors import ProblemError

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
LOINC = "http://loinc.org"
EDD_LOINC = "11778-8"
GESTATION_LOINC = "49051-6"
BASE = "https://earlyhelp.invalid/fhir"
VULNERABILITY_SYSTEM = f"{BASE}/CodeSystem/antenatal-vulnerability"
NEED_SYSTEM = f"{BASE}/CodeSystem/need"
CONSENT_METHOD_SYSTEM = f"{BASE}/CodeSystem/consent-method"
REFERRAL_STATUS_SYSTEM = f"{BASE}/CodeSystem/referral-status"
REFERENCE_SYSTEM = f"{BASE}/Id/external-reference"
MESSAGE_EVENT = "early-help-referral"
ALLOWED_TYPES = {
    "ServiceRequest",
    "Patient",
    "RelatedPerson",
    "Observation",
    "Consent",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "MessageHeader",
}
TASK_STATUS = {
    "received": "received",
    "screening": "in-progress",
    "accepted": "accepted",
    "signposted": "completed",
    "no_further_action": "completed",
    "stepped_up": "completed",
    "withdrawn": "cancelled",
}
SERVICE_REQUEST_STATUS = {"received": "active", "screening": "active", "withdrawn": "revoked"}
ISSUE_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    413: "too-costly",
    422: "invalid",
    503: "transient",
}


class FhirProblem(ProblemError):
    """An error to answer as an OperationOutcome; `issues` are (FHIRPath, message) pairs."""

    def __init__(self, status: int, detail: str, issues: Sequence[tuple[str | None, str]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.issues: list[tuple[str | None, str]] = list(issues or [(None, detail)])


def operation_outcome(status: int, issues: list[tuple[str | None, str]], code: str | None = None) -> dict[str, Any]:
    outcome = OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": code or ISSUE_CODE.get(status, "processing"),
                    "diagnostics": message,
                    **({"expression": [path]} if path else {}),
                }
                for path, message in issues
            ],
        }
    )
    dumped: dict[str, Any] = outcome.model_dump(mode="json", exclude_none=True)
    return dumped


def problem_to_outcome(exc: ProblemError) -> dict[str, Any]:
    """A JSON API error (problem+json) as an OperationOutcome, pointers kept as diagnostics."""
    if isinstance(exc, FhirProblem):
        return operation_outcome(exc.status, exc.issues)
    issues: list[tuple[str | None, str]] = [(None, exc.detail)]
    issues += [(None, f"{e['pointer']}: {e['detail']}") for e in exc.errors or []]
    return operation_outcome(exc.status, issues)


def _pydantic_path(loc: tuple[Any, ...]) -> str:
    path = "Bundle"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


@dataclass
class Mapped:
    """The referral payload built from a Bundle, with the FHIRPath each field came from."""

    payload: dict[str, Any]
    paths: dict[str, str] = field(default_factory=dict)
    bundle_identifier: str | None = None

    def path_for(self, loc: tuple[Any, ...]) -> str:
        parts = [str(p) for p in loc]
        while parts:
            found = self.paths.get("/" + "/".join(parts))
            if found:
                return found
            parts.pop()
        return self.paths.get("", "Bundle")


def parse_bundle(raw: dict[str, Any], *, expected_type: str) -> Bundle:
    if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
        raise FhirProblem(422, "The body must be a FHIR Bundle", [("Bundle", "resourceType must be 'Bundle'")])
    try:
        bundle = Bundle.model_validate(raw)
    except ValidationError as exc:
        issues = [(_pydantic_path(tuple(e["loc"])), str(e["msg"])) for e in exc.errors()[:20]]
        raise FhirProblem(422, "The Bundle is not valid FHIR R4", issues) from exc
    if bundle.type != expected_type:
        raise FhirProblem(422, f"Expected a {expected_type} Bundle", [("Bundle.type", f"must be '{expected_type}'")])
    return bundle


def check_message_header(bundle: Bundle) -> None:
    entries = bundle.entry or []
    first = entries[0].resource if entries else None
    if first is None or first.get_resource_type() != "MessageHeader":
        raise FhirProblem(
            422, "A message Bundle starts with a MessageHeader", [("Bundle.entry[0].resource", "not a MessageHeader")]
        )
    event = getattr(first, "eventCoding", None)
    if event is None or event.code != MESSAGE_EVENT:
        raise FhirProblem(
            422,
            f"The MessageHeader must name the event '{MESSAGE_EVENT}'",
            [("Bundle.entry[0].resource.eventCoding.code", f"expected '{MESSAGE_EVENT}'")],
        )


def map_bundle(bundle: Bundle) -> Mapped:
    """Map the Bundle's resources to a maternity referral payload (see docs/fhir.md)."""
    resources, by_reference = _index(bundle)

    requests = resources.get("ServiceRequest", [])
    if len(requests) != 1:
        raise FhirProblem(
            422, "The Bundle must hold exactly one ServiceRequest", [("Bundle.entry", "one ServiceRequest")]
        )
    sr_index, sr = requests[0]
    sr_path = f"Bundle.entry[{sr_index}].resource"
    mapped = Mapped(payload={}, paths={"": sr_path})
    if bundle.identifier is not None and bundle.identifier.value:
        mapped.bundle_identifier = bundle.identifier.value

    subject_ref = sr.subject.reference if sr.subject else None
    if (
        not subject_ref
        or subject_ref not in by_reference
        or by_reference[subject_ref][1].get_resource_type() != "Patient"
    ):
        raise FhirProblem(
            422,
            "ServiceRequest.subject must reference the expectant parent's Patient in the Bundle",
            [(f"{sr_path}.subject", "must reference a Patient entry")],
        )
    parent_index, parent = by_reference[subject_ref]
    mapped.payload["expectant_parent"] = _person(
        parent, f"Bundle.entry[{parent_index}].resource", mapped, "/expectant_parent", require_nhs=True
    )

    others = [(i, r) for i, r in resources.get("RelatedPerson", [])]
    if len(others) > 1:
        raise FhirProblem(
            422, "At most one RelatedPerson (the other parent)", [(f"Bundle.entry[{others[1][0]}]", "extra")]
        )
    if others:
        i, other = others[0]
        mapped.payload["other_parent"] = _person(other, f"Bundle.entry[{i}].resource", mapped, "/other_parent")
    children = [(i, r) for i, r in resources.get("Patient", []) if r is not parent]
    mapped.payload["children"] = [
        _person(child, f"Bundle.entry[{i}].resource", mapped, f"/children/{n}") for n, (i, child) in enumerate(children)
    ]

    identifiers = sr.identifier or []
    reference = next((x.value for x in identifiers if x.value), None)
    mapped.paths["/external_reference"] = f"{sr_path}.identifier[0].value"
    if reference:
        mapped.payload["external_reference"] = reference
    mapped.payload["referrer"] = _referrer(sr, by_reference, sr_path, mapped)
    notes = [n.text for n in sr.note or [] if n.text]
    mapped.payload["reason"] = "\n".join(notes)
    mapped.paths["/reason"] = f"{sr_path}.note"
    mapped.payload["safeguarding_concern"] = sr.priority in ("urgent", "stat")
    mapped.paths["/safeguarding_concern"] = f"{sr_path}.priority"

    mapped.payload["vulnerabilities"] = _codes(
        sr.reasonCode, VULNERABILITY_SYSTEM, f"{sr_path}.reasonCode", "/vulnerabilities", mapped
    )
    mapped.payload["needs"] = _codes(sr.category, NEED_SYSTEM, f"{sr_path}.category", "/needs", mapped)
    _observations(resources.get("Observation", []), mapped)

    mapped.payload["consent"] = _consent(resources.get("Consent", []), mapped)
    mapped.payload["lawful_basis"] = "consent" if mapped.payload["consent"]["given"] else "public_task"
    return mapped


def _index(bundle: Bundle) -> tuple[dict[str, list[tuple[int, Any]]], dict[str, tuple[int, Any]]]:
    """The Bundle's resources by type and by every reference that can point at them (fullUrl, Type/id)."""
    resources: dict[str, list[tuple[int, Any]]] = {}
    by_reference: dict[str, tuple[int, Any]] = {}
    for i, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        if resource is None:
            raise FhirProblem(422, "Every entry needs a resource", [(f"Bundle.entry[{i}]", "resource missing")])
        kind = resource.get_resource_type()
        if kind not in ALLOWED_TYPES:
            raise FhirProblem(
                422,
                f"{kind} is not part of an early help referral",
                [(f"Bundle.entry[{i}].resource", f"unexpected resource type {kind}")],
            )
        resources.setdefault(kind, []).append((i, resource))
        if entry.fullUrl:
            by_reference[entry.fullUrl] = (i, resource)
        if resource.id:
            by_reference[f"{kind}/{resource.id}"] = (i, resource)
    return resources, by_reference


def _codes(concepts: Any, system: str, path: str, pointer: str, mapped: Mapped) -> list[str]:
    """The codes of `system` among CodeableConcepts, each remembered with the FHIR path it came from."""
    codes: list[str] = []
    for r, concept in enumerate(concepts or []):
        for c, coding in enumerate(concept.coding or []):
            if coding.system == system and coding.code:
                mapped.paths[f"{pointer}/{len(codes)}"] = f"{path}[{r}].coding[{c}].code"
                codes.append(coding.code)
    return codes


def _observations(observations: list[tuple[int, Any]], mapped: Mapped) -> None:
    """Expected delivery date (required) and gestation in weeks from the Bundle's Observations."""
    for i, observation in observations:
        codes = {(c.system, c.code) for c in (observation.code.coding or [])} if observation.code else set()
        path = f"Bundle.entry[{i}].resource"
        if (LOINC, EDD_LOINC) in codes:
            value = observation.valueDateTime
            mapped.paths["/expected_delivery_date"] = f"{path}.valueDateTime"
            if value is not None:
                mapped.payload["expected_delivery_date"] = str(value)[:10]
        elif (LOINC, GESTATION_LOINC) in codes and observation.valueQuantity is not None:
            mapped.paths["/gestation_weeks"] = f"{path}.valueQuantity.value"
            mapped.payload["gestation_weeks"] = int(observation.valueQuantity.value or 0)
    if "expected_delivery_date" not in mapped.payload:
        raise FhirProblem(
            422,
            f"The expected delivery date is an Observation with LOINC {EDD_LOINC}",
            [("Bundle.entry", f"no Observation with code {LOINC}|{EDD_LOINC} and valueDateTime")],
        )


def _person(resource: Any, path: str, mapped: Mapped, pointer: str, *, require_nhs: bool = False) -> dict[str, Any]:
    names = resource.name or []
    name = names[0] if names else None
    person: dict[str, Any] = {
        "given_name": (name.given or [None])[0] if name else None,
        "family_name": name.family if name else None,
        "date_of_birth": resource.birthDate.isoformat() if resource.birthDate else None,
    }
    mapped.paths[f"{pointer}/given_name"] = f"{path}.name[0].given[0]"
    mapped.paths[f"{pointer}/family_name"] = f"{path}.name[0].family"
    mapped.paths[f"{pointer}/date_of_birth"] = f"{path}.birthDate"
    mapped.paths[pointer] = path
    identifiers = getattr(resource, "identifier", None) or []
    nhs = [(n, x) for n, x in enumerate(identifiers) if x.system == NHS_NUMBER_SYSTEM]
    if nhs:
        n, identifier = nhs[0]
        person["nhs_number"] = identifier.value
        mapped.paths[f"{pointer}/nhs_number"] = f"{path}.identifier[{n}].value"
    elif require_nhs:
        raise FhirProblem(
            422,
            f"The expectant parent needs an NHS number (identifier with system {NHS_NUMBER_SYSTEM})",
            [(f"{path}.identifier", f"no identifier with system {NHS_NUMBER_SYSTEM}")],
        )
    addresses = resource.address or []
    if addresses:
        address = addresses[0]
        if address.postalCode:
            person["postcode"] = address.postalCode
            mapped.paths[f"{pointer}/postcode"] = f"{path}.address[0].postalCode"
        text = address.text or ", ".join([*(address.line or []), *([address.city] if address.city else [])])
        if text:
            person["address"] = text
            mapped.paths[f"{pointer}/address"] = f"{path}.address[0]"
    return {k: v for k, v in person.items() if v is not None}


def _referrer(sr: Any, by_reference: dict[str, tuple[int, Any]], sr_path: str, mapped: Mapped) -> dict[str, Any]:
    mapped.paths["/referrer"] = f"{sr_path}.requester"
    mapped.paths["/referrer/name"] = f"{sr_path}.requester"
    requester = sr.requester
    if requester is None:
        return {}
    found = by_reference.get(requester.reference or "")
    if found is not None and found[1].get_resource_type() == "Practitioner":
        practitioner = found[1]
        name = (practitioner.name or [None])[0]
        full = (
            name.text
            if name and name.text
            else " ".join([*(name.given or []), name.family or ""]).strip()
            if name
            else ""
        )
        referrer: dict[str, Any] = {"name": full or requester.display or ""}
        for telecom in practitioner.telecom or []:
            if telecom.system == "email" and telecom.value:
                referrer["email"] = telecom.value
            elif telecom.system == "phone" and telecom.value:
                referrer["phone"] = telecom.value
        return referrer
    return {"name": requester.display} if requester.display else {}


def _consent(consents: list[tuple[int, Any]], mapped: Mapped) -> dict[str, Any]:
    if not consents:
        return {"given": False}
    i, consent = consents[0]
    path = f"Bundle.entry[{i}].resource"
    mapped.paths["/consent"] = path
    mapped.paths["/consent/recorded_at"] = f"{path}.dateTime"
    mapped.paths["/consent/given_by"] = f"{path}.performer[0].display"
    if consent.status != "active":
        return {"given": False}
    method = "verbal"
    for concept in consent.category or []:
        for coding in concept.coding or []:
            if coding.system == CONSENT_METHOD_SYSTEM and coding.code:
                method = coding.code
                mapped.paths["/consent/method"] = f"{path}.category"
    performer = (consent.performer or [None])[0]
    return {
        "given": True,
        "given_by": performer.display if performer is not None else None,
        "recorded_at": consent.dateTime.isoformat() if consent.dateTime else None,
        "method": method,
    }


def to_referral(mapped: Mapped) -> MaternityReferralCreate:
    """Validate exactly as the JSON API does; errors point back at the FHIR elements."""
    try:
        return MaternityReferralCreate.model_validate(mapped.payload)
    except ValidationError as exc:
        issues: list[tuple[str | None, str]] = [
            (mapped.path_for(tuple(e["loc"])), f"{'/'.join(str(p) for p in e['loc'])}: {e['msg']}")
            for e in exc.errors()
        ]
        raise FhirProblem(422, "The referral in the Bundle is not valid", issues) from exc


def remap_field_errors(exc: ProblemError, mapped: Mapped) -> FhirProblem:
    """Turn the service's field errors (JSON pointers, e.g. unknown needs) into FHIRPath issues."""
    issues: list[tuple[str | None, str]] = []
    for error in exc.errors or []:
        pointer = str(error.get("pointer", ""))
        parts = tuple(p for p in pointer.strip("/").split("/") if p)
        issues.append((mapped.path_for(parts) if pointer.startswith("/") else None, str(error.get("detail"))))
    return FhirProblem(exc.status, exc.detail, issues or [(None, exc.detail)])


# --- resources out ------------------------------------------------------------------------------------------


def service_request(referral: Referral) -> dict[str, Any]:
    parent = referral.people[0] if referral.people else None
    resource = ServiceRequest.model_validate(
        {
            "resourceType": "ServiceRequest",
            "id": str(referral.id),
            "identifier": [{"system": f"{REFERENCE_SYSTEM}/{referral.agency}", "value": referral.external_reference}],
            "status": SERVICE_REQUEST_STATUS.get(referral.status, "completed"),
            "intent": "order",
            "priority": "stat" if referral.safeguarding_concern else "routine",
            "category": [{"coding": [{"system": NEED_SYSTEM, "code": n} for n in referral.needs]}]
            if referral.needs
            else None,
            "subject": {"display": f"{parent.given_name} {parent.family_name}" if parent else "unknown"},
            "authoredOn": referral.received_at.isoformat(),
            "requester": {"display": str(referral.referrer.get("name", referral.agency))},
            "reasonCode": [
                {"coding": [{"system": VULNERABILITY_SYSTEM, "code": v}]}
                for v in referral.details.get("vulnerabilities", [])
            ]
            or None,
            "note": [{"text": referral.reason}],
        }
    )
    dumped: dict[str, Any] = resource.model_dump(mode="json", exclude_none=True)
    return dumped


def task(referral: Referral) -> dict[str, Any]:
    resource = Task.model_validate(
        {
            "resourceType": "Task",
            "id": str(referral.id),
            "status": TASK_STATUS[referral.status],
            "businessStatus": {
                "coding": [{"system": REFERRAL_STATUS_SYSTEM, "code": referral.status}],
                "text": referral.status,
            },
            "intent": "order",
            "focus": {"reference": f"ServiceRequest/{referral.id}"},
            "authoredOn": referral.received_at.isoformat(),
            "lastModified": (referral.decided_at or referral.withdrawn_at or referral.updated_at).isoformat(),
            "executionPeriod": {"end": referral.decision_due_at.isoformat()},
            "statusReason": {"text": referral.decision_reason} if referral.decision_reason else None,
        }
    )
    dumped: dict[str, Any] = resource.model_dump(mode="json", exclude_none=True)
    return dumped


def searchset(resources: list[dict[str, Any]], base_url: str) -> dict[str, Any]:
    bundle = Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(resources),
            "entry": [{"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
        }
    )
    dumped: dict[str, Any] = bundle.model_dump(mode="json", exclude_none=True)
    return dumped


def capability_statement() -> dict[str, Any]:
    statement = CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": datetime(2026, 11, 23, tzinfo=UTC).isoformat(),
            "kind": "instance",
            "fhirVersion": "4.3.0",
            "format": ["application/fhir+json", "json"],
            "implementation": {
                "description": "Early Help Platform referrals: maternity referral intake. Privacy notice: GET /privacy"
            },
            "rest": [
                {
                    "mode": "server",
                    "documentation": "Maternity referrals to early help; see docs/fhir.md for the mapping.",
                    "interaction": [{"code": "transaction"}],
                    "resource": [
                        {"type": "ServiceRequest", "interaction": [{"code": "read"}]},
                        {
                            "type": "Task",
                            "interaction": [{"code": "search-type"}],
                            "searchParam": [{"name": "focus", "type": "reference"}],
                        },
                    ],
                    "operation": [
                        {
                            "name": "process-message",
                            "definition": "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
                        }
                    ],
                }
            ],
            "messaging": [
                {"supportedMessage": [{"mode": "receiver", "definition": f"{BASE}/MessageDefinition/{MESSAGE_EVENT}"}]}
            ],
        }
    )
    dumped: dict[str, Any] = statement.model_dump(mode="json", exclude_none=True)
    return dumped
