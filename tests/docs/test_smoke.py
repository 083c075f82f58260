"""`earlyhelp smoke` — the exact command of the operators' guide — passes against the stack and fails clearly
with one service stopped. The stopping test runs last (it leaves outcomes down for the rest of the session)."""

from __future__ import annotations

import os
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from conftest import REPO, Stack
from docs_blocks import blocks
from typer.testing import CliRunner

from earlyhelp.cli import app
from earlyhelp.contract_checks import local_openapi, probe_document, removed_operations
from earlyhelp.smoke import Smoke, Target
from shared.errors import PROBLEM_JSON, Problem

pytestmark = pytest.mark.e2e


def guide_command(stack: Stack, workdir: Path) -> list[str]:
    """The smoke command of docs/guides/operators.md with this stack's ports and tokens."""
    (block,) = [b for b in blocks(REPO / "docs/guides/operators.md") if "earlyhelp smoke --gateway" in b.text]
    command = next(line for line in block.text.split("\n\n")[0].split("\n") if "earlyhelp smoke" in line)
    command = block.text[block.text.index(command) :].replace("\\\n", " ")
    for name, value in stack.tokens.items():
        command = command.replace(f'"${name}"', value)
    args = shlex.split(stack.localise(command))
    assert args[:2] == [".venv/bin/earlyhelp", "smoke"], args
    return [a if not a.endswith(".xml") else str(workdir / a) for a in args[1:]]


def test_removed_operations_and_the_probe_document() -> None:
    expected = {"paths": {"/v1/a": {"get": {}, "post": {}}, "/v1/b": {"get": {}}}}
    deployed = {"paths": {"/v1/a": {"get": {}}, "/v1/c": {"get": {}}}}
    assert removed_operations(expected, deployed) == ["operation removed: POST /v1/a", "path removed: /v1/b"]
    assert removed_operations(expected, expected) == []
    sdl = "type Query { a(id: ID!): T  b: Int }\ntype T { x: Int }\ntype Mutation { m(n: Int!): T }\n"
    document = probe_document(sdl)
    assert "query SmokeProbeRun { __typename }" in document
    assert 'a(id: "00000000-0000-0000-0000-000000000000") { __typename }' in document
    assert "mutation SmokeProbeMutation0 { m(n: 0) { __typename } }" in document


def test_the_contract_check_fails_on_an_invalid_openapi_document() -> None:
    """A deployment whose referrals document inlines the old Problem schema (a `$ref` to `#/$defs/…` that resolves
    nowhere) fails "contract · openapi referrals"; its valid gateway document passes."""
    broken = local_openapi("referrals")
    for item in broken["paths"].values():
        for op in item.values():
            for response in op["responses"].values():
                if PROBLEM_JSON in response.get("content", {}):
                    response["content"][PROBLEM_JSON]["schema"] = Problem.model_json_schema()
    documents = {"gw.test": local_openapi("gateway"), "referrals.test": broken}

    def deployment(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/openapi.json":
            return httpx.Response(200, json=documents[request.url.host])
        return httpx.Response(200, json={"data": None, "errors": [{"message": "introspection is off"}]})

    target = Target(gateway="http://gw.test", token="t", services={"referrals": "http://referrals.test"})
    with httpx.Client(transport=httpx.MockTransport(deployment)) as http:
        smoke = Smoke(target, http, echo=lambda _: None)
        smoke.check_contracts()
    results = {c.name: c for c in smoke.report.cases}
    assert results["openapi gateway"].status == "passed", results["openapi gateway"].message
    failed = results["openapi referrals"]
    assert failed.status == "failed"
    assert failed.message.startswith("the deployed referrals OpenAPI document is invalid: PointerToNowhere")
    assert "/$defs/FieldProblem" in failed.message


def test_smoke_passes_against_the_stack(stack: Stack, tmp_path: Path) -> None:
    args = guide_command(stack, tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "smoke passed" in result.output
    suite = ET.parse(tmp_path / "smoke-report.xml").getroot().find("testsuite")
    assert suite is not None
    cases = {f"{c.get('classname')} · {c.get('name')}": c for c in suite.iter("testcase")}
    assert suite.get("failures") == "0" and int(suite.get("tests", "0")) == len(cases) >= 15
    for name in (
        "health · outcomes",
        "contract · graphql schema",
        "contract · openapi referrals",
        "round trip · create a test referral (idempotent)",
        "round trip · withdraw it (cleanup)",
        "webhook · signed status change delivered",
    ):
        assert name in cases and list(cases[name]) == [], name  # neither failed nor skipped
    # The test data was cleaned up: every SMOKE- referral of the agency is withdrawn.
    r = httpx.get(
        f"{stack.url('referrals')}/v1/referrals",
        params={"agency": "SCH-100001", "limit": 100},
        headers={"Authorization": f"Bearer {stack.tokens['ADMIN_TOKEN']}"},
        timeout=30,
    )
    smoke = [x for x in r.json()["items"] if x["external_reference"].startswith("SMOKE-")]
    assert smoke and all(x["status"] == "withdrawn" for x in smoke), smoke


def test_smoke_fails_clearly_with_a_service_stopped(stack: Stack, tmp_path: Path) -> None:
    outcomes = stack.child("outcomes")
    outcomes.terminate()
    outcomes.wait(timeout=30)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{stack.url('outcomes')}/healthz", timeout=5)
    args = [*guide_command(stack, tmp_path), "--timeout", "5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "smoke FAILED" in result.output
    assert re.search(r"✘ health · outcomes: ConnectError calling http://127\.0\.0\.1:\d+/healthz", result.output)
    assert re.search(r"✘ health · services through the gateway: not ready behind the gateway: outcomes", result.output)
    suite = ET.parse(tmp_path / "smoke-report.xml").getroot().find("testsuite")
    assert suite is not None
    failed = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert {"outcomes", "services through the gateway"} <= failed
    # The parts that still run still pass: the referral round trip does not need outcomes.
    passed = {c.get("name") for c in suite.iter("testcase") if not list(c)}
    assert {"referrals", "create a test referral (idempotent)", "withdraw it (cleanup)"} <= passed
    assert os.path.getsize(tmp_path / "smoke-report.xml") > 0
