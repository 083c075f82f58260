"""Every query of identified families: the hub's ranked list, one family in scope, the decision, the profile."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from intelligence.access import HubScope
from intelligence.models import EVIDENCE_RANK, IdentifiedFamily, LinkageRun, NeedSnapshot, platform
from intelligence.repository import Repository
from shared.contracts.events import source_of
from shared.events import publish
from shared.pagination import SortKey, Window

OPEN_TO = ("identified", "open_case")
"""The statuses a check against cases may move between: a decided or statutory family keeps its status."""


class FamiliesRepository(Repository):
    async def page(
        self,
        scope: HubScope,
        *,
        hub: str | None,
        status: str | None,
        window: Window,
    ) -> Sequence[IdentifiedFamily]:
        """Ranked by number of needs, then the most recent evidence, then id (keyset pagination)."""
        query = select(IdentifiedFamily)
        if not scope.everything:
            query = query.where(IdentifiedFamily.hub.in_(sorted(scope.hubs)))
        if hub:
            query = query.where(IdentifiedFamily.hub == hub)
        if status:
            query = query.where(IdentifiedFamily.status == status)
        order = (
            SortKey(IdentifiedFamily.need_count, True),
            SortKey(EVIDENCE_RANK, True),
            SortKey(IdentifiedFamily.id),
        )
        query = window.apply(query, order)
        return (await self.session.execute(query)).scalars().all()

    async def get(self, scope: HubScope, family_id: uuid.UUID, *, for_update: bool = False) -> IdentifiedFamily | None:
        query = select(IdentifiedFamily).where(IdentifiedFamily.id == family_id)
        if not scope.everything:
            query = query.where(IdentifiedFamily.hub.in_(sorted(scope.hubs)))
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def publish(self, event_type: str, subject: uuid.UUID, data: dict[str, Any]) -> None:
        await publish(
            self.session, platform, source=source_of("intelligence"), type=event_type, subject=str(subject), data=data
        )

    async def latest_run(self) -> uuid.UUID | None:
        query = select(LinkageRun.id).order_by(LinkageRun.finished_at.desc(), LinkageRun.id).limit(1)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def profile_rows(self, *, hub: str | None, district: str | None) -> Sequence[Any]:
        """Every linkage run's need snapshot cells in the filter, with when the run finished."""
        query = select(
            NeedSnapshot.run_id,
            LinkageRun.finished_at,
            NeedSnapshot.as_of,
            NeedSnapshot.framework,
            NeedSnapshot.hub,
            NeedSnapshot.postcode_district,
            NeedSnapshot.needs,
            NeedSnapshot.statutory,
            NeedSnapshot.families,
        ).join(LinkageRun, LinkageRun.id == NeedSnapshot.run_id)
        if hub:
            query = query.where(NeedSnapshot.hub == hub)
        if district:
            query = query.where(NeedSnapshot.postcode_district == district.upper())
        return (await self.session.execute(query)).all()

    async def due_for_check(self, stale: datetime, *, limit: int) -> Sequence[IdentifiedFamily]:
        """Families cases has not answered for yet, then those whose answer is older than `stale` (undecided)."""
        query = (
            select(IdentifiedFamily)
            .where(
                or_(
                    IdentifiedFamily.cases_check == "unchecked",
                    and_(IdentifiedFamily.cases_checked_at < stale, IdentifiedFamily.status.in_(OPEN_TO)),
                )
            )
            .order_by(IdentifiedFamily.cases_checked_at.asc().nulls_first(), IdentifiedFamily.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(query)).scalars().all()
