"""Bodies of family merges: the request, its undo and the merge as read (with what it moved)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from cases.schemas import Strict, Text
from shared.fields import Actor, LongText


class FamilyMergeRequest(Strict):
    merge_family_id: uuid.UUID = Field(description="The duplicate family, merged into the family in the path")
    reason: Text


class FamilyUnmergeRequest(Strict):
    reason: Text


class FamilyMergeRead(BaseModel):
    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    reason: LongText
    merged_by: Actor
    merged_at: datetime
    moved: dict[str, Any] = Field(
        description="Every row the merge changed: members moved or ended, relationships and cases moved, the case "
        "closed as merged and its lead worker assignment ended"
    )
    undone_at: datetime | None
    undone_by: Actor | None
    undo_reason: LongText | None
