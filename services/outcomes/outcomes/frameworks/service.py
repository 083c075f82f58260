"""The rules of frameworks: the built-in files, validation of a council's version, the active framework."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.config import Settings
from outcomes.frameworks.repository import FrameworksRepository
from outcomes.frameworks.schemas import FrameworkDefinition, FrameworkList, FrameworkSummary
from outcomes.models import Framework
from shared.auth import Principal
from shared.errors import Conflict, NotFound, UnprocessableContent, field_error, json_pointer

FRAMEWORK_DIR = Path(__file__).resolve().parent


def builtin_frameworks() -> list[FrameworkDefinition]:
    """Every `frameworks/*.json` file, validated against the schema (a bad file fails loudly at startup)."""
    found = []
    for path in sorted(FRAMEWORK_DIR.glob("*.json")):
        definition = FrameworkDefinition.model_validate_json(path.read_text(encoding="utf-8"))
        if definition.problems():
            raise ValueError(f"{path.name}: {definition.problems()}")
        found.append(definition)
    return found


def canonical(definition: FrameworkDefinition) -> dict[str, Any]:
    """The contract's form: `{code, version, name, min_needs, requires_dependent_children, sustain_months,
    needs: [{code, name, descriptors, rule: {kind, params}}]}` with every default filled in."""
    return definition.model_dump(mode="json")


def etag_of(document: dict[str, Any]) -> str:
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def parse_definition(document: dict[str, Any]) -> FrameworkDefinition:
    """Validate a stored definition (they were validated on the way in; this gives the typed form)."""
    return FrameworkDefinition.model_validate(document)


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as JSON pointers into the submitted document."""
    return [field_error(json_pointer(["body", *e["loc"]]) or "/", e["msg"], e["type"]) for e in exc.errors()]


def validate_framework(document: Any) -> FrameworkDefinition:
    """Validate a council's framework document; every problem is reported with a JSON pointer to its place."""
    try:
        definition = FrameworkDefinition.model_validate(document)
    except ValidationError as exc:
        errors = validation_errors(exc)
        raise UnprocessableContent(
            f"The framework is malformed: {len(errors)} problem(s) at " + ", ".join(e["pointer"] for e in errors[:5]),
            errors=errors,
        ) from exc
    problems = definition.problems()
    if problems:
        raise UnprocessableContent(
            f"The framework is malformed: {len(problems)} problem(s) at " + ", ".join(p for p, _ in problems[:5]),
            errors=[field_error(pointer, message) for pointer, message in problems],
        )
    return definition


async def load_builtin_frameworks(session: AsyncSession) -> None:
    """Insert the built-in framework files (idempotent; safe when several replicas start at once)."""
    repo = FrameworksRepository(session)
    for definition in builtin_frameworks():
        document = canonical(definition)
        await repo.insert_builtin_framework(
            code=definition.code,
            version=definition.version,
            name=definition.name,
            definition=document,
            etag=etag_of(document),
        )


class FrameworksService:
    def __init__(self, repo: FrameworksRepository, *, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings

    async def list_frameworks(self) -> FrameworkList:
        rows = await self.repo.list_frameworks()
        return FrameworkList(
            items=[
                FrameworkSummary(
                    code=r.code,
                    version=r.version,
                    name=r.name,
                    is_current=r.is_current,
                    active=r.is_current and r.code == self.settings.active_framework,
                    builtin=r.builtin,
                    loaded_at=r.loaded_at,
                )
                for r in rows
            ]
        )

    async def get(self, code: str, version: str | None = None) -> Framework:
        row = await self.repo.framework(code, version)
        if row is None:
            raise NotFound(f"No framework {code!r}" + (f" version {version!r}" if version else ""))
        return row

    async def active(self) -> Framework:
        return await self.get(self.settings.active_framework)

    async def load(self, document: Any, principal: Principal) -> Framework:
        """Validate a council's version and make it current for its code."""
        definition = validate_framework(document)
        canonical_document = canonical(definition)
        row = await self.repo.add_framework_version(
            code=definition.code,
            version=definition.version,
            name=definition.name,
            definition=canonical_document,
            etag=etag_of(canonical_document),
            loaded_by=principal.actor,
        )
        if row is None:
            raise Conflict(f"Framework {definition.code!r} version {definition.version!r} is already loaded")
        return row
