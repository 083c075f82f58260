"""A service renames a field the gateway reads: the gateway's contract check fails (issue 16).

The cases service's source is copied, `CaseRead.lead_worker_id` renamed to `lead_worker` in its response model,
and the copy's OpenAPI document built in a fresh interpreter; the check that `test_contracts.py` runs against the
real service then names the field, on every call that answers a case.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from gateway.upstream.contract import check

ROOT = Path(__file__).resolve().parents[2]
DUMP = """
import json, sys
import cases
assert cases.__file__.startswith(sys.argv[1]), cases.__file__
from cases.app import create_app
print(json.dumps(create_app().openapi()))
"""


def _openapi_of_renamed_cases(tmp_path: Path) -> dict[str, object]:
    service = tmp_path / "service"  # the package with its migrations beside it, as the app expects
    shutil.copytree(ROOT / "services" / "cases", service, ignore=shutil.ignore_patterns("__pycache__"))
    schemas = service / "cases" / "casework" / "schemas.py"
    source = schemas.read_text()
    start = source.index("class CaseRead(BaseModel):")
    end = source.index("\nclass ", start + 1)
    model = source[start:end]
    assert "    lead_worker_id: uuid.UUID | None" in model
    schemas.write_text(source[:start] + model.replace("    lead_worker_id:", "    lead_worker:") + source[end:])
    done = subprocess.run(
        [sys.executable, "-c", DUMP, str(service)],
        env={"PYTHONPATH": str(service), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    document: dict[str, object] = json.loads(done.stdout)
    return document


def test_renaming_a_field_the_gateway_reads_fails_the_contract_check(tmp_path: Path) -> None:
    problems = check("cases", _openapi_of_renamed_cases(tmp_path))
    assert problems, "the contract check passed although CaseRead.lead_worker_id was renamed"
    assert all("lead_worker_id" in p for p in problems), problems
    missing = "the gateway reads `lead_worker_id`, which the service does not send"
    assert f"cases GET /v1/cases.items[].lead_worker_id: {missing}" in problems
    assert any(p.startswith("cases POST /v1/cases/{case_id}/close.lead_worker_id") for p in problems), problems
