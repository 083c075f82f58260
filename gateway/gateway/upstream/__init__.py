"""What the gateway reads from each service, as typed models (issue 16).

Each model lists exactly the fields the gateway reads, under the names the service's own response model gives
them (no fallbacks, no second shape). Every response is parsed through one of these models, so a service that
stops sending a field fails loudly here rather than turning into a silent null in the graph. `contract.py` binds
each REST call to its model, and `check` compares the models with the service's OpenAPI document (its response
models), so the contract test fails as soon as a service renames, drops or retypes a field the gateway reads.
"""

from __future__ import annotations

from functools import cache
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class UpstreamModel(BaseModel):
    """A service's answer as the gateway reads it: unknown fields ignored, known ones exactly as named."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Page(UpstreamModel, Generic[T]):
    """A page of a list endpoint of any service (`shared.pagination`)."""

    items: list[T]
    next_cursor: str | None = None


class KeysetPage(Page[T], Generic[T]):
    """A page of a list that pages both ways (`shared.pagination.PageLinks`): a cursor per item, in order, and
    whether items come before the page."""

    has_previous: bool
    cursors: list[str]


@cache
def page_of(model: type[T]) -> type[Page[T]]:
    """`Page[model]`, made once per model. pydantic keeps its parametrised generics in a weak cache only, so a
    `Page[model]` written in a request path builds a new model class (and its validator) whenever the collector
    has taken the last one: a twelfth of the gateway's CPU on the family page before this cache."""
    return Page[model]  # type: ignore[valid-type]


@cache
def keyset_page_of(model: type[T]) -> type[KeysetPage[T]]:
    """`KeysetPage[model]`, made once per model, for the same reason as `page_of`."""
    return KeysetPage[model]  # type: ignore[valid-type]
