"""The gateway's typed upstream models against each service's OpenAPI document (issue 16).

Every field the gateway reads from a service must be in that service's response model under the same name, of a
type the gateway accepts, and never null or left out where the gateway needs it (`gateway.upstream.contract`).
The documents are the services' own, generated from their response models by their apps.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest

from gateway.upstream.contract import CALLS, check


def openapi_of(service: str) -> dict[str, Any]:
    app = import_module(f"{service}.app").create_app()
    document: dict[str, Any] = app.openapi()
    return document


@pytest.mark.parametrize("service", ["referrals", "cases", "outcomes", "intelligence"])
def test_every_field_the_gateway_reads_is_in_the_services_response_models(service: str) -> None:
    assert check(service, openapi_of(service)) == []


def test_every_service_call_of_the_gateway_is_bound_to_a_model() -> None:
    """The contract covers each service, so none of them is read with guessed field names."""
    assert {call.service for call in CALLS} == {"referrals", "cases", "outcomes", "intelligence"}


def test_the_check_sees_a_field_made_nullable_or_retyped() -> None:
    document = openapi_of("outcomes")
    claim = document["components"]["schemas"]["ClaimRead"]["properties"]
    claim["status"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    claim["created_at"] = {"type": "string", "format": "date"}
    problems = check("outcomes", document)
    assert any("items[].status: the service may send null" in p for p in problems), problems
    assert any("items[].created_at: the gateway reads string (date-time)" in p for p in problems), problems
