"""Request and response bodies of the workforce: hubs, workers and caseloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cases.schemas import Name, Strict


class HubPut(Strict):
    name: Name


class HubRead(BaseModel):
    code: str
    name: str


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
    name: str
    subject: str | None
    agency: str
    agency_type: str
    hub: str
    team_id: uuid.UUID | None
    role: str
    caseload_cap: int
    active: bool
    current_caseload: int | None = Field(
        default=None, description="Open cases the worker leads (in a hub listing: `GET /v1/workers?hub=`)"
    )
    capacity: int | None = Field(
        default=None, description="Cases the worker can still take before their cap (never below 0; hub listing)"
    )


class CaseloadItem(BaseModel):
    case_id: uuid.UUID
    family_id: uuid.UUID
    hub: str
    status: str
    assigned_at: datetime


class CaseloadRead(BaseModel):
    worker_id: uuid.UUID
    caseload_cap: int
    current: int
    at_cap: bool
    cases: list[CaseloadItem]
