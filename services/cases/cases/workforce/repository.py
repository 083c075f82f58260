"""Every query of the workforce: hubs, workers and their caseloads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from cases.kit import Repository
from cases.models import Case, Hub, LeadWorkerAssignment, Worker


class WorkforceRepository(Repository):
    async def hub_exists(self, code: str) -> bool:
        return (await self.session.execute(select(Hub.code).where(Hub.code == code))).first() is not None

    async def ensure_hub(self, code: str, name: str | None = None) -> None:
        await self.session.execute(insert(Hub).values(code=code, name=name or code.title()).on_conflict_do_nothing())

    async def upsert_hub(self, code: str, name: str) -> Hub:
        stmt = (
            insert(Hub)
            .values(code=code, name=name)
            .on_conflict_do_update(index_elements=[Hub.code], set_={"name": name})
            .returning(Hub)
        )
        return (await self.session.scalars(stmt)).one()

    async def hubs(self) -> list[Hub]:
        return list((await self.session.scalars(select(Hub).order_by(Hub.code))).all())

    async def worker_by_subject(self, subject: str) -> Worker | None:
        return (await self.session.scalars(select(Worker).where(Worker.subject == subject))).first()

    async def get_worker(self, worker_id: uuid.UUID, *, for_update: bool = False) -> Worker | None:
        query = select(Worker).where(Worker.id == worker_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def workers_by_ids(self, ids: Sequence[uuid.UUID], hubs: Sequence[str] | None) -> list[Worker]:
        query = select(Worker).where(Worker.id.in_(ids)).order_by(Worker.name, Worker.id)
        if hubs is not None:
            query = query.where(Worker.hub.in_(hubs))
        return list((await self.session.scalars(query)).all())

    async def add_worker(self, worker: Worker) -> bool:
        return await self.savepoint_insert(worker)

    async def current_caseload_count(self, worker_id: uuid.UUID) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(LeadWorkerAssignment)
            .where(LeadWorkerAssignment.worker_id == worker_id, LeadWorkerAssignment.ended_at.is_(None))
        )
        return int(count or 0)

    async def caseload(self, worker_id: uuid.UUID) -> list[tuple[LeadWorkerAssignment, Case]]:
        rows = await self.session.execute(
            select(LeadWorkerAssignment, Case)
            .join(Case, Case.id == LeadWorkerAssignment.case_id)
            .where(LeadWorkerAssignment.worker_id == worker_id, LeadWorkerAssignment.ended_at.is_(None))
            .order_by(LeadWorkerAssignment.assigned_at)
        )
        return [(a, c) for a, c in rows]

    async def hub_workers(self, hub: str) -> list[tuple[Worker, int]]:
        """The hub's active workers with their current caseload (open lead assignments), by name."""
        current = (
            select(func.count())
            .select_from(LeadWorkerAssignment)
            .where(LeadWorkerAssignment.worker_id == Worker.id, LeadWorkerAssignment.ended_at.is_(None))
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(Worker, current).where(Worker.hub == hub, Worker.active).order_by(Worker.name, Worker.id)
        )
        return [(w, int(n)) for w, n in rows]

    async def existing_worker_ids(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return set((await self.session.scalars(select(Worker.id).where(Worker.id.in_(ids)))).all())
