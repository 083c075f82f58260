"""The legal-hold replica a service keeps from cases' `family.legal_hold_placed` / `_released` events, which its
retention run reads (`shared.retention.engine.active_holds`). The reason stays in cases."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.events import LegalHoldPlaced, LegalHoldReleased
from shared.events import CloudEvent, EventHandler
from shared.retention.tables import RetentionTables


def legal_hold_handlers(tables: RetentionTables) -> dict[str, EventHandler]:
    holds = tables.legal_holds

    async def placed(session: AsyncSession, event: CloudEvent) -> None:
        data = LegalHoldPlaced.model_validate(event.data)
        await session.execute(
            insert(holds)
            .values(
                id=data.hold_id,
                family_id=data.family_id,
                reason="held in cases",
                placed_by=f"event:{event.source}",
                placed_at=data.placed_at,
            )
            .on_conflict_do_nothing(index_elements=[holds.c.id])
        )

    async def released(session: AsyncSession, event: CloudEvent) -> None:
        data = LegalHoldReleased.model_validate(event.data)
        await session.execute(
            holds.update()
            .where(holds.c.id == data.hold_id, holds.c.released_at.is_(None))
            .values(released_at=data.released_at, released_by=f"event:{event.source}")
        )

    return {LegalHoldPlaced.event_type: placed, LegalHoldReleased.event_type: released}
