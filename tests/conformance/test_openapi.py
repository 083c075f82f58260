"""Every OpenAPI document — referrals, cases, outcomes and the gateway, each from its real `create_app()` — is valid
for `openapi-spec-validator`, says which operations need a bearer token and documents the problems each can give."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from openapi_spec_validator import validate

from earlyhelp.contract_checks import openapi_invalid
from shared.errors import PROBLEM_JSON

PUBLIC = {"/healthz", "/readyz", "/privacy", "/v1/events", "/fhir/metadata"}
"""Operations without a bearer token: health, the signed event endpoint, the FHIR capability statement."""


def _referrals() -> dict[str, Any]:
    from referrals.app import create_app
    from referrals.config import Settings

    return create_app(Settings(environment="test")).openapi()


def _cases() -> dict[str, Any]:
    from cases.app import create_app
    from cases.config import Settings

    return create_app(Settings(environment="test")).openapi()


def _outcomes() -> dict[str, Any]:
    from outcomes.app import create_app
    from outcomes.config import Settings

    return create_app(Settings(environment="test")).openapi()


def _intelligence() -> dict[str, Any]:
    from intelligence.app import create_app
    from intelligence.config import Settings

    return create_app(Settings(environment="test")).openapi()


def _gateway() -> dict[str, Any]:
    from gateway.app import create_app
    from gateway.config import Settings

    return create_app(Settings(environment="test")).openapi()


APPS: dict[str, Callable[[], dict[str, Any]]] = {
    "referrals": _referrals,
    "cases": _cases,
    "outcomes": _outcomes,
    "intelligence": _intelligence,
    "gateway": _gateway,
}
SERVICES = ("referrals", "cases", "outcomes", "intelligence")


@pytest.fixture(scope="module", params=list(APPS))
def document(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param, APPS[request.param]()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in doc["paths"].items() for method, op in item.items()]


def test_the_document_is_valid(document: tuple[str, dict[str, Any]]) -> None:
    name, doc = document
    validate(doc)  # raises on any error, including a `$ref` that resolves nowhere
    assert openapi_invalid(doc) is None
    text = json.dumps(doc)
    assert "#/$defs/" not in text, f"{name}: a nested schema reference that resolves nowhere"
    schemas = doc["components"]["schemas"]
    assert schemas["Problem"]["properties"]["errors"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/FieldProblem"
    }
    assert "FieldProblem" in schemas


def test_bearer_security_is_declared_per_operation(document: tuple[str, dict[str, Any]]) -> None:
    name, doc = document
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert "security" not in doc, "no global requirement: each operation says its own"
    secured = 0
    for method, path, op in operations(doc):
        if path in PUBLIC:
            assert "security" not in op, f"{name} {method.upper()} {path} needs no token"
        elif path == "/graphql":
            assert op["security"] == [{"bearerAuth": []}, {}], "the graph: a token is optional (per field)"
        else:
            assert op.get("security") == [{"bearerAuth": []}], f"{name} {method.upper()} {path} needs a token"
            secured += 1
    assert secured >= 1


def test_problem_responses_where_they_can_occur(document: tuple[str, dict[str, Any]]) -> None:
    name, doc = document
    for method, path, op in operations(doc):
        where = f"{name} {method.upper()} {path}"
        responses = op["responses"]
        assert "500" in responses, where
        if op.get("security") == [{"bearerAuth": []}]:
            assert {"401", "403"} <= set(responses), where
            assert "WWW-Authenticate" in responses["401"]["headers"], where
            if name in SERVICES:  # the services' rate limiter (the gateway has none of its own)
                assert "429" in responses, where
                assert responses["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer", where
            if method in ("post", "put", "patch", "delete"):
                assert "409" in responses, where
        if "{" in path:
            assert "404" in responses, where
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in responses, where
        if any(p["name"].lower() == "if-match" for p in op.get("parameters", [])):
            assert {"412", "428"} <= set(responses), where
        for status, response in responses.items():
            if int(status) < 400:
                continue
            content = response["content"]
            if "application/fhir+json" in content:  # FHIR answers an OperationOutcome
                continue
            assert content == {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}, (where, status)
            assert response["description"], (where, status)


def test_the_known_operations_are_described_as_they_behave() -> None:
    """Spot checks against what the code does: If-Match on plans, Idempotency-Key on intake, ids in paths."""
    cases = _cases()
    plan = cases["paths"]["/v1/cases/{case_id}/plan"]["put"]["responses"]
    assert {"404", "409", "412", "428", "429"} <= set(plan)
    referrals = _referrals()
    create = referrals["paths"]["/v1/referrals/school"]["post"]["responses"]
    assert {"400", "409", "413", "422"} <= set(create)
    assert "404" not in create
    events = referrals["paths"]["/v1/events"]["post"]
    assert {"400", "401"} <= set(events["responses"]) and "security" not in events
    health = referrals["paths"]["/healthz"]["get"]["responses"]
    assert "429" not in health and "401" not in health, "health is neither limited nor authenticated"


def test_an_inlined_problem_schema_is_what_the_validator_rejects() -> None:
    """The old documents inlined `Problem.model_json_schema()`, whose `$defs` reference resolves nowhere."""
    from shared.errors import Problem

    doc = _outcomes()
    for _, _, op in operations(doc):
        for response in op["responses"].values():
            if PROBLEM_JSON in response.get("content", {}):
                response["content"][PROBLEM_JSON]["schema"] = Problem.model_json_schema()
    problem = openapi_invalid(doc)
    assert problem is not None and "/$defs/FieldProblem" in problem, problem


OLD_NAMES = {
    ("referrals", "post", "/v1/referrals/{referral_id}/decision"),  # `outcome` for `decision`
    ("cases", "post", "/v1/cases/{case_id}/assessment"),  # a descriptor's label for its code
}
"""The operations whose request body accepts a deprecated name or form (docs/contracts.md, "Deprecated names")."""


def test_only_operations_accepting_old_names_declare_the_deprecation_headers(
    document: tuple[str, dict[str, Any]],
) -> None:
    name, doc = document
    declared = set()
    for method, path, op in operations(doc):
        for status, response in op["responses"].items():
            headers = response.get("headers", {})
            if (name, method, path) in OLD_NAMES:
                assert headers.get("Deprecation") == {"$ref": "#/components/headers/Deprecation"}, (path, status)
                assert headers.get("Link") == {"$ref": "#/components/headers/Link"}, (path, status)
                declared.add((name, method, path))
            else:
                assert "Deprecation" not in headers and "Link" not in headers, (name, method, path, status)
    assert declared == {op for op in OLD_NAMES if op[0] == name}
    if declared:
        components = doc["components"]["headers"]
        assert components["Deprecation"]["schema"]["pattern"] == "^@\\d+$"
        assert 'rel="deprecation"' in components["Link"]["description"]
    else:
        assert "headers" not in doc["components"]
