"""The gateway in the authorisation matrix: every caller × every GraphQL query root field and mutation, and the
gateway's REST routes (`GET /reports/cohort`, `GET /reports/need-profile`), checked against the real gateway over
the four real services.

The gateway app runs in process with its lifespan, and its upstream clients reach the services' apps of
tests/security/conftest.py (real apps, real PostgreSQL, each test rolled back) through ASGI transports, so the
`world` fixture's objects and outsider callers are the REST matrix's (tests/security/matrix.py).

Cells (what the caller gets for that field, as the outsider the REST matrix uses):
* `data`            — the field resolves (a non-empty value, no error);
* `empty`           — let through, but nothing of the world's is theirs: an empty list or connection;
* `null`            — let through, but the object is not theirs (or there is no caller): null, no error;
* `NOT_FOUND`       — a mutation answered with a `userErrors` entry of code NOT_FOUND (ids are not disclosed);
* `INVALID` / `CONFLICT` — let through, and refused for its input or the object's state (a typed user error);
* `FORBIDDEN`       — an error with `extensions.code` FORBIDDEN (the service's 403), data null;
* `UNAUTHENTICATED` — an error with code UNAUTHENTICATED (no token), data null;
* `200` / `401` / `403` — the HTTP status of the REST route.

The table is checked to cover every root field of the live schema, so a new field without a row fails.
`python -m tests.security.test_gateway_authz` prints it as it appears in docs/security.md.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.app import create_app
from gateway.clients import Upstream, Upstreams
from tests.gateway.conftest import gateway_settings
from tests.security.conftest import SecurityWorld
from tests.support import app_client

CALLERS = ("none", "partner_system", "practitioner", "hub_manager", "analyst", "auditor", "admin")
HEADER = ("none", "partner", "practitioner", "hub mgr", "analyst", "auditor", "admin")
REPORT_ROUTE = "GET /reports/cohort"
NEED_PROFILE_ROUTE = "GET /reports/need-profile"
PAYLOAD_ERRORS = "userErrors { field message code }"


def row(cells: str) -> dict[str, str]:
    values = cells.split()
    assert len(values) == len(CALLERS), cells
    return dict(zip(CALLERS, values, strict=True))


CASE_OBJECT = row("UNAUTHENTICATED FORBIDDEN NOT_FOUND NOT_FOUND FORBIDDEN FORBIDDEN FORBIDDEN")
"""A change to one case: its lead worker, team and hub managers only (the callers are outsiders, so 404)."""

# (root type, field) → {caller: expected}; the callers are the REST matrix's outsiders (world.caller).
# Each caller runs the queries, then the mutations in this order, then the REST route; admin goes last.
MATRIX: dict[tuple[str, str], dict[str, str]] = {
    ("Query", "health"): row("data data data data data data data"),
    ("Query", "me"): row("null data data data data data data"),
    ("Query", "family"): row("UNAUTHENTICATED FORBIDDEN null null FORBIDDEN FORBIDDEN FORBIDDEN"),
    ("Query", "families"): row("UNAUTHENTICATED FORBIDDEN empty empty FORBIDDEN FORBIDDEN FORBIDDEN"),
    ("Query", "person"): row("UNAUTHENTICATED FORBIDDEN null null FORBIDDEN FORBIDDEN FORBIDDEN"),
    ("Query", "referral"): row("UNAUTHENTICATED null null null FORBIDDEN FORBIDDEN data"),
    # The south hub manager sees the school referrals submitted earlier in the walk (LS10 is allocated to south).
    ("Query", "referrals"): row("UNAUTHENTICATED empty empty data FORBIDDEN FORBIDDEN data"),
    ("Query", "triageQueue"): row("UNAUTHENTICATED empty empty empty FORBIDDEN FORBIDDEN data"),
    ("Query", "identityReviews"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN empty FORBIDDEN FORBIDDEN empty"),
    ("Query", "identifiedFamilies"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN empty empty FORBIDDEN empty"),
    ("Query", "identifiedFamily"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN null null FORBIDDEN null"),
    ("Query", "needProfile"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN FORBIDDEN data FORBIDDEN data"),
    ("Query", "worker"): row("UNAUTHENTICATED FORBIDDEN data data FORBIDDEN FORBIDDEN FORBIDDEN"),
    ("Query", "node"): row("UNAUTHENTICATED null null null null null null"),
    ("Query", "nodes"): row("UNAUTHENTICATED data data data data data data"),
    ("Query", "hubWorkers"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN empty FORBIDDEN FORBIDDEN FORBIDDEN"),
    ("Query", "frameworks"): row("UNAUTHENTICATED FORBIDDEN data data data data data"),
    ("Query", "claims"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN FORBIDDEN empty empty empty"),
    ("Query", "cohortReport"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN FORBIDDEN data FORBIDDEN data"),
    ("Mutation", "submitMaternityReferral"): row("UNAUTHENTICATED data data FORBIDDEN FORBIDDEN FORBIDDEN data"),
    # The partner is a maternity service's system: it may not submit a school referral (issue 22).
    ("Mutation", "submitSchoolReferral"): row("UNAUTHENTICATED FORBIDDEN data FORBIDDEN FORBIDDEN FORBIDDEN data"),
    # The partner is a maternity service's system: the partner form is for police, health, housing, probation, vcs.
    ("Mutation", "submitPartnerReferral"): row("UNAUTHENTICATED FORBIDDEN data FORBIDDEN FORBIDDEN FORBIDDEN data"),
    ("Mutation", "decideReferral"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN NOT_FOUND FORBIDDEN FORBIDDEN data"),
    # The admin decided the referral just before: it can no longer be withdrawn.
    ("Mutation", "withdrawReferral"): row("UNAUTHENTICATED NOT_FOUND NOT_FOUND FORBIDDEN FORBIDDEN FORBIDDEN CONFLICT"),
    ("Mutation", "confirmIdentity"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN NOT_FOUND FORBIDDEN FORBIDDEN CONFLICT"),
    ("Mutation", "mergeFamilies"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN NOT_FOUND FORBIDDEN FORBIDDEN FORBIDDEN"),
    ("Mutation", "undoFamilyMerge"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN NOT_FOUND FORBIDDEN FORBIDDEN FORBIDDEN"),
    ("Mutation", "decideIdentifiedFamily"): row(
        "UNAUTHENTICATED FORBIDDEN FORBIDDEN NOT_FOUND FORBIDDEN FORBIDDEN NOT_FOUND"
    ),
    ("Mutation", "assignLeadWorker"): row(
        "UNAUTHENTICATED FORBIDDEN NOT_FOUND NOT_FOUND FORBIDDEN FORBIDDEN FORBIDDEN"
    ),
    ("Mutation", "recordAssessment"): row(
        "UNAUTHENTICATED FORBIDDEN NOT_FOUND NOT_FOUND FORBIDDEN FORBIDDEN FORBIDDEN"
    ),
    ("Mutation", "updatePlan"): CASE_OBJECT,
    ("Mutation", "updateTeam"): CASE_OBJECT,
    ("Mutation", "addContact"): CASE_OBJECT,
    ("Mutation", "closeCase"): CASE_OBJECT,
    ("Mutation", "recordObservations"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN FORBIDDEN data FORBIDDEN data"),
    ("Mutation", "runEvaluation"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN FORBIDDEN data FORBIDDEN data"),
    # The world's family has no met and sustained outcomes: let through, and refused as not claimable.
    ("Mutation", "createClaim"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN FORBIDDEN INVALID FORBIDDEN INVALID"),
    ("Mutation", "sampleClaimsForAudit"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN FORBIDDEN FORBIDDEN data data"),
    ("Mutation", "validateClaim"): row("UNAUTHENTICATED FORBIDDEN FORBIDDEN FORBIDDEN FORBIDDEN NOT_FOUND NOT_FOUND"),
    ("REST", REPORT_ROUTE): row("401 403 403 403 200 403 200"),
    ("REST", NEED_PROFILE_ROUTE): row("401 403 403 403 200 403 200"),
}

NOTES: dict[tuple[str, str], str] = {
    ("Query", "me"): "null without a token (no error): the services decide every access",
    ("Query", "referrals"): "their own only (agency, hubs; admin all): south's manager sees the school referrals",
    ("Query", "node"): "the family by id: null for an id the caller may not see, whatever the service's refusal",
    ("Query", "nodes"): "the family and a person: a list holding null for each id the caller may not see",
    ("Mutation", "createClaim"): "INVALID: the family is not claimable (let through; a 422 problem in REST)",
    (
        "Mutation",
        "submitSchoolReferral",
    ): "a maternity service's partner system: school referrals are not its kind",
    ("Mutation", "submitPartnerReferral"): "a maternity service's partner system: partner referrals are not its kind",
    ("Mutation", "confirmIdentity"): "CONFLICT: the admin decided the referral earlier in the walk (let through)",
    ("Mutation", "mergeFamilies"): "hub managers only; the outsider manager gets NOT_FOUND (ids are not disclosed)",
    ("Mutation", "withdrawReferral"): "CONFLICT: the admin decided it the step before (let through)",
}

# --- the operation for each field --------------------------------------------------------------------------


def _snake_to_camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


ENUM_KEYS = {"method", "lawful_basis", "sen_status", "status", "kind", "outcome", "decision"}


def camel(value: Any, key: str = "") -> Any:
    """A REST body (snake_case, lower-case enums) as GraphQL input variables (camelCase, upper-case enums)."""
    if isinstance(value, dict):
        return {_snake_to_camel(k): camel(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v, key) for v in value]
    if isinstance(value, str) and key in ENUM_KEYS:
        return value.upper()
    return value


def partner_input(body: dict[str, Any]) -> dict[str, Any]:
    """A partner referral as GraphQL input: the people's roles are enum values (the referrer's role is text)."""
    value: dict[str, Any] = camel(body)
    value["people"] = [{**p, "role": p["role"].upper()} for p in value["people"]]
    return value


def operation(kind: str, field: str, ids: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The GraphQL document and variables that exercise `field` on the world's objects."""
    from tests.cases.conftest import ASSESSMENT, plan_body
    from tests.referrals.conftest import maternity_payload, partner_payload, school_payload

    connection = "{ edges { node { id } } }"
    queries: dict[str, tuple[str, dict[str, Any]]] = {
        "health": ("{ health { service ready } }", {}),
        "me": ("{ me { sub roles } }", {}),
        "family": ("query($id: ID!) { family(id: $id) { id } }", {"id": ids["family_id"]}),
        "families": ("{ families(first: 5) " + connection + " }", {}),
        "person": ("query($id: ID!) { person(id: $id) { id } }", {"id": ids["person_id"]}),
        "referral": ("query($id: ID!) { referral(id: $id) { id } }", {"id": ids["referral_id"]}),
        "referrals": ("{ referrals(first: 5) " + connection + " }", {}),
        "triageQueue": ('{ triageQueue(hubId: "north", first: 5) ' + connection + " }", {}),
        "identityReviews": ("{ identityReviews(first: 5) { edges { node { referralId } } } }", {}),
        "identifiedFamilies": ("{ identifiedFamilies(first: 5) " + connection + " }", {}),
        "identifiedFamily": ("query($id: ID!) { identifiedFamily(id: $id) { id } }", {"id": ids["merge_id"]}),
        "needProfile": ("{ needProfile { families } }", {}),
        "worker": ("query($id: ID!) { worker(id: $id) { id } }", {"id": ids["worker_id"]}),
        "node": ("query($id: ID!) { node(id: $id) { id } }", {"id": ids["family_id"]}),
        "nodes": ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [ids["family_id"], ids["person_id"]]}),
        "hubWorkers": ('{ hubWorkers(hub: "south") { id capacity } }', {}),
        "frameworks": ("{ frameworks { code } }", {}),
        "claims": ("{ claims(first: 5) " + connection + " }", {}),
        "cohortReport": ("{ cohortReport }", {}),
    }
    if kind == "Query":
        return queries[field]
    now = datetime.now(UTC).isoformat()
    mutations: dict[str, tuple[str, str, dict[str, Any]]] = {
        "submitMaternityReferral": (
            "$input: MaternityReferralInput!, $key: String!",
            "input: $input, idempotencyKey: $key",
            {"input": camel(maternity_payload()), "key": str(uuid.uuid4())},
        ),
        "submitSchoolReferral": (
            "$input: SchoolReferralInput!, $key: String!",
            "input: $input, idempotencyKey: $key",
            {"input": camel(school_payload()), "key": str(uuid.uuid4())},
        ),
        "submitPartnerReferral": (
            "$input: PartnerReferralInput!, $key: String!",
            "input: $input, idempotencyKey: $key",
            {"input": partner_input(partner_payload()), "key": str(uuid.uuid4())},
        ),
        "decideReferral": (
            "$id: ID!",
            'id: $id, input: {decision: SIGNPOSTED, reason: "matrix"}',
            {"id": ids["referral_id"]},
        ),
        "withdrawReferral": ("$id: ID!", 'id: $id, reason: "matrix"', {"id": ids["referral_id"]}),
        "confirmIdentity": (
            "$id: ID!, $ref: String!",
            'referralId: $id, ref: $ref, personId: null, reason: "matrix"',
            {"id": ids["referral_id"], "ref": ids["ref"]},
        ),
        "mergeFamilies": (
            "$id: ID!, $other: ID!",
            'familyId: $id, input: {mergeFamilyId: $other, reason: "matrix"}',
            {"id": ids["family_id"], "other": ids["merge_id"]},
        ),
        "undoFamilyMerge": ("$id: ID!", 'mergeId: $id, reason: "matrix"', {"id": ids["merge_id"]}),
        "decideIdentifiedFamily": (
            "$id: ID!",
            'id: $id, decision: DISMISS, reason: "matrix"',
            {"id": ids["merge_id"]},
        ),
        "assignLeadWorker": (
            "$id: ID!, $worker: ID!",
            'caseId: $id, input: {workerId: $worker, reason: "matrix"}',
            {"id": ids["case_id"], "worker": ids["worker_id"]},
        ),
        "recordAssessment": (
            "$id: ID!, $input: AssessmentInput!",
            "caseId: $id, input: $input",
            {"id": ids["case_id"], "input": camel(ASSESSMENT)},
        ),
        "updatePlan": (
            "$id: ID!, $input: PlanInput!",
            "caseId: $id, input: $input",
            {"id": ids["case_id"], "input": camel(plan_body())},
        ),
        "updateTeam": (
            "$id: ID!, $worker: ID!",
            'caseId: $id, input: {team: [{workerId: $worker, role: "matrix"}], reason: "matrix"}',
            {"id": ids["case_id"], "worker": ids["worker_id"]},
        ),
        "addContact": (
            "$id: ID!, $at: DateTime!",
            'caseId: $id, input: {kind: VISIT, occurredAt: $at, note: "matrix"}',
            {"id": ids["case_id"], "at": now},
        ),
        "closeCase": ("$id: ID!", 'caseId: $id, input: {outcome: OTHER, reason: "matrix"}', {"id": ids["case_id"]}),
        "recordObservations": (
            "$person: ID!",
            'observations: [{kind: OFFENCE, personId: $person, occurredOn: "2026-01-05"}]',
            {"person": ids["person_id"]},
        ),
        "runEvaluation": ("$id: ID!", "familyId: $id", {"id": ids["family_id"]}),
        "createClaim": ("$id: ID!", "familyId: $id", {"id": ids["family_id"]}),
        "sampleClaimsForAudit": ("", "rate: 0.1, seed: 7", {}),
        "validateClaim": (
            "$id: ID!",
            'id: $id, input: {decision: REJECTED, reason: "matrix"}',
            {"id": ids["claim_id"]},
        ),
    }
    params, args, variables = mutations[field]
    signature = f"({params})" if params else ""
    return f"mutation{signature} {{ {field}({args}) {{ {PAYLOAD_ERRORS} }} }}", variables


def observe(kind: str, field: str, body: dict[str, Any]) -> str:
    """The cell a GraphQL answer falls in (see the module docstring)."""
    codes = sorted({str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []})
    if codes:
        return "+".join(codes)
    value = (body.get("data") or {}).get(field)
    if value is None:
        return "null"
    if kind == "Mutation":
        errors = value["userErrors"]
        return "+".join(sorted({e["code"] for e in errors})) if errors else "data"
    if isinstance(value, dict) and "edges" in value:
        return "data" if value["edges"] else "empty"
    if isinstance(value, list):
        return "data" if value else "empty"
    return "data"


def root_fields() -> set[tuple[str, str]]:
    """Every root field of the schema the gateway serves (queries and mutations)."""
    from gateway.schema import build_schema

    graphql_schema = build_schema(gateway_settings())._schema
    assert graphql_schema.query_type is not None and graphql_schema.mutation_type is not None
    return {("Query", name) for name in graphql_schema.query_type.fields} | {
        ("Mutation", name) for name in graphql_schema.mutation_type.fields
    }


@pytest.fixture
async def intelligence(
    intelligence_db: str, intelligence_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """The intelligence service's app over its rolled-back session (it has no row in the REST world)."""
    from intelligence.app import create_app as intelligence_app
    from intelligence.config import Settings as IntelligenceSettings

    async with app_client(
        intelligence_app, IntelligenceSettings, intelligence_db, sessionmaker=intelligence_sessions,
        retention_interval_seconds=0,
    ) as client:  # fmt: skip
        yield client


@pytest.fixture
async def gateway(
    referrals: httpx.AsyncClient,
    cases: httpx.AsyncClient,
    outcomes: httpx.AsyncClient,
    intelligence: httpx.AsyncClient,
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in process, its upstreams the security fixtures' service apps (over ASGI, not mocks); the
    intelligence service is the intelligence tests' app over its rolled-back session."""
    app = create_app(gateway_settings())

    def upstream(name: str, client: httpx.AsyncClient) -> Upstream:
        return Upstream(name, f"http://{name}", transport=httpx.ASGITransport(app=client.app))  # type: ignore[attr-defined]

    app.state.upstreams = Upstreams(
        referrals=upstream("referrals", referrals),
        cases=upstream("cases", cases),
        outcomes=upstream("outcomes", outcomes),
        intelligence=upstream("intelligence", intelligence),
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=60) as client:
            yield client


async def walk(gateway: httpx.AsyncClient, world: SecurityWorld) -> dict[tuple[str, str], dict[str, str]]:
    """Every caller × every row of the table, in its order; returns the observed cells."""
    observed: dict[tuple[str, str], dict[str, str]] = {key: {} for key in MATRIX}
    for caller in CALLERS:
        headers = world.caller(caller)
        for kind, field in MATRIX:
            if kind == "REST":
                response = await gateway.get(field.split()[1], params={"format": "json"}, headers=headers)
                if response.status_code != 200:
                    assert response.headers["content-type"].startswith("application/problem+json"), response.text
                observed[(kind, field)][caller] = str(response.status_code)
                continue
            query, variables = operation(kind, field, world.ids)
            response = await gateway.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
            assert response.status_code == 200, response.text
            observed[(kind, field)][caller] = observe(kind, field, response.json())
    return observed


def test_every_root_field_has_a_row() -> None:
    live = root_fields()
    rows = {key for key in MATRIX if key[0] != "REST"}
    assert not sorted(live - rows), f"root fields without a row in the gateway matrix: {sorted(live - rows)}"
    assert not sorted(rows - live), f"rows for root fields that no longer exist: {sorted(rows - live)}"
    paths = create_app(gateway_settings()).openapi()["paths"]
    routes = {f"{method.upper()} {path}" for path, ops in paths.items() for method in ops}
    # The GraphQL endpoint and health checks, and the REST routes that have a row: a new route needs one.
    assert routes == {"POST /graphql", "GET /healthz", "GET /readyz", "GET /privacy", REPORT_ROUTE,
                      NEED_PROFILE_ROUTE}, routes  # fmt: skip
    assert all(set(cells) == set(CALLERS) for cells in MATRIX.values())


async def test_every_cell(gateway: httpx.AsyncClient, world: SecurityWorld) -> None:
    observed = await walk(gateway, world)
    wrong = [
        f"{caller:>14} {kind} {field}: want {cells[caller]}, got {observed[(kind, field)][caller]}"
        for (kind, field), cells in MATRIX.items()
        for caller in CALLERS
        if observed[(kind, field)][caller] != cells[caller]
    ]
    assert sum(len(v) for v in observed.values()) == len(MATRIX) * len(CALLERS)
    assert not wrong, "gateway authorisation matrix mismatches:\n" + "\n".join(wrong)


def test_docs_show_the_gateway_matrix() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "security.md"
    assert render_markdown() in doc.read_text(), "regenerate the table: python -m tests.security.test_gateway_authz"


def render_markdown() -> str:
    """The table as it appears in docs/security.md."""
    lines = [
        "| root | field | " + " | ".join(HEADER) + " | note |",
        "|---|---|" + "---|" * len(HEADER) + "---|",
    ]
    for (kind, field), cells in MATRIX.items():
        values = " | ".join(cells[c] for c in CALLERS)
        lines.append(f"| {kind} | `{field}` | {values} | {NOTES.get((kind, field), '')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown())
