"""Every query of intake: which case a referral opened or joined."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from cases.kit import Repository
from cases.models import CaseReferral


class IntakeRepository(Repository):
    async def case_of_referral(self, referral_id: uuid.UUID) -> uuid.UUID | None:
        return await self.session.scalar(select(CaseReferral.case_id).where(CaseReferral.referral_id == referral_id))

    async def link_referral(
        self, referral_id: uuid.UUID, case_id: uuid.UUID, *, joined: bool, received_at: datetime | None
    ) -> bool:
        received = {"received_at": received_at} if received_at is not None else {}
        stmt = (
            insert(CaseReferral)
            .values(referral_id=referral_id, case_id=case_id, joined=joined, **received)
            .on_conflict_do_nothing()
            .returning(CaseReferral.referral_id)
        )
        return (await self.session.scalars(stmt)).first() is not None
