"""The rules of frameworks: the built-in files, validation of a council's version, the active framework."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.config import Settings
from outcomes.frameworks.repository import FrameworksRepository
from outcomes.frameworks.schemas import (
    ActiveFrameworkChangeRead,
    ActiveFrameworkSet,
    ActiveFrameworkState,
    FrameworkDefinition,
    FrameworkList,
    FrameworkSummary,
)
from outcomes.models import ActiveFrameworkChange, Framework
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
    needs: [{code, name, descriptors: [{code, label}], rule: {kind, params}}]}` with every default filled in."""
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


def change_read(change: ActiveFrameworkChange) -> ActiveFrameworkChangeRead:
    return ActiveFrameworkChangeRead(
        id=change.id,
        framework=change.framework_code,
        effective_from=change.effective_from,
        reason=change.reason,
        changed_by=change.changed_by,
        changed_at=change.changed_at,
    )


class FrameworksService:
    def __init__(self, repo: FrameworksRepository, *, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings

    async def active_code(self, on: date | None = None) -> tuple[str, ActiveFrameworkChange | None]:
        """The code of the framework active on `on` (today), and the change that made it so (None: the setting)."""
        change = await self.repo.active_change(on or datetime.now(UTC).date())
        return (change.framework_code if change else self.settings.active_framework), change

    async def active_state(self) -> ActiveFrameworkState:
        code, change = await self.active_code()
        current = await self.get(code)
        return ActiveFrameworkState(
            active=code,
            version=current.version,
            source="change" if change else "setting",
            changes=[change_read(c) for c in await self.repo.active_changes()],
        )

    async def set_active(self, body: ActiveFrameworkSet, principal: Principal) -> ActiveFrameworkState:
        """Record that new assessments use `body.framework` from `body.effective_from` on (audited). Families
        already enrolled keep the framework version they were enrolled under."""
        today = datetime.now(UTC).date()
        errors = []
        if body.effective_from < today:
            errors.append(field_error("/effective_from", f"must be today ({today.isoformat()}) or later", "past_date"))
        if await self.repo.framework(body.framework) is None:
            errors.append(field_error("/framework", f"no framework {body.framework!r} is loaded", "unknown_framework"))
        if errors:
            raise UnprocessableContent("The active framework cannot be changed so", errors=errors)
        change = ActiveFrameworkChange(
            id=uuid.uuid4(),
            framework_code=body.framework,
            effective_from=body.effective_from,
            reason=body.reason,
            changed_by=principal.actor,
            changed_at=datetime.now(UTC),
        )
        await self.repo.add_active_change(change)
        await self.repo.audit(
            principal,
            "update",
            "active_framework",
            [change.id],
            "programme set-up: active framework",
            details={"framework": body.framework, "effective_from": body.effective_from.isoformat()},
        )
        return await self.active_state()

    async def list_frameworks(self) -> FrameworkList:
        rows = await self.repo.list_frameworks()
        active, _ = await self.active_code()
        return FrameworkList(
            items=[
                FrameworkSummary(
                    code=r.code,
                    version=r.version,
                    name=r.name,
                    is_current=r.is_current,
                    active=r.is_current and r.code == active,
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
        """The current version of the framework active today."""
        code, _ = await self.active_code()
        return await self.get(code)

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
