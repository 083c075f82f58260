"""Every query of triage: a referral (locked to act on it), the queue, status changes, the case link.

Access is applied here, in SQL (`visible_to`): a referral outside the caller's scope is never loaded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Boolean, ColumnElement, and_, false, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from referrals.access import ReadScope
from referrals.models import OPEN_STATUSES, Referral, ReferralPerson, StatusChange
from referrals.triage.working_days import LONDON
from shared.pagination import SortKey, Window

LONDON_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ReferralFilters:
    status: Sequence[str] = ()
    kind: str | None = None
    hub: str | None = None
    agency: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    breached: bool | None = None
    safeguarding_concern: bool | None = None
    matching: str | None = None
    ids: Sequence[uuid.UUID] = ()
    family_ids: Sequence[uuid.UUID] = ()


QUEUE_ORDER = (
    SortKey(Referral.safeguarding_concern, descending=True),
    SortKey(Referral.received_at),
    SortKey(Referral.id),
)
"""The triage order: safeguarding concerns first, then oldest first (the queue's keyset)."""
REVIEW_ORDER = (SortKey(Referral.received_at), SortKey(ReferralPerson.id))
"""The identity review queue: oldest referral first, then by person."""


@dataclass
class ReferralRepository:
    session: AsyncSession

    async def review_queue(self, scope: ReadScope, *, window: Window) -> list[tuple[ReferralPerson, Referral]]:
        """People of open referrals in review or conflict (awaiting triage's confirmation), oldest first."""
        query = (
            select(ReferralPerson, Referral)
            .join(Referral, ReferralPerson.referral_id == Referral.id)
            .where(
                ReferralPerson.match_status == "candidates",
                Referral.status.in_(OPEN_STATUSES),
                visible_to(scope),
            )
        )
        query = window.apply(query, REVIEW_ORDER)
        return [(person, referral) for person, referral in (await self.session.execute(query)).all()]

    async def get(self, referral_id: uuid.UUID, scope: ReadScope, *, for_update: bool = False) -> Referral | None:
        query = (
            select(Referral)
            .where(Referral.id == referral_id, visible_to(scope))
            .options(selectinload(Referral.people), selectinload(Referral.history))
            .execution_options(populate_existing=True)
        )
        if for_update:
            query = query.with_for_update(of=Referral)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def family_of(self, referral_id: uuid.UUID) -> uuid.UUID | None:
        """The family a referral was linked to (by the case that took it), whoever may see it: only to ask the
        cases service whether the caller works with that family."""
        query = select(Referral.family_id).where(Referral.id == referral_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def search(
        self,
        scope: ReadScope,
        filters: ReferralFilters,
        *,
        window: Window,
        now: datetime,
    ) -> list[Referral]:
        conditions: list[ColumnElement[bool]] = [visible_to(scope)]
        if filters.ids:
            conditions.append(Referral.id.in_(list(filters.ids)))
        if filters.family_ids:
            conditions.append(Referral.family_id.in_(list(filters.family_ids)))
        if filters.status:
            conditions.append(Referral.status.in_(list(filters.status)))
        if filters.kind:
            conditions.append(Referral.kind == filters.kind)
        if filters.hub:
            conditions.append(Referral.hub == filters.hub)
        if filters.agency:
            conditions.append(Referral.agency == filters.agency)
        if filters.received_from:
            conditions.append(Referral.received_at >= _day_start(filters.received_from))
        if filters.received_to:
            conditions.append(Referral.received_at < _day_start(filters.received_to) + LONDON_DAY)
        if filters.breached is not None:
            expression = breached_expression(now)
            conditions.append(expression if filters.breached else ~expression)
        if filters.safeguarding_concern is not None:
            conditions.append(Referral.safeguarding_concern.is_(filters.safeguarding_concern))
        if filters.matching:
            conditions.append(Referral.matching == filters.matching)
        query = select(Referral).where(*conditions)
        query = window.apply(query, QUEUE_ORDER).options(selectinload(Referral.people), selectinload(Referral.history))
        return list((await self.session.execute(query)).scalars().all())

    async def add_status_change(
        self, referral: Referral, *, to_status: str, at: datetime, by: str, reason: str | None
    ) -> StatusChange:
        change = StatusChange(
            referral_id=referral.id,
            from_status=referral.status,
            to_status=to_status,
            changed_at=at,
            changed_by=by,
            reason=reason,
        )
        self.session.add(change)
        referral.history.append(change)
        referral.status = to_status
        referral.updated_at = at
        await self.session.flush()
        return change

    async def flush(self) -> None:
        await self.session.flush()

    async def link_case(self, referral_id: uuid.UUID, *, family_id: uuid.UUID, case_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            update(Referral)
            .where(Referral.id == referral_id)
            .values(family_id=family_id, case_id=case_id, updated_at=func.now())
            .returning(Referral.id)
        )
        return result.scalar_one_or_none() is not None


def visible_to(scope: ReadScope) -> ColumnElement[bool]:
    if scope.everything:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if scope.agencies:
        clauses.append(Referral.agency.in_(list(scope.agencies)))
    if scope.hubs:
        clauses.append(Referral.hub.in_(list(scope.hubs)))
    if scope.families:
        clauses.append(Referral.family_id.in_(list(scope.families)))
    if scope.submitted is not None:
        agency, sub = scope.submitted
        clauses.append(and_(Referral.agency == agency, Referral.created_by == sub))
    return or_(*clauses) if clauses else false()


def breached_expression(now: datetime) -> ColumnElement[bool]:
    """A decision is late when it was (or still is not) made by its due time; withdrawal stops the clock."""
    settled_at = func.coalesce(Referral.decided_at, Referral.withdrawn_at, now)
    expression: ColumnElement[bool] = (Referral.decision_due_at < settled_at).cast(Boolean)
    return expression


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LONDON)
