"""What the code says about each deployable part, for checking the deployment artefacts against it."""

from __future__ import annotations

import importlib
import re
import shlex
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("referrals", "cases", "outcomes", "intelligence")
PARTS = (*SERVICES, "gateway")
MEMBER_DIRS = {
    "referrals": "services/referrals",
    "cases": "services/cases",
    "outcomes": "services/outcomes",
    "intelligence": "services/intelligence",
    "gateway": "gateway",
}


@cache
def settings_class(part: str) -> type[BaseSettings]:
    cls: type[BaseSettings] = importlib.import_module(f"{part}.config").Settings
    return cls


def env_prefix(part: str) -> str:
    prefix: str = settings_class(part).model_config["env_prefix"]
    return prefix


def setting_env_names(part: str) -> set[str]:
    """The environment variables the part's Settings reads."""
    prefix = env_prefix(part)
    return {prefix + name.upper() for name in settings_class(part).model_fields}


def default_port(part: str) -> int:
    port: int = settings_class(part).model_fields["port"].default
    return port


def part_of_env_name(name: str) -> str | None:
    for part in PARTS:
        if name.startswith(env_prefix(part)):
            return part
    return None


def import_factory(target: str) -> Any:
    """Import `module:attr` as uvicorn would and return the attribute."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def member_package_name(part: str) -> str:
    data = tomllib.loads((ROOT / MEMBER_DIRS[part] / "pyproject.toml").read_text())
    name: str = data["project"]["name"]
    return name


def root_dev_pin(package: str) -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for requirement in data["dependency-groups"]["dev"]:
        match = re.fullmatch(rf"{re.escape(package)}==([\w.]+)", requirement)
        if match:
            return match.group(1)
    raise AssertionError(f"{package} is not pinned with == in the root dev dependency group")


@dataclass
class Instruction:
    keyword: str
    args: str
    stage: int


def dockerfile_instructions(part: str) -> list[Instruction]:
    """Instructions of deploy/docker/Dockerfile.<part> (continuation lines joined, comments dropped)."""
    text = (DEPLOY / "docker" / f"Dockerfile.{part}").read_text()
    logical: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append(buffer + line)
        buffer = ""
    stage = -1
    instructions: list[Instruction] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        instructions.append(Instruction(keyword.upper(), args.strip(), stage))
    return instructions


def exec_form(args: str) -> list[str]:
    """A Dockerfile JSON (exec form) argument list."""
    import json

    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def uvicorn_target_and_port(command: list[str]) -> tuple[str, int]:
    """From `uvicorn module:factory --factory --host … --port N …` return (module:factory, N)."""
    assert command[0] == "uvicorn", command
    assert "--factory" in command, command
    port = int(command[command.index("--port") + 1])
    return command[1], port


def shell_words(command: str) -> list[str]:
    return shlex.split(command)
