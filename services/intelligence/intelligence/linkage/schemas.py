"""Response shapes of linkage runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.fields import Actor, Code, ShortText


class LinkageRunSummary(BaseModel):
    id: uuid.UUID
    engine: Code
    framework: ShortText
    threshold: float
    run_by: Actor
    started_at: datetime
    finished_at: datetime
    diagnostics: dict[str, Any] = Field(
        description="records, people, households, pairs scored and linked, identified and statutory families, "
        "whether the model was trained on this run, seconds per stage"
    )


class LinkageRunDetail(LinkageRunSummary):
    model: dict[str, Any] = Field(description="The splink model used: m and u per comparison level, thresholds")
