"""Thin HTTP handlers of programme phases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from outcomes.deps import Admin, ProgrammeServiceDep, Reader
from outcomes.programme.schemas import PhasePut, PhaseRead, ProgrammeRead

router = APIRouter(prefix="/v1")


@router.get("/programme", tags=["programme"], summary="The current phase (from today's date) and every phase")
async def programme(programme: ProgrammeServiceDep, principal: Reader) -> ProgrammeRead:
    return await programme.programme()


@router.put(
    "/programme/phases/{code}",
    tags=["programme"],
    summary="Define or change a phase: its dates and funding model (admin, audited)",
)
async def put_phase(
    code: Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")],
    body: PhasePut,
    programme: ProgrammeServiceDep,
    principal: Admin,
) -> PhaseRead:
    return await programme.put_phase(code, body, principal)
