"""docker-compose.yml and deploy/docker: every container runs a real entry point with real settings."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from code_facts import (
    DEPLOY,
    MEMBER_DIRS,
    PARTS,
    ROOT,
    SERVICES,
    default_port,
    dockerfile_instructions,
    env_prefix,
    exec_form,
    import_factory,
    member_package_name,
    part_of_env_name,
    root_dev_pin,
    setting_env_names,
    uvicorn_target_and_port,
)

COMPOSE = ROOT / "docker-compose.yml"
INTERPOLATION = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` as it resolves with the variable unset."""
    return INTERPOLATION.sub(lambda m: m.group(2) or "", value)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment is written as a mapping"
    return {k: interpolate(str(v)) for k, v in env.items()}


def part_of(service: dict[str, Any]) -> str:
    dockerfile = service["build"]["dockerfile"]
    match = re.fullmatch(r"deploy/docker/Dockerfile\.(\w+)", dockerfile)
    assert match and match.group(1) in PARTS, dockerfile
    assert service["image"].partition(":")[0] == f"earlyhelp/{match.group(1)}"
    return match.group(1)


def image_cmd(part: str) -> list[str]:
    final = [i for i in dockerfile_instructions(part) if i.stage == 1]
    return exec_form(next(i.args for i in final if i.keyword == "CMD"))


def test_compose_has_postgres_a_migration_per_service_the_services_and_the_gateway(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", *PARTS, *(f"migrate-{s}" for s in SERVICES)}
    assert compose["services"]["postgres"]["image"] == "postgres:16"
    assert set(compose["volumes"]) == {"pgdata", "devkeys"}


def test_every_container_runs_a_real_entry_point_on_its_port(compose: dict[str, Any]) -> None:
    for part in PARTS:
        service = compose["services"][part]
        assert part_of(service) == part
        assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        command = service.get("command", image_cmd(part))
        target, port = uvicorn_target_and_port(command)
        assert target == f"{part}.app:create_app" and callable(import_factory(target))
        assert port == default_port(part)
        assert [interpolate(p) for p in service["ports"]] == [f"127.0.0.1:{port}:{port}"], "loopback by default"
        probe = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/readyz" in probe


def test_every_published_port_binds_to_the_loopback_address_by_default(compose: dict[str, Any]) -> None:
    published = [interpolate(str(p)) for service in compose["services"].values() for p in service.get("ports", [])]
    assert len(published) == len(PARTS) + 1
    assert all(p.startswith("127.0.0.1:") for p in published), published
    assert "EARLYHELP_PUBLISH_ADDRESS=0.0.0.0" in COMPOSE.read_text(), "the header says how to publish on purpose"


def test_every_environment_variable_is_a_setting_of_its_part(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name == "postgres":
            continue
        part = part_of(service)
        for variable in environment(service):
            assert part_of_env_name(variable) == part, f"{name}: {variable} does not carry {env_prefix(part)}"
            assert variable in setting_env_names(part), f"{name}: {variable} is not a field of {part}'s Settings"


def test_the_settings_load_from_the_compose_environment(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from code_facts import settings_class

    for part in PARTS:
        with monkeypatch.context() as env:
            for variable in list(os.environ):
                if part_of_env_name(variable) is not None:
                    env.delenv(variable)
            for variable, value in environment(compose["services"][part]).items():
                env.setenv(variable, value)
            settings: Any = settings_class(part)()
        assert settings.environment.value == "development"
        assert str(settings.dev_key_path).startswith("/var/lib/earlyhelp/")
        assert "devkeys:/var/lib/earlyhelp" in compose["services"][part]["volumes"]
        if part in SERVICES:
            assert urlsplit(settings.database_url).path == f"/{part}"


def test_migrations_run_once_per_service_before_it_starts(compose: dict[str, Any]) -> None:
    for part in SERVICES:
        migrate = compose["services"][f"migrate-{part}"]
        assert part_of(migrate) == part
        assert migrate["command"] == ["python", "deploy/migrate.py", part]
        assert (ROOT / "deploy" / "migrate.py").is_file()
        assert set(environment(migrate)) == {f"{env_prefix(part)}DATABASE_URL"}
        assert environment(migrate) == {
            k: v for k, v in environment(compose["services"][part]).items() if k.endswith("DATABASE_URL")
        }
        assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert compose["services"][part]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            f"migrate-{part}": {"condition": "service_completed_successfully"},
        }


def test_depends_on_waits_for_healthy_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], dependency
            else:
                assert condition["condition"] == "service_completed_successfully"
                assert dependency.startswith("migrate-"), name
    assert set(services["gateway"]["depends_on"]) == set(SERVICES)


def test_urls_point_at_compose_services_on_their_ports(compose: dict[str, Any]) -> None:
    services = compose["services"]
    seen = 0
    for name, service in services.items():
        for variable, value in environment(service).items():
            urls: list[str] = []
            if variable.endswith("_SUBSCRIBERS"):
                urls = [s["url"] for s in json.loads(value)]
                assert all(urlsplit(u).path == "/v1/events" for u in urls)
            elif variable.endswith("_URL") and value.startswith("http"):
                urls = [value]
            for url in urls:
                parts = urlsplit(url)
                assert parts.hostname in PARTS and parts.hostname != name, url
                assert parts.port == default_port(parts.hostname), url
                seen += 1
    assert seen >= 9  # referrals → cases, outcomes, its subscriber; cases → outcomes, 2 subscribers; gateway → 3


def test_each_service_has_its_own_database_and_role_created_by_the_init_script(compose: dict[str, Any]) -> None:
    init = (DEPLOY / "docker" / "postgres-init" / "01-create-databases.sql").read_text()
    assert "./deploy/docker/postgres-init:/docker-entrypoint-initdb.d:ro" in compose["services"]["postgres"]["volumes"]
    for part in SERVICES:
        url = urlsplit(environment(compose["services"][part])[f"{env_prefix(part)}DATABASE_URL"])
        assert url.hostname == "postgres" and url.port == 5432
        assert f"CREATE ROLE {url.username} LOGIN PASSWORD '{url.password}';" in init
        assert f"CREATE DATABASE {url.path.lstrip('/')} OWNER {url.username};" in init


def test_the_stack_runs_with_read_only_containers(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name != "postgres":
            assert service["read_only"] is True, name


# --- Dockerfiles --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("part", PARTS)
def test_dockerfile_installs_only_its_part_with_the_pinned_uv(part: str) -> None:
    instructions = dockerfile_instructions(part)
    froms = [i.args for i in instructions if i.keyword == "FROM"]
    assert froms == ["python:3.11-slim AS build", "python:3.11-slim"]
    runs = [i.args for i in instructions if i.keyword == "RUN"]
    assert f"pip install --no-cache-dir uv=={root_dev_pin('uv')}" in runs
    package = member_package_name(part)
    assert package == f"earlyhelp-{part}"
    syncs = [r for r in runs if r.startswith("uv sync")]
    assert len(syncs) == 2
    for sync in syncs:
        assert "--frozen" in sync and "--no-dev" in sync and f"--package {package}" in sync
    # every COPY from the build context names something that exists and is not excluded by .dockerignore
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for copy in (i.args for i in instructions if i.keyword == "COPY" and not i.args.startswith("--from")):
        *sources, _destination = copy.split()
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile.{part}: COPY {source}"
            assert not any(source == p or source.startswith(p.rstrip("/") + "/") for p in ignored), source
    # only its own code: no other part's package is copied
    copied = " ".join(i.args for i in instructions if i.keyword == "COPY")
    for other in PARTS:
        if other != part:
            assert f"{MEMBER_DIRS[other]}/{other} " not in copied + " "


@pytest.mark.parametrize("part", PARTS)
def test_dockerfile_runs_non_root_with_a_healthcheck_on_healthz(part: str) -> None:
    final = [i for i in dockerfile_instructions(part) if i.stage == 1]
    keywords = [i.keyword for i in final]
    user = final[keywords.index("USER")].args
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"
    assert keywords.index("USER") < keywords.index("CMD")
    healthcheck = final[keywords.index("HEALTHCHECK")].args
    assert f"http://127.0.0.1:{default_port(part)}/healthz" in healthcheck
    assert int(final[keywords.index("EXPOSE")].args) == default_port(part)
    env = " ".join(i.args for i in final if i.keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "HOME=/tmp" in env
    if part in SERVICES:
        copies = [i.args for i in final if i.keyword == "COPY"]
        assert f"{MEMBER_DIRS[part]}/migrations {MEMBER_DIRS[part]}/migrations" in copies
        assert f"{MEMBER_DIRS[part]}/alembic.ini {MEMBER_DIRS[part]}/" in copies


def locked_packages(part: str) -> set[str]:
    """What `uv sync --frozen --no-dev --package earlyhelp-<part>` installs, read from the lock file (no network)."""
    uv = Path(sys.executable).parent / "uv"
    out = subprocess.run(
        [str(uv), "export", "--frozen", "--no-dev", "--no-hashes", "--package", f"earlyhelp-{part}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    names = set()
    for line in out.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "    ")):
            continue
        names.add(re.split(r"[=<>@ ;\[]", line, maxsplit=1)[0].lower())
    return names


def test_each_image_gets_only_its_own_dependencies() -> None:
    packages = {part: locked_packages(part) for part in PARTS}
    for part in PARTS:
        assert "fastapi" in packages[part] and "uvicorn" in packages[part], part
        # development and CLI tools never reach an image
        assert not packages[part] & {"pytest", "ruff", "mypy", "typer", "pgserver", "faker", "kubernetes-validate"}
    assert "strawberry-graphql" in packages["gateway"]
    for part in SERVICES:
        assert "strawberry-graphql" not in packages[part], part


def test_every_image_and_earlyhelp_up_write_json_lines_only() -> None:
    """uvicorn's own lines go through the same JSON formatter as the app's (the shipped log config), and requests
    are logged once, by the app's `http_request` line (route template, no query string), not by uvicorn."""
    from earlyhelp.supervisor import uvicorn_cmd
    from shared.logging import UVICORN_LOG_CONFIG

    config = json.loads(UVICORN_LOG_CONFIG.read_text())
    assert config["formatters"]["json"]["()"] == "shared.logging.json_formatter"
    assert {"uvicorn", "uvicorn.error", "uvicorn.access"} <= set(config["loggers"])
    for part in PARTS:
        command = image_cmd(part)
        assert "--no-access-log" in command, part
        in_image = Path(command[command.index("--log-config") + 1])
        assert in_image == Path("/app") / UVICORN_LOG_CONFIG.relative_to(ROOT), (part, in_image)
        copies = [i.args for i in dockerfile_instructions(part) if i.stage == 1 and i.keyword == "COPY"]
        assert any(args.endswith(" shared/shared") for args in copies), (part, copies)  # the file is in the image
    local = uvicorn_cmd("referrals.app:create_app", 8001)
    assert "--no-access-log" in local and local[local.index("--log-config") + 1] == str(UVICORN_LOG_CONFIG)
