"""The graphql-http server audit (npm `graphql-http`, `auditServer`) against a live gateway: zero failures, MUSTs
and SHOULDs alike, and no MAY left as a notice (issue 18).

The gateway runs on a real loopback port in front of the running platform's services. It runs in development
mode: the audit's `variables` check asks `__type`, an introspection field the gateway refuses outside
development (by design, `DisableIntrospection`); everything else the audit checks is the same in every mode.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx

from gateway.app import create_app
from gateway.media import GRAPHQL_RESPONSE
from tests.conformance.tools import REPO, tool
from tests.e2e.stack import Stack
from tests.gateway.conftest import gateway_settings
from tests.support.apps import serve_asgi

MODULES = REPO / ".venv" / "tools" / "graphql-http" / "node_modules"
SCRIPT = Path(__file__).with_name("graphql_http_audit.js")
INSTALL = "make test installs it with npm into .venv/tools/graphql-http (needs Node.js and npm: apt-get install npm)"


def _audit(node: str, url: str) -> list[dict[str, str]]:
    done = subprocess.run(
        [node, str(SCRIPT), str(MODULES), url], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, str]] = json.loads(done.stdout)
    return results


async def test_the_gateway_passes_the_graphql_http_audit(live: Stack) -> None:
    node = tool("node", installed_by=INSTALL)
    assert (MODULES / "graphql-http" / "package.json").exists(), f"graphql-http is not installed: {INSTALL}"
    settings = gateway_settings(
        environment="development",
        referrals_url=live.urls["referrals"],
        cases_url=live.urls["cases"],
        outcomes_url=live.urls["outcomes"],
    )
    async with serve_asgi(create_app(settings), lifespan="on") as url:
        results = await asyncio.to_thread(_audit, node, f"{url}/graphql")
    assert len(results) >= 50, results
    failing = [f"{r['status']}: {r['name']} ({r['reason']})" for r in results if r["status"] != "ok"]
    assert failing == []


async def test_request_errors_are_400_under_the_graphql_response_media_type(live: Stack) -> None:
    """A variable that cannot be coerced is the client's error: 400 and no `data` under the new media type, 200
    under `application/json`; either way `BAD_USER_INPUT` naming the variable, never a masked server error."""
    settings = gateway_settings(referrals_url=live.urls["referrals"], cases_url=live.urls["cases"],
                                outcomes_url=live.urls["outcomes"])  # fmt: skip
    query = "query ($n: Int!) { families(first: $n) { edges { cursor } } }"
    async with serve_asgi(create_app(settings), lifespan="on") as url, httpx.AsyncClient(base_url=url) as client:
        new = await client.post("/graphql", json={"query": query, "variables": {"n": "abc"}},
                                headers={"Accept": GRAPHQL_RESPONSE})  # fmt: skip
        legacy = await client.post("/graphql", json={"query": query, "variables": {"n": "abc"}},
                                   headers={"Accept": "application/json"})  # fmt: skip
    assert new.status_code == 400 and new.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in new.json()
    assert legacy.status_code == 200 and legacy.headers["content-type"].startswith("application/json")
    for body in (new.json(), legacy.json()):
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and "$n" in error["message"], error
