"""Request and response bodies of the workforce: hubs, workers and caseloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cases.schemas import Name, Strict
from shared.fields import MANY, Code, Count, ShortText


class HubPut(Strict):
    name: Name


class HubRead(BaseModel):
    code: Code
    name: ShortText


class WorkerCreate(Strict):
    name: Name
    subject: Name | None = Field(default=None, description="The `sub` claim of the worker's token")
    agency: Name
    agency_type: Name
    hub: Name
    team_id: uuid.UUID | None = None
    role: Literal["practitioner", "hub_manager", "partner_practitioner"] = "practitioner"
    caseload_cap: int = Field(default=15, ge=0, le=200)


class WorkerRead(BaseModel):
    id: uuid.UUID
    name: ShortText
    subject: ShortText | None
    agency: ShortText
    agency_type: ShortText
    hub: ShortText
    team_id: uuid.UUID | None
    role: Code
    caseload_cap: Count
    active: bool
    current_caseload: Count | None = Field(
        default=None, description="Open cases the worker leads (in a hub listing: `GET /v1/workers?hub=`)"
    )
    capacity: Count | None = Field(
        default=None, description="Cases the worker can still take before their cap (never below 0; hub listing)"
    )


class CaseloadItem(BaseModel):
    case_id: uuid.UUID
    family_id: uuid.UUID
    hub: ShortText
    status: Code
    assigned_at: datetime


class CaseloadRead(BaseModel):
    worker_id: uuid.UUID
    caseload_cap: Count
    current: Count
    at_cap: bool
    cases: list[CaseloadItem] = Field(max_length=MANY)
