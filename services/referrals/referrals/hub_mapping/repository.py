"""Every query of the hub mapping (`hub_districts`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from referrals.models import HubDistrict


@dataclass(slots=True)
class HubMappingRepository:
    session: AsyncSession

    async def all(self) -> list[HubDistrict]:
        return list((await self.session.scalars(select(HubDistrict).order_by(HubDistrict.district))).all())

    async def replace(self, districts: dict[str, str], *, by: str, at: datetime) -> None:
        """Replace the whole mapping ({district: hub}) in this transaction."""
        await self.session.execute(delete(HubDistrict))
        rows = [{"district": d, "hub": h, "updated_at": at, "updated_by": by} for d, h in sorted(districts.items())]
        await self.session.execute(insert(HubDistrict), rows)
