"""The built-in framework files, their validation, and the JSON form other services read (with its ETag)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from outcomes.schemas import FrameworkDefinition

FRAMEWORK_DIR = Path(__file__).resolve().parent / "frameworks"


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
