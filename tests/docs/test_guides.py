"""Every shell, curl and GraphQL example of the README and the guides runs as written against a real stack.

Each document's shell blocks run top to bottom in one bash process (as a reader would paste them), with
`set -eu` (no pipefail: a reader's `| head` must not fail the example) and `curl` failing on HTTP errors unless
the block reads the status itself (`-w`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import REPO, Stack
from docs_blocks import DOCUMENTS, Block, blocks

pytestmark = pytest.mark.e2e
SHELL = {"bash", "sh", "shell", "console"}
# Blocks that are not examples to run, each with the reason (the text must still be in the document).
NOT_RUN = {
    "make run    #": "starts the whole platform: the stack under test is exactly what it starts",
    "earlyhelp smoke --gateway": "run with these exact arguments by tests/docs/test_smoke.py",
}
CURL_FAILS_ON_HTTP_ERRORS = (
    'curl() { case " $* " in *" -w "*) command curl "$@";; *) command curl --fail-with-body "$@";; esac; }\n'
)
GRAPHQL_EXAMPLES = {
    "practitioner-caseload.graphql": ("PRACTITIONER_TOKEN", {}),
    "triage-queue.graphql": ("HUB_MANAGER_TOKEN", {"hubId": "north"}),
    "family-page.graphql": ("HUB_MANAGER_TOKEN", {"id": None}),
    "analyst-dashboard.graphql": ("ANALYST_TOKEN", {"hub": "north"}),
}


def _runnable(block: Block) -> bool:
    return block.lang in SHELL and not any(marker in block.text for marker in NOT_RUN)


def test_the_documents_have_runnable_examples() -> None:
    names = {d.name for d in DOCUMENTS}
    assert {"README.md", "partner-integration.md", "portal-developers.md", "data-team.md", "operators.md"} <= names
    for document in DOCUMENTS:
        if document.name == "configuration.md":
            continue
        assert any(_runnable(b) for b in blocks(document)), f"{document.name} has no shell example"
    everything = "".join(d.read_text() for d in DOCUMENTS)
    for marker in NOT_RUN:
        assert marker in everything, f"NOT_RUN entry {marker!r} matches no block any more"


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if d.name != "configuration.md"], ids=lambda d: d.name)
def test_shell_examples_run_as_written(stack: Stack, document: Path) -> None:
    script = ["set -eu", CURL_FAILS_ON_HTTP_ERRORS]
    for block in filter(_runnable, blocks(document)):
        script.append(f"echo '=== {block.where}'")
        script.append(stack.localise(block.text))
    run = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=stack.workdir,
        capture_output=True,
        text=True,
        timeout=240,
    )
    failed_at = [line for line in run.stdout.splitlines() if line.startswith("=== ")][-1:]
    assert run.returncode == 0, f"example failed after {failed_at}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"


def test_graphql_blocks_run_or_match_their_example_file(stack: Stack) -> None:
    tokens = stack.tokens
    checked = 0
    for document in DOCUMENTS:
        for block in blocks(document):
            if block.lang != "graphql":
                continue
            first = block.text.splitlines()[0]
            if first.startswith("# examples/graphql/"):
                path = REPO / first.removeprefix("# ").strip()
                assert block.text.split("\n", 1)[1] == path.read_text(), f"{block.where} differs from {path.name}"
            else:
                r = httpx.post(
                    f"{stack.url('gateway')}/graphql",
                    json={"query": block.text},
                    headers={"Authorization": f"Bearer {tokens['HUB_MANAGER_TOKEN']}"},
                    timeout=30,
                )
                assert r.status_code == 200 and "errors" not in r.json() and r.json()["data"], (block.where, r.text)
            checked += 1
    assert checked >= 5


def test_json_blocks_are_json() -> None:
    for document in DOCUMENTS:
        for block in blocks(document):
            if block.lang == "json":
                json.loads(block.text)


def test_every_example_query_answers_without_errors(stack: Stack) -> None:
    tokens = stack.tokens
    gateway = f"{stack.url('gateway')}/graphql"
    families = httpx.post(
        gateway,
        json={"query": '{ families(first: 1, filter: {hub: "north"}) { nodes { id } } }'},
        headers={"Authorization": f"Bearer {tokens['HUB_MANAGER_TOKEN']}"},
        timeout=30,
    ).json()
    family_id = families["data"]["families"]["nodes"][0]["id"]
    files = sorted((REPO / "examples" / "graphql").glob("*.graphql"))
    assert {f.name for f in files} == set(GRAPHQL_EXAMPLES)
    for path in files:
        token, variables = GRAPHQL_EXAMPLES[path.name]
        variables = {k: family_id if v is None else v for k, v in variables.items()}
        r = httpx.post(
            gateway,
            json={"query": path.read_text(), "variables": variables},
            headers={"Authorization": f"Bearer {tokens[token]}"},
            timeout=30,
        )
        body = r.json()
        assert r.status_code == 200 and not body.get("errors"), (path.name, r.text[:2000])
        assert all(v is not None for v in body["data"].values()), (path.name, body)
    # The demo data fills what the portals show: a caseload, a queue, a family with members and a case.
    caseload = httpx.post(
        gateway,
        json={"query": (REPO / "examples/graphql/practitioner-caseload.graphql").read_text()},
        headers={"Authorization": f"Bearer {tokens['PRACTITIONER_TOKEN']}"},
        timeout=30,
    ).json()
    assert caseload["data"]["me"]["caseload"], caseload


def test_the_school_referral_example_is_valid(stack: Stack) -> None:
    """Validated by the API itself under a fresh reference (the README's block submits it as is)."""
    body = json.loads((REPO / "examples" / "school-referral.json").read_text())
    body["external_reference"] = "DOCS-TEST-0001"
    r = httpx.post(
        f"{stack.url('referrals')}/v1/referrals/school",
        json=body,
        headers={"Authorization": f"Bearer {stack.tokens['PARTNER_SYSTEM_TOKEN']}", "Idempotency-Key": "docs-test-1"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "received" and r.json()["hub"]
