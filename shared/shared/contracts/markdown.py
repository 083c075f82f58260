"""`docs/contracts.md`'s generated sections, rendered from the models (`python -m shared.contracts.markdown
docs/contracts.md` rewrites them; `tests/shared/test_contracts.py` fails when the file and the models differ)."""

from __future__ import annotations

import sys
import types
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from shared.contracts.events import EVENT_TYPES, source_of
from shared.contracts.frameworks import ActiveFramework

BEGIN = "<!-- generated from shared.contracts: {name} -->"
END = "<!-- end of generated section -->"
SECTIONS = ("events", "frameworks")


def type_name(annotation: Any) -> str:
    """A field's type in the doc's words: `uuid`, `date`, `string | null`, `list of Decision`, `"a" | "b"`."""
    origin = get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f'`"{v}"`' for v in get_args(annotation))
    if origin in (Union, types.UnionType):
        return " \\| ".join(type_name(a) for a in get_args(annotation))
    if origin is list:
        return "list of " + type_name(get_args(annotation)[0])
    if origin is dict:
        return "object"
    if hasattr(annotation, "__metadata__"):  # Annotated[str, validator]
        return type_name(annotation.__origin__)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__
    names = {uuid.UUID: "uuid", datetime: "timestamp", date: "date", str: "string", int: "integer", bool: "boolean"}
    if annotation is type(None):
        return "null"
    return names.get(annotation, str(annotation))


def nested_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The models a model's fields hold (one level down, then theirs), in field order, without repeats."""
    found: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.append(annotation)
                for field in annotation.model_fields.values():
                    visit(field.annotation)
            return
        for arg in get_args(annotation):
            visit(arg)

    for field in model.model_fields.values():
        visit(field.annotation)
    return found


def field_table(model: type[BaseModel]) -> list[str]:
    lines = ["| field | type | required | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        required = "yes" if field.is_required() else "no"
        meaning = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {type_name(field.annotation)} | {required} | {meaning} |")
    return lines


def _model_block(model: type[BaseModel], heading: str, intro: str = "") -> list[str]:
    lines = [heading, "", *([intro, ""] if intro else []), (model.__doc__ or "").strip(), "", *field_table(model), ""]
    for inner in nested_models(model):
        lines += [f"`{inner.__name__}`: {(inner.__doc__ or '').strip()}", "", *field_table(inner), ""]
    return lines


def events_section() -> list[str]:
    lines: list[str] = []
    for event_type, model in EVENT_TYPES.items():
        consumers = ", ".join(model.consumers) or "whoever subscribes"
        route = f"Source `{source_of(model.producer)}`; consumed by {consumers}."
        lines += _model_block(model, f"### `{event_type}` — `{model.__name__}`", route)
    return lines


def frameworks_section() -> list[str]:
    return _model_block(ActiveFramework, "### `GET outcomes /v1/frameworks/active` — `ActiveFramework`")


def render(name: str) -> str:
    body = events_section() if name == "events" else frameworks_section()
    return "\n".join([BEGIN.format(name=name), "", *body, END])


def generated_sections(text: str) -> dict[str, str]:
    """The generated sections found in a document, by name."""
    found = {}
    for name in SECTIONS:
        begin = BEGIN.format(name=name)
        if begin in text:
            start = text.index(begin)
            found[name] = text[start : text.index(END, start) + len(END)]
    return found


def rewrite(text: str) -> str:
    for name, old in generated_sections(text).items():
        text = text.replace(old, render(name))
    return text


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    for arg in sys.argv[1:]:
        path = Path(arg)
        path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")


def documented_fields(text: str) -> dict[str, set[str]]:
    """The field names each event's section of a document lists in its first table, by event type."""
    found: dict[str, set[str]] = {}
    for chunk in text.split("\n### `")[1:]:
        event_type = chunk.split("`", 1)[0]
        table = chunk.split("| field |", 1)[1].split("\n\n", 1)[0] if "| field |" in chunk else ""
        found[event_type] = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    return found


def field_differences(text: str) -> dict[str, tuple[set[str], set[str]]]:
    """Per event type: (fields of the model the document lacks, fields the document names the model lacks)."""
    documented = documented_fields(text)
    out = {}
    for event_type, model in EVENT_TYPES.items():
        named = documented.get(event_type, set())
        fields = set(model.model_fields)
        if named != fields:
            out[event_type] = (fields - named, named - fields)
    return out
