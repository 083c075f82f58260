"""Deprecated names still accepted, and the one way a REST answer says a request used one (RFC 9745).

A renamed field of a request body keeps its old name for one release: the model takes `AcceptsOldNames` and
declares the field with `validation_alias=renamed("decision", "outcome")`. Whatever the endpoint, a request that
uses an old name (or an old value form, e.g. a descriptor's label where its code is expected, reported with
`used_deprecated`) gets on its answer

    Deprecation: @1796256000
    Link: <https://earlyhelp.invalid/docs/contracts#deprecated-names>; rel="deprecation"; type="text/html"

added by `shared.middleware.PlatformMiddleware` (`deprecation_headers`). docs/contracts.md lists every old name
("Deprecated names"); `tests/shared/test_deprecation.py` checks every request model's old names are listed there.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, ClassVar, get_args

from pydantic import AliasChoices, BaseModel, model_validator

DEPRECATED_SINCE = datetime(2026, 12, 3, tzinfo=UTC)
"""When this release deprecated its old names (issue 22, one vocabulary): the `Deprecation` header's date."""
DOCS_URL = "https://earlyhelp.invalid/docs/contracts#deprecated-names"
"""The page that lists every deprecated name and its replacement (docs/contracts.md, "Deprecated names")."""

_used: ContextVar[list[str] | None] = ContextVar("deprecated_names_used", default=None)


def renamed(name: str, *old: str) -> AliasChoices:
    """The validation alias of a renamed field: its name, then the old names still accepted (`AcceptsOldNames`)."""
    return AliasChoices(name, *old)


def begin_request() -> Token[list[str] | None]:
    """Start collecting the deprecated names one request uses (the middleware, before the handler)."""
    return _used.set([])


def end_request(token: Token[list[str] | None]) -> None:
    _used.reset(token)


def used_deprecated(what: str) -> None:
    """Note that the request being handled used a deprecated name or form (`what`: which one)."""
    found = _used.get()
    if found is not None and what not in found:
        found.append(what)


def deprecation_headers() -> list[tuple[bytes, bytes]]:
    """The RFC 9745 `Deprecation` header and its `Link rel="deprecation"` when the request used an old name."""
    if not _used.get():
        return []
    return [
        (b"deprecation", f"@{int(DEPRECATED_SINCE.timestamp())}".encode()),
        (b"link", f'<{DOCS_URL}>; rel="deprecation"; type="text/html"'.encode()),
    ]


def old_names(model: type[BaseModel]) -> dict[str, str]:
    """Every old name a model's fields accept, with the field's name: `{"outcome": "decision"}`."""
    out = {}
    for name, field in model.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            for choice in alias.choices[1:]:
                if isinstance(choice, str):
                    out[choice] = name
    return out


class AcceptsOldNames(BaseModel):
    """A request body whose renamed fields still accept their old names (`renamed`); using one is noted
    (`used_deprecated`), so the answer carries the `Deprecation` header."""

    _old_names: ClassVar[dict[str, str]] = {}
    old_forms: ClassVar[tuple[str, ...]] = ()
    """Old value forms its fields still accept (e.g. a descriptor's label where its code is expected), which the
    handler notes with `used_deprecated`: listed so the OpenAPI document declares the headers (`accepts_old_names`)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._old_names = old_names(cls)

    @model_validator(mode="before")
    @classmethod
    def _note_old_names(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old in cls._old_names.keys() & data.keys():
                used_deprecated(f"{cls.__name__}.{old}")
        return data


def accepts_old_names(annotation: Any, _seen: frozenset[type] = frozenset()) -> bool:
    """Whether a request body of this type (or a model nested in it) accepts an old name or form
    (`AcceptsOldNames`), so that its answer may carry the `Deprecation` header: the OpenAPI document says so."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in _seen:
            return False
        if issubclass(annotation, AcceptsOldNames) and (annotation._old_names or annotation.old_forms):
            return True
        seen = _seen | {annotation}
        return any(accepts_old_names(f.annotation, seen) for f in annotation.model_fields.values())
    return any(accepts_old_names(arg, _seen) for arg in get_args(annotation))
