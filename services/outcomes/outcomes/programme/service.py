"""The rules of programme phases: defined by an admin (audited, no overlaps), the current one found from today;
every request of the outcomes service works in the current phase."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.config import Settings
from outcomes.models import ProgrammePhase
from outcomes.programme.repository import ProgrammeRepository
from outcomes.programme.schemas import PhasePut, PhaseRead, ProgrammeRead
from shared.auth import Principal
from shared.errors import UnprocessableContent, field_error


def phase_read(row: ProgrammePhase) -> PhaseRead:
    return PhaseRead(
        code=row.code,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        funding_model=row.funding_model,
        source="defined",
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


async def current_phase(repo: ProgrammeRepository, settings: Settings, on: date | None = None) -> PhaseRead:
    """The phase holding `on` (today), or the settings' phase while no defined phase does."""
    row = await repo.phase_on(on or datetime.now(UTC).date())
    if row is not None:
        return phase_read(row)
    return PhaseRead(
        code=settings.programme_phase,
        starts_on=None,
        ends_on=None,
        funding_model=settings.funding_model,
        source="setting",
    )


async def settings_in_phase(session: AsyncSession, settings: Settings) -> Settings:
    """The settings with today's phase and funding model (what every domain service of a request is built with)."""
    phase = await current_phase(ProgrammeRepository(session), settings)
    if (phase.code, phase.funding_model) == (settings.programme_phase, settings.funding_model):
        return settings
    return settings.model_copy(update={"programme_phase": phase.code, "funding_model": phase.funding_model})


class ProgrammeService:
    def __init__(self, repo: ProgrammeRepository, *, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings

    async def programme(self) -> ProgrammeRead:
        return ProgrammeRead(
            current=await current_phase(self.repo, self.settings),
            phases=[phase_read(p) for p in await self.repo.phases()],
        )

    async def put_phase(self, code: str, body: PhasePut, principal: Principal) -> PhaseRead:
        """Define or change a phase (admin). Phases may not overlap: each day belongs to at most one."""
        overlapping = await self.repo.overlapping(code, body.starts_on, body.ends_on)
        if overlapping:
            raise UnprocessableContent(
                f"Phase {code} would overlap phase(s) {', '.join(overlapping)}",
                errors=[field_error("/starts_on", "overlaps phase " + ", ".join(overlapping), "overlap")],
            )
        row = await self.repo.put_phase(
            {
                "code": code,
                "starts_on": body.starts_on,
                "ends_on": body.ends_on,
                "funding_model": body.funding_model,
                "updated_by": principal.actor,
            }
        )
        await self.repo.audit(
            principal,
            "update",
            "programme_phase",
            [code],
            "programme set-up: phase",
            details=body.model_dump(mode="json"),
        )
        return phase_read(row)
