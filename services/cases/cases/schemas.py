"""The building blocks every domain's request and response bodies share."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.fields import REPORT_ROWS, Cursor
from shared.pagination import PageLinks

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MemberRole = Literal["parent_carer", "child", "young_person", "other_adult", "unborn"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A list answer: a page of at most `limit` (100) items where the endpoint pages, else every item of what was
    asked (a case's contacts, a hub's workers), which the platform's scale bounds."""

    items: list[T] = Field(max_length=REPORT_ROWS)
    next_cursor: Cursor | None = None


class KeysetPage(PageLinks, Generic[T]):
    """A page of a list that pages both ways (`shared.pagination`): `next_cursor`, `prev_cursor` and a cursor per
    item."""

    items: list[T] = Field(max_length=REPORT_ROWS)
    next_cursor: Cursor | None = None
