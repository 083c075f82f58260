"""Spectral, with the OpenAPI rules and the OWASP API Security ruleset of the checked-in `.spectral.yaml`, finds
nothing in the OpenAPI documents of the four services and the gateway (each from its real `create_app()`): every
string, array and integer is bounded (`shared.fields`), every other rule passes or is turned off with its reason."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conformance.test_openapi import APPS
from tests.conformance.tools import REPO

SPECTRAL_DIR = REPO / ".venv/tools/spectral"


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


def test_spectral_with_the_owasp_ruleset_finds_nothing(tmp_path: Path) -> None:
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
    canary_codes = {f["code"] for f in findings if Path(f["source"]).stem == "canary"}
    assert {"oas3-api-servers", "owasp:api4:2023-integer-format", "owasp:api2:2023-write-restricted"} <= canary_codes, (
        "the ruleset did not run"
    )
    found = [
        f"{Path(f['source']).stem}: {f['code']} at {'/'.join(map(str, f['path']))}"
        for f in findings
        if Path(f["source"]).stem != "canary"
    ]
    assert not found, f"{len(found)} Spectral finding(s), the first: {found[:20]}"
