"""Schemathesis (hypothesis-graphql underneath) against the real gateway over the three real services.

The services and the gateway each run as a real uvicorn server (tests/security/test_schemathesis.py's `serve`)
over committed clones of the migrated databases, wired to one another as in production: referrals → cases,
cases → outcomes, gateway → all three. The schema is the gateway's own (`gateway.schema`, the SDL that
`schema.graphql` commits). For every query root field and mutation, in positive and negative generation modes,
Hypothesis draws a document with its arguments and a caller (no token, or one token per role); the answer must:

* never be an HTTP 5xx;
* be a JSON object with `data` and/or `errors`;
* carry no masked error (`INTERNAL_SERVER_ERROR`, "An unexpected error occurred" — an exception the gateway did
  not expect) and no `UPSTREAM_UNAVAILABLE` (every service is up, so that would be a service's own 5xx);
* break no schema contract (a null for a non-null field);
* when negative (schema-violating) data was sent: be refused with errors.

Findings it made, fixed in the gateway (tests/gateway/test_hostile_ids.py pins them): an id with a
control character made an invalid upstream URL, and `..` as an id walked up the upstream path
(`clients.base.segment` percent-encodes every id in a path); a non-ASCII `idempotencyKey` could not be sent as a
header (the submit mutations answer a typed INVALID user error for it). Each was a masked INTERNAL_SERVER_ERROR.

Few examples, derandomized: the run is reproducible and takes well under 90 seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from graphql import GraphQLError, parse, validate
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.graphql import nodes

from gateway.app import create_app as create_gateway
from gateway.errors import ErrorCode
from gateway.schema import schema as gateway_schema
from tests.conftest import template_name
from tests.gateway.conftest import gateway_settings
from tests.security.test_schemathesis import CALLERS, build_app, caller_headers, fuzz_settings, serve
from tests.support import clone_database

MAX_EXAMPLES = 10
MASKED = "An unexpected error occurred"
REFUSED = {code.value for code in ErrorCode} - {
    ErrorCode.INTERNAL_SERVER_ERROR.value,
    ErrorCode.UPSTREAM_UNAVAILABLE.value,
}
"""Error codes that are the gateway refusing a request for a reason it knows: every other code is a failure."""

# The custom input scalars: mostly well-formed values, sometimes anything (the gateway must refuse those).
schemathesis.graphql.scalar(
    "Date",
    st.one_of(st.dates().map(lambda d: d.isoformat()), st.text(max_size=12)).map(nodes.String),
)
schemathesis.graphql.scalar(
    "DateTime",
    st.one_of(st.datetimes().map(lambda d: d.isoformat() + "Z"), st.text(max_size=12)).map(nodes.String),
)
schemathesis.graphql.scalar("JSON", st.just(nodes.String("{}")))


@dataclass
class Report:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)


@dataclass
class Served:
    url: str
    schema: Any
    report: Report


def _check(body: Any, negative: bool) -> str | None:
    """What is wrong with one GraphQL answer, or None."""
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        return f"not a GraphQL response: {str(body)[:200]}"
    errors = body.get("errors") or []
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        message = str(error.get("message", ""))
        if MASKED in message or (code is not None and code not in REFUSED):
            return f"error {code}: {message}"
        if "Cannot return null for non-nullable field" in message:
            return f"schema contract broken: {message}"
    if negative and not errors:
        return "schema-violating input was accepted"
    return None


def _violates_schema(document: Any) -> bool:
    """Whether a generated document really breaks the schema (negative mode may draw a valid one, e.g. null for a
    nullable argument): only then must the gateway refuse it."""
    if not isinstance(document, str):
        return True
    try:
        return bool(validate(gateway_schema._schema, parse(document)))
    except GraphQLError:
        return True


def fuzz_operation(operation: Any, mode: GenerationMode, url: str, report: Report) -> None:
    session = requests.Session()
    negative = mode is GenerationMode.NEGATIVE

    @fuzz_settings(MAX_EXAMPLES)
    @given(case=operation.as_strategy(generation_mode=mode), role=st.sampled_from(CALLERS))
    def run(case: Any, role: str) -> None:
        response = case.call(base_url=url, session=session, headers=caller_headers(role), timeout=30)
        report.requests += 1
        assert response.status_code < 500, f"HTTP {response.status_code} as {role}\n{case.body}"
        body = response.json()
        for error in body.get("errors") or []:
            code = str((error.get("extensions") or {}).get("code"))
            report.codes[code] = report.codes.get(code, 0) + 1
        problem = _check(body, negative and _violates_schema(case.body))
        assert problem is None, f"{operation.label} [{mode.value}] as {role}: {problem}\n{case.body}"

    try:
        run()
    except Unsatisfiable:
        assert negative, operation.label  # nothing to negate: the field takes no argument
    except Exception as exc:  # one operation's failure must not hide the others'
        report.failures.append(f"{operation.label} [{mode.value}]: {exc}")
    finally:
        session.close()


def has_arguments(label: str) -> bool:
    kind, name = label.split(".")
    root = gateway_schema._schema.query_type if kind == "Query" else gateway_schema._schema.mutation_type
    assert root is not None
    return bool(root.fields[name].args)


def list_operations() -> list[str]:
    """`Query.<field>` and `Mutation.<field>` for every root field of the gateway's schema."""
    graphql_schema = gateway_schema._schema
    assert graphql_schema.query_type is not None and graphql_schema.mutation_type is not None
    return [f"Query.{name}" for name in graphql_schema.query_type.fields] + [
        f"Mutation.{name}" for name in graphql_schema.mutation_type.fields
    ]


@pytest.fixture(scope="module")
async def gateway_served(
    server_url: str, referrals_db: str, cases_db: str, outcomes_db: str, intelligence_db: str
) -> AsyncIterator[Served]:
    async with (
        clone_database(server_url, template_name("referrals")) as referrals_url,
        clone_database(server_url, template_name("cases")) as cases_url,
        clone_database(server_url, template_name("outcomes")) as outcomes_url,
        clone_database(server_url, template_name("intelligence")) as intelligence_url,
    ):
        with (
            serve(build_app("outcomes", outcomes_url)) as outcomes,
            serve(build_app("cases", cases_url, outcomes_url=outcomes)) as cases,
            serve(
                build_app("intelligence", intelligence_url, outcomes_url=outcomes, retention_interval_seconds=0)
            ) as intelligence,
        ):
            referrals_app = build_app(
                "referrals", referrals_url, cases_url=cases, outcomes_url=outcomes, match_retry_interval=0
            )
            with serve(referrals_app) as referrals:
                gateway = create_gateway(
                    gateway_settings(
                        referrals_url=referrals, cases_url=cases, outcomes_url=outcomes, intelligence_url=intelligence
                    )
                )
                with serve(gateway) as gateway_url:
                    schema = schemathesis.graphql.from_file(gateway_schema.as_str())
                    report = Report()
                    yield Served(f"{gateway_url}/graphql", schema, report)
                    print(f"gateway: {report.requests} requests, error codes {report.codes}")


@pytest.mark.parametrize("label", list_operations())
async def test_operation_never_fails_on_the_server(label: str, gateway_served: Served) -> None:
    kind, name = label.split(".")
    operation = gateway_served.schema[kind][name]
    report = gateway_served.report
    before, failures_before = report.requests, len(report.failures)
    # A field without arguments has nothing to make schema-violating: it runs in positive mode only.
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if has_arguments(label) else (GenerationMode.POSITIVE,)
    for mode in modes:
        await asyncio.to_thread(fuzz_operation, operation, mode, gateway_served.url, report)
    assert report.requests > before, "no request was sent"
    assert len(report.failures) == failures_before, "\n\n".join(report.failures[failures_before:])
