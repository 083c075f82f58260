"""checkov (PyPI, installed by `make test`) over the rendered Kubernetes overlays: zero failures, with the skip list
of each overlay's `checkov.yaml`, where every skipped check carries its reason."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from code_facts import DEPLOY, ROOT
from kustomize_render import render, select

OVERLAYS = ("staging", "production")
INSTALL = "`make test` installs it into .venv/tools (Makefile: CHECKOV)"
# Any call checkov would make to its vendor's platform goes to a closed local port (the config also says
# skip-download): the checks run offline.
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "BC_SKIP_MAPPING": "TRUE"}


def checkov() -> str:
    local = ROOT / ".venv" / "tools" / "bin" / "checkov"
    found = shutil.which("checkov") or (str(local) if local.is_file() else None)
    if found is None:
        pytest.fail(f"checkov is not installed, so the Kubernetes overlays cannot be checked: {INSTALL}", pytrace=False)
    return found


def write_rendered(resources: list[dict[str, Any]], folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "rendered.yaml").write_text(yaml.safe_dump_all(resources, sort_keys=False))
    return folder


def start(config: Path, folder: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.Popen(
        [checkov(), "--config-file", str(config), "-d", str(folder), "--compact", "--quiet", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, **OFFLINE},
    )


def report(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=600)
    assert out.strip().startswith("{"), f"checkov exited {process.returncode} without a report:\n{err[-3000:]}"
    result: dict[str, Any] = json.loads(out)
    assert result["summary"]["parsing_errors"] == 0, result["summary"]
    return result


def failures(result: dict[str, Any]) -> list[str]:
    return sorted(
        f"{c['check_id']} {c['check_name']}: {c['resource']}" for c in result["results"].get("failed_checks", [])
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """checkov's report on each overlay, and on a production overlay given a secret as an environment variable
    (the three runs at once)."""
    base = tmp_path_factory.mktemp("checkov")
    folders = {o: write_rendered(render(DEPLOY / "kubernetes" / "overlays" / o), base / o) for o in OVERLAYS}
    broken = render(DEPLOY / "kubernetes" / "overlays" / "production")
    (cases,) = select(broken, kind="Deployment", name="cases")
    cases["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "CASES_EVENT_SECRET", "valueFrom": {"secretKeyRef": {"name": "earlyhelp-event-secret", "key": "s"}}}
    )
    folders["secret-as-variable"] = write_rendered([cases], base / "secret-as-variable")
    configs = {**{o: config_file(o) for o in OVERLAYS}, "secret-as-variable": config_file("production")}
    running = {name: start(configs[name], folder) for name, folder in folders.items()}
    return {name: report(process) for name, process in running.items()}


def config_file(overlay: str) -> Path:
    return DEPLOY / "kubernetes" / "overlays" / overlay / "checkov.yaml"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_checkov_passes_the_rendered_overlay(reports: dict[str, dict[str, Any]], overlay: str) -> None:
    result = reports[overlay]
    assert failures(result) == [], "\n".join(failures(result))
    assert result["summary"]["passed"] >= 500, result["summary"]  # the whole kubernetes framework ran
    assert result["summary"]["resource_count"] >= 40


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_skipped_check_says_why(overlay: str) -> None:
    text = config_file(overlay).read_text()
    config = yaml.safe_load(text)
    assert config["framework"] == ["kubernetes"] and config["skip-download"] is True
    lines = text.splitlines()
    for check in config["skip-check"]:
        (index,) = [i for i, line in enumerate(lines) if line.strip() == f"- {check}"]
        comment = []
        while lines[index - 1 - len(comment)].strip().startswith("#"):
            comment.insert(0, lines[index - 1 - len(comment)].strip())
        assert comment and comment[0].startswith(f"# {check} "), f"{overlay}: {check} is skipped without a reason"
    if overlay == "production":
        assert config["skip-check"] == [], "production skips nothing"


def test_checkov_finds_a_secret_passed_as_an_environment_variable(reports: dict[str, dict[str, Any]]) -> None:
    """The production Deployment of cases alone (so also without its NetworkPolicy), given the event secret as a
    variable: checkov is really checking what the overlays are spared."""
    assert [f for f in failures(reports["secret-as-variable"]) if f.startswith("CKV_K8S_35 ")] == [
        "CKV_K8S_35 Prefer using secrets as files over secrets as environment variables: Deployment.earlyhelp.cases"
    ]


def test_images_are_pulled_always_and_production_pins_digests() -> None:
    for overlay in OVERLAYS:
        for resource in render(DEPLOY / "kubernetes" / "overlays" / overlay):
            for container in (resource.get("spec", {}).get("template", {}).get("spec", {}) or {}).get("containers", []):
                assert container["imagePullPolicy"] == "Always", (overlay, resource["metadata"]["name"])
                if overlay == "production":
                    assert re.search(r"@sha256:[0-9a-f]{64}$", container["image"]), container["image"]
                else:
                    assert re.search(r":staging$", container["image"]), container["image"]


def test_a_process_reads_its_secrets_from_the_files_in_the_secrets_directory(tmp_path: Path) -> None:
    """EARLYHELP_SECRETS_DIR, as the pods set it: the settings read each secret from the file named like it."""
    (tmp_path / "CASES_DATABASE_URL").write_text("postgresql://cases:s3cret@db.internal:5432/cases\n")
    (tmp_path / "CASES_SERVICE_TOKEN").write_text("eyJ.stand-in.token")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASES_", "EARLYHELP_"))}
    code = "from cases.config import Settings; s = Settings(); print(s.database_url, s.service_token)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "EARLYHELP_SECRETS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["postgresql://cases:s3cret@db.internal:5432/cases", "eyJ.stand-in.token"]
