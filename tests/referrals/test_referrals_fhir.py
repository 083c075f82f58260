"""FHIR R4 intake: Bundles built here by hand (independently of the mapping code) become referrals, or
precise OperationOutcomes; a FHIR referral is the same referral as a JSON one, and its Task follows triage."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.referrals.conftest import TODAY, MatchNow, bad_check_digit, hub_manager, nhs_number, partner

FHIR = {"content-type": "application/fhir+json"}
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "fhir"


def transaction_bundle(nhs: str | None = None, **changes: Any) -> dict[str, Any]:
    nhs = nhs or nhs_number()
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "transaction",
        "identifier": {"system": "https://maternity.example/bundles", "value": str(uuid.uuid4())},
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
                "resource": {
                    "resourceType": "ServiceRequest",
                    "identifier": [
                        {"system": "https://maternity.example/referrals", "value": f"EPR-{uuid.uuid4().hex[:10]}"}
                    ],
                    "status": "active",
                    "intent": "order",
                    "priority": "routine",
                    "category": [{"coding": [
                        {"system": "https://earlyhelp.invalid/fhir/CodeSystem/need", "code": "health"},
                        {"system": "https://earlyhelp.invalid/fhir/CodeSystem/need", "code": "housing"},
                    ]}],
                    "subject": {"reference": "urn:uuid:22222222-2222-4222-8222-222222222222"},
                    "requester": {"reference": "urn:uuid:55555555-5555-4555-8555-555555555555"},
                    "reasonCode": [
                        {"coding": [{"system": "https://earlyhelp.invalid/fhir/CodeSystem/antenatal-vulnerability",
                                     "code": "perinatal_mental_health"}]},
                        {"coding": [{"system": "https://earlyhelp.invalid/fhir/CodeSystem/antenatal-vulnerability",
                                     "code": "housing"}]},
                    ],
                    "note": [{"text": "Low mood at booking; family of four in a one-bedroom flat."}],
                },
                "request": {"method": "POST", "url": "ServiceRequest"},
            },
            {
                "fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}],
                    "name": [{"given": ["Zoë"], "family": "O'Neill"}],
                    "birthDate": "1996-05-17",
                    "address": [{"line": ["1 Hyde Park Road"], "city": "Leeds", "postalCode": "LS6 1AA"}],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:33333333-3333-4333-8333-333333333333",
                "resource": {
                    "resourceType": "RelatedPerson",
                    "patient": {"reference": "urn:uuid:22222222-2222-4222-8222-222222222222"},
                    "name": [{"given": ["Thanh"], "family": "Nguyễn"}],
                    "birthDate": "1994-02-01",
                },
                "request": {"method": "POST", "url": "RelatedPerson"},
            },
            {
                "fullUrl": "urn:uuid:44444444-4444-4444-8444-444444444444",
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"given": ["Mia"], "family": "O'Neill"}],
                    "birthDate": (TODAY - timedelta(days=700)).isoformat(),
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:55555555-5555-4555-8555-555555555555",
                "resource": {
                    "resourceType": "Practitioner",
                    "name": [{"given": ["Asha"], "family": "Patel", "prefix": ["Midwife"]}],
                    "telecom": [{"system": "email", "value": "asha.patel@nhs.example"}],
                },
                "request": {"method": "POST", "url": "Practitioner"},
            },
            {
                "fullUrl": "urn:uuid:66666666-6666-4666-8666-666666666666",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "11778-8",
                                         "display": "Delivery date Estimated"}]},
                    "subject": {"reference": "urn:uuid:22222222-2222-4222-8222-222222222222"},
                    "valueDateTime": (TODAY + timedelta(weeks=14)).isoformat(),
                },
                "request": {"method": "POST", "url": "Observation"},
            },
            {
                "fullUrl": "urn:uuid:77777777-7777-4777-8777-777777777777",
                "resource": {
                    "resourceType": "Consent",
                    "status": "active",
                    "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                          "code": "patient-privacy"}]},
                    "category": [{"coding": [{"system": "https://earlyhelp.invalid/fhir/CodeSystem/consent-method",
                                              "code": "written"}]}],
                    "patient": {"reference": "urn:uuid:22222222-2222-4222-8222-222222222222"},
                    "dateTime": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
                    "performer": [{"display": "Zoë O'Neill"}],
                },
                "request": {"method": "POST", "url": "Consent"},
            },
        ],
    }  # fmt: skip
    for key, value in changes.items():
        bundle[key] = value
    return bundle


def message_bundle(**kw: Any) -> dict[str, Any]:
    bundle = transaction_bundle(**kw)
    for entry in bundle["entry"]:
        entry.pop("request")
    header = {
        "fullUrl": "urn:uuid:99999999-9999-4999-8999-999999999999",
        "resource": {
            "resourceType": "MessageHeader",
            "id": str(uuid.uuid4()),
            "eventCoding": {"system": "https://earlyhelp.invalid/fhir/message-events", "code": "early-help-referral"},
            "source": {"endpoint": "https://maternity.example/fhir"},
            "focus": [{"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"}],
        },
    }
    bundle["type"] = "message"
    bundle["entry"] = [header, *bundle["entry"]]
    return bundle


def _outcome(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issues: list[dict[str, Any]] = body["issue"]
    return issues


async def test_transaction_bundle_becomes_the_same_referral_as_json(client: httpx.AsyncClient) -> None:
    bundle = transaction_bundle()
    response = await client.post("/fhir", json=bundle, headers={**partner(), **FHIR})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["type"] == "transaction-response"
    assert len(answer["entry"]) == len(bundle["entry"])
    location = answer["entry"][0]["response"]["location"]
    assert location.startswith("ServiceRequest/")
    rid = location.split("/")[1]

    referral = (await client.get(f"/v1/referrals/{rid}", headers=partner())).json()
    assert referral["kind"] == "maternity"
    assert referral["external_reference"] == bundle["entry"][0]["resource"]["identifier"][0]["value"]
    assert referral["hub"] == "north"
    assert referral["needs"] == ["health", "housing"]
    assert referral["details"]["vulnerabilities"] == ["perinatal_mental_health", "housing"]
    assert referral["consent"]["given"] is True
    assert referral["consent"]["method"] == "written"
    assert referral["referrer"]["name"] == "Asha Patel"
    assert referral["referrer"]["email"] == "asha.patel@nhs.example"
    assert [(p["ref"], p["given_name"], p["family_name"]) for p in referral["people"]] == [
        ("expectant_parent", "Zoë", "O'Neill"),
        ("other_parent", "Thanh", "Nguyễn"),
        ("child_1", "Mia", "O'Neill"),
    ]
    assert referral["people"][0]["nhs_number"] == bundle["entry"][1]["resource"]["identifier"][0]["value"]
    assert referral["expected_delivery_date"] == bundle["entry"][5]["resource"]["valueDateTime"]

    # the same Bundle again (same Bundle.identifier) replays; no second referral
    again = await client.post("/fhir", json=bundle, headers={**partner(), **FHIR})
    assert again.status_code == 200
    assert again.json()["entry"][0]["response"]["location"] == location
    assert again.headers["idempotent-replayed"] == "true"


async def test_task_follows_triage_and_service_request_reads(client: httpx.AsyncClient, match_now: MatchNow) -> None:
    response = await client.post("/fhir", json=transaction_bundle(), headers={**partner(), **FHIR})
    rid = response.json()["entry"][0]["response"]["location"].split("/")[1]
    task = (await client.get("/fhir/Task", params={"focus": f"ServiceRequest/{rid}"}, headers=partner())).json()
    assert task["type"] == "searchset"
    assert task["total"] == 1
    assert task["entry"][0]["resource"]["status"] == "received"
    assert task["entry"][0]["resource"]["focus"]["reference"] == f"ServiceRequest/{rid}"
    await match_now()
    decided = await client.post(
        f"/v1/referrals/{rid}/decision", headers=hub_manager("north"), json={"outcome": "accepted", "reason": "Agreed"}
    )
    assert decided.status_code == 200
    task = (await client.get("/fhir/Task", params={"focus": f"ServiceRequest/{rid}"}, headers=partner())).json()
    resource = task["entry"][0]["resource"]
    assert resource["status"] == "accepted"
    assert resource["businessStatus"]["coding"][0]["code"] == "accepted"
    sr = await client.get(f"/fhir/ServiceRequest/{rid}", headers=partner())
    assert sr.status_code == 200
    assert sr.json()["resourceType"] == "ServiceRequest"
    assert sr.json()["status"] == "completed"
    # another agency sees nothing
    hidden = await client.get(f"/fhir/ServiceRequest/{rid}", headers=partner("MAT-OTHER"))
    assert _outcome(hidden, 404)[0]["code"] == "not-found"
    empty = await client.get("/fhir/Task", params={"focus": f"ServiceRequest/{rid}"}, headers=partner("MAT-OTHER"))
    assert empty.json()["total"] == 0


async def test_message_bundle(client: httpx.AsyncClient) -> None:
    response = await client.post("/fhir/$process-message", json=message_bundle(), headers={**partner(), **FHIR})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["type"] == "message"
    header, sr, task = (e["resource"] for e in answer["entry"])
    assert header["response"]["code"] == "ok"
    assert sr["resourceType"] == "ServiceRequest"
    assert task["status"] == "received"
    wrong_event = message_bundle()
    wrong_event["entry"][0]["resource"]["eventCoding"]["code"] = "something-else"
    issues = _outcome(await client.post("/fhir/$process-message", json=wrong_event, headers=partner()), 422)
    assert issues[0]["expression"] == ["Bundle.entry[0].resource.eventCoding.code"]


async def test_missing_nhs_number_system(client: httpx.AsyncClient) -> None:
    bundle = transaction_bundle()
    bundle["entry"][1]["resource"]["identifier"][0]["system"] = "https://example.org/local-mrn"
    issues = _outcome(await client.post("/fhir", json=bundle, headers=partner()), 422)
    assert issues[0]["expression"] == ["Bundle.entry[1].resource.identifier"]
    assert "https://fhir.nhs.uk/Id/nhs-number" in issues[0]["diagnostics"]


async def test_bad_nhs_check_digit_points_at_the_identifier(client: httpx.AsyncClient) -> None:
    bundle = transaction_bundle(nhs=bad_check_digit(nhs_number()))
    issues = _outcome(await client.post("/fhir", json=bundle, headers=partner()), 422)
    assert issues[0]["expression"] == ["Bundle.entry[1].resource.identifier[0].value"]
    assert "NHS number" in issues[0]["diagnostics"]


async def test_wrong_resource_types_and_invalid_fhir(client: httpx.AsyncClient) -> None:
    bundle = transaction_bundle()
    bundle["entry"][3]["resource"] = {"resourceType": "Medication", "status": "active"}
    issues = _outcome(await client.post("/fhir", json=bundle, headers=partner()), 422)
    assert issues[0]["expression"] == ["Bundle.entry[3].resource"]
    bad_date = transaction_bundle()
    bad_date["entry"][1]["resource"]["birthDate"] = "1996-13-45"
    issues = _outcome(await client.post("/fhir", json=bad_date, headers=partner()), 422)
    assert issues[0]["expression"][0].startswith("Bundle.entry[1].resource")
    assert "birthDate" in issues[0]["expression"][0]
    not_a_bundle = _outcome(await client.post("/fhir", json={"resourceType": "Patient"}, headers=partner()), 422)
    assert not_a_bundle[0]["expression"] == ["Bundle"]
    wrong_type = _outcome(await client.post("/fhir", json=transaction_bundle(type="batch"), headers=partner()), 422)
    assert wrong_type[0]["expression"] == ["Bundle.type"]
    no_edd = transaction_bundle()
    del no_edd["entry"][5]
    assert "11778-8" in _outcome(await client.post("/fhir", json=no_edd, headers=partner()), 422)[0]["diagnostics"]
    unknown_need = transaction_bundle()
    unknown_need["entry"][0]["resource"]["category"][0]["coding"][1]["code"] = "wizardry"
    issues = _outcome(await client.post("/fhir", json=unknown_need, headers=partner()), 422)
    assert issues[0]["expression"] == ["Bundle.entry[0].resource.category[0].coding[1].code"]


async def test_ten_megabyte_bundle_is_an_operation_outcome(client: httpx.AsyncClient) -> None:
    bundle = transaction_bundle()
    bundle["entry"][0]["resource"]["note"] = [{"text": "x" * 1000} for _ in range(10_000)]
    issues = _outcome(await client.post("/fhir", json=bundle, headers=partner()), 413)
    assert issues[0]["code"] == "too-costly"


async def test_duplicate_reference_is_409_and_no_key_is_400(client: httpx.AsyncClient) -> None:
    bundle = transaction_bundle()
    assert (await client.post("/fhir", json=bundle, headers=partner())).status_code == 200
    again = copy.deepcopy(bundle)
    again["identifier"]["value"] = str(uuid.uuid4())
    issues = _outcome(await client.post("/fhir", json=again, headers=partner()), 409)
    assert issues[0]["code"] == "conflict"
    no_key = transaction_bundle()
    del no_key["identifier"]
    assert _outcome(await client.post("/fhir", json=no_key, headers=partner()), 400)[0]["code"] == "invalid"


async def test_metadata_describes_the_endpoint(client: httpx.AsyncClient) -> None:
    response = await client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(resources) == {"ServiceRequest", "Task"}
    assert statement["rest"][0]["operation"][0]["name"] == "process-message"


@pytest.mark.parametrize("name", ["maternity-transaction.json", "maternity-message.json"])
def test_examples_are_valid_fhir(name: str) -> None:
    from fhir.resources.R4B.bundle import Bundle

    bundle = Bundle.model_validate(json.loads((EXAMPLES / name).read_text()))
    assert bundle.type in ("transaction", "message")
