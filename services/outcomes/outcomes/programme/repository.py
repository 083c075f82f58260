"""Every query of programme phases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from outcomes.models import ProgrammePhase
from outcomes.repository import Repository

PHASES_LOCK = 0x6F75_7068_6173_6573
"""Transaction-scoped advisory lock key held while a phase is defined (overlaps are checked under it)."""


class ProgrammeRepository(Repository):
    async def phase_on(self, on: date) -> ProgrammePhase | None:
        return await self.session.scalar(
            select(ProgrammePhase)
            .where(ProgrammePhase.starts_on <= on, ProgrammePhase.ends_on >= on)
            .order_by(ProgrammePhase.starts_on.desc())
            .limit(1)
        )

    async def phases(self) -> Sequence[ProgrammePhase]:
        return (await self.session.scalars(select(ProgrammePhase).order_by(ProgrammePhase.starts_on))).all()

    async def overlapping(self, code: str, starts_on: date, ends_on: date) -> Sequence[str]:
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PHASES_LOCK})
        return (
            await self.session.scalars(
                select(ProgrammePhase.code).where(
                    ProgrammePhase.code != code,
                    ProgrammePhase.starts_on <= ends_on,
                    ProgrammePhase.ends_on >= starts_on,
                )
            )
        ).all()

    async def put_phase(self, values: dict[str, object]) -> ProgrammePhase:
        base = insert(ProgrammePhase).values(**values)
        stmt = base.on_conflict_do_update(
            index_elements=[ProgrammePhase.code],
            set_={k: base.excluded[k] for k in values if k != "code"} | {"updated_at": text("now()")},
        ).returning(ProgrammePhase)
        row: ProgrammePhase = (await self.session.scalars(stmt, execution_options={"populate_existing": True})).one()
        return row
