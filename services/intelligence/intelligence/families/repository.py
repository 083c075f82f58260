"""Every query of identified families: the hub's ranked list, one family in scope, the decision, the profile."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select

from intelligence.access import HubScope
from intelligence.models import IdentifiedFamily, platform
from intelligence.repository import Repository
from shared.contracts.events import source_of
from shared.events import publish


class FamiliesRepository(Repository):
    async def page(
        self,
        scope: HubScope,
        *,
        hub: str | None,
        status: str | None,
        after: tuple[int, date, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[IdentifiedFamily]:
        """Ranked by number of needs, then the most recent evidence, then id (keyset pagination)."""
        query = select(IdentifiedFamily)
        if not scope.everything:
            query = query.where(IdentifiedFamily.hub.in_(sorted(scope.hubs)))
        if hub:
            query = query.where(IdentifiedFamily.hub == hub)
        if status:
            query = query.where(IdentifiedFamily.status == status)
        latest = func.coalesce(IdentifiedFamily.latest_evidence, date.min)
        if after is not None:
            count, when, last = after
            query = query.where(
                or_(
                    IdentifiedFamily.need_count < count,
                    and_(IdentifiedFamily.need_count == count, latest < when),
                    and_(IdentifiedFamily.need_count == count, latest == when, IdentifiedFamily.id > last),
                )
            )
        query = query.order_by(IdentifiedFamily.need_count.desc(), latest.desc(), IdentifiedFamily.id).limit(limit)
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

    async def profile_rows(self, *, hub: str | None, district: str | None) -> Sequence[Any]:
        """(hub, postcode district, status, need codes) of every identified family in the filter."""
        district_expr = func.split_part(IdentifiedFamily.postcode, " ", 1)
        query = select(
            IdentifiedFamily.hub,
            district_expr.label("district"),
            IdentifiedFamily.status,
            IdentifiedFamily.framework,
            IdentifiedFamily.needs,
        )
        if hub:
            query = query.where(IdentifiedFamily.hub == hub)
        if district:
            query = query.where(district_expr == district.upper())
        return (await self.session.execute(query)).all()
