"""Thin HTTP handler of the triage figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from referrals.figures.repository import FiguresRepository
from referrals.figures.schemas import TriageFigures
from referrals.figures.service import triage_figures
from shared.auth import Principal, require_roles
from shared.db import SessionDep

router = APIRouter(prefix="/v1", tags=["referrals"])
FiguresReader = Annotated[Principal, Depends(require_roles("analyst", "hub_manager", "admin"))]


@router.get(
    "/reports/triage",
    summary="Aggregated, pseudonymised triage figures (analysts and admins: every hub; hub managers: theirs)",
)
async def get_triage_figures(session: SessionDep, principal: FiguresReader) -> TriageFigures:
    return await triage_figures(FiguresRepository(session), principal)
