"""Every query of claims: claims, audit samples, decisions and the export."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from outcomes.models import AuditSample, Claim, EnrolmentMember
from outcomes.repository import Repository
from shared.errors import Conflict
from shared.pagination import SortKey, Window


class ClaimsRepository(Repository):
    async def add_claim(self, claim: Claim) -> Claim:
        """Store a new claim; a family already claimed (and not rejected) in the phase is a 409."""
        try:
            async with self.session.begin_nested():
                self.session.add(claim)
                await self.session.flush()
        except IntegrityError as exc:
            if "uq_claims_family_phase_live" in str(exc.orig):
                raise Conflict(
                    f"Family {claim.family_id} has already been claimed in phase {claim.programme_phase}"
                ) from exc
            raise
        return claim

    async def member_roles(self, enrolment_id: uuid.UUID) -> list[str]:
        """The roles of the enrolled family's members as last assessed."""
        rows = await self.session.scalars(
            select(EnrolmentMember.role).where(EnrolmentMember.enrolment_id == enrolment_id)
        )
        return list(rows.all())

    async def claim(self, claim_id: uuid.UUID, *, for_update: bool = False) -> Claim | None:
        query = select(Claim).where(Claim.id == claim_id)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def list_claims(
        self,
        *,
        status: str | None,
        family_ids: Sequence[uuid.UUID] | None,
        hub: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
        window: Window,
    ) -> Sequence[Claim]:
        query = select(Claim)
        if status:
            query = query.where(Claim.status == status)
        if family_ids is not None:
            query = query.where(Claim.family_id.in_(family_ids))
        if hub:
            query = query.where(Claim.hub == hub)
        if created_from:
            query = query.where(Claim.created_at >= created_from)
        if created_to:
            query = query.where(Claim.created_at < created_to)
        return (await self.session.scalars(window.apply(query, (SortKey(Claim.created_at), SortKey(Claim.id))))).all()

    async def pending_claims(self) -> Sequence[Any]:
        return (
            await self.session.execute(
                select(Claim.id, Claim.practitioner_assessed).where(Claim.status == "pending").order_by(Claim.id)
            )
        ).all()

    async def add_sample(self, sample: AuditSample, claim_ids: Sequence[uuid.UUID]) -> None:
        self.session.add(sample)
        await self.session.flush()
        if claim_ids:
            await self.session.execute(update(Claim).where(Claim.id.in_(claim_ids)).values(sample_id=sample.id))

    async def validated_claims(self, start: datetime, end: datetime) -> Sequence[Claim]:
        return (
            await self.session.scalars(
                select(Claim)
                .where(Claim.status == "validated", Claim.created_at >= start, Claim.created_at < end)
                .order_by(Claim.created_at, Claim.id)
            )
        ).all()

    async def flush(self) -> None:
        """Write the changes made to loaded claims (a decision) before the access log records them."""
        await self.session.flush()
