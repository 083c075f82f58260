"""Spectral, with the OpenAPI rules and the OWASP API Security ruleset of the checked-in `.spectral.yaml`, finds
nothing in the four OpenAPI documents (each from its real `create_app()`) beyond the bounds still counted in
`spectral_pending.json`, which may only go down."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.conformance.test_openapi import APPS
from tests.conformance.tools import REPO

SPECTRAL_DIR = REPO / ".venv/tools/spectral"
PENDING = Path(__file__).with_name("spectral_pending.json")


def _spectral() -> Path:
    binary = SPECTRAL_DIR / "node_modules/.bin/spectral"
    if not binary.exists():
        pytest.fail(
            "Spectral is not installed, so this check cannot run: `make test` installs it with npm "
            "(Makefile, SPECTRAL_STAMP)",
            pytrace=False,
        )
    return binary


CANARY = {
    "openapi": "3.1.0",
    "info": {"title": "canary", "version": "1"},
    "paths": {
        "/things": {
            "post": {
                "requestBody": {"content": {"application/json": {"schema": {"type": "integer"}}}},
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
}
"""A document the ruleset must fault (so a ruleset that failed to load cannot pass): no servers, an unbounded
integer without format, a write without security."""


def test_spectral_with_the_owasp_ruleset_finds_only_the_pending_bounds(tmp_path: Path) -> None:
    spectral = _spectral()
    canary = tmp_path / "canary.json"
    canary.write_text(json.dumps(CANARY))
    files = [str(canary)]
    for name, build in APPS.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(build()))
        files.append(str(path))
    # The OWASP ruleset is an npm package: NODE_PATH lets `.spectral.yaml` name it and find it installed locally.
    env = {**os.environ, "NODE_PATH": str(SPECTRAL_DIR / "node_modules")}
    result = subprocess.run(
        [str(spectral), "lint", "--ruleset", str(REPO / ".spectral.yaml"), "--format", "json", "--quiet", *files],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr  # 1: something was found; anything else: it did not run
    findings = json.loads(result.stdout)
    assert isinstance(findings, list), result.stdout[:500]
    found: dict[str, Counter[str]] = {name: Counter() for name in [*APPS, "canary"]}
    examples: dict[tuple[str, str], str] = {}
    for finding in findings:
        name = Path(finding["source"]).stem
        found[name][finding["code"]] += 1
        examples.setdefault((name, finding["code"]), "/".join(map(str, finding["path"])))
    assert {"oas3-api-servers", "owasp:api4:2023-integer-format", "owasp:api2:2023-write-restricted"} <= set(
        found.pop("canary")
    ), "the ruleset did not run"
    pending = json.loads(PENDING.read_text())
    assert set(pending) - {"why"} == set(APPS)
    over = {
        (name, code): (count, pending[name].get(code, 0), examples[(name, code)])
        for name, counts in found.items()
        for code, count in counts.items()
        if count > pending[name].get(code, 0)
    }
    assert not over, f"new Spectral findings (document, rule): (found, allowed, first at): {over}"
