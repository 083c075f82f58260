"""The rules of the workforce: who defines hubs, who adds workers, who sees a caseload."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from cases.access import Caller
from cases.models import Case, Hub, Worker
from cases.workforce.repository import WorkforceRepository
from cases.workforce.schemas import WorkerCreate
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound, UnprocessableContent, field_error


class WorkforceService:
    def __init__(self, repo: WorkforceRepository) -> None:
        self.repo = repo

    async def caller(self, principal: Principal) -> Caller:
        worker = await self.repo.worker_by_subject(principal.sub)
        return Caller(principal, worker.id if worker is not None and worker.active else None)

    async def hubs(self) -> list[Hub]:
        return await self.repo.hubs()

    async def put_hub(self, code: str, name: str, principal: Principal) -> Hub:
        if not principal.has_role("admin"):
            raise Forbidden("Only an admin defines hubs")
        hub = await self.repo.upsert_hub(code, name)
        await self.repo.audit(principal, "update", "hub", [code])
        return hub

    async def create_worker(self, body: WorkerCreate, caller: Caller) -> Worker:
        if not (caller.manages(body.hub) or caller.principal.has_role("admin")):
            raise Forbidden("Only the hub's managers (or an admin) add workers to a hub")
        if not await self.repo.hub_exists(body.hub):
            raise UnprocessableContent("Unknown hub", errors=[field_error("/hub", "no such hub")])
        worker = Worker(id=uuid.uuid4(), active=True, **body.model_dump())
        if not await self.repo.add_worker(worker):
            raise Conflict("A worker with this subject already exists")
        return worker

    async def workers(self, ids: Sequence[uuid.UUID], caller: Caller) -> list[Worker]:
        # Workers are staff, not families: any practitioner or manager may look colleagues up.
        return await self.repo.workers_by_ids(ids, None)

    async def hub_workers(self, hub: str, caller: Caller) -> list[tuple[Worker, int]]:
        """A hub's active workers with their current caseload, for its managers choosing a lead worker."""
        if not (caller.manages(hub) or caller.principal.has_role("admin")):
            raise Forbidden("A hub's workers are listed for its managers (or an admin)")
        if not await self.repo.hub_exists(hub):
            raise NotFound(f"No hub {hub!r}")
        return await self.repo.hub_workers(hub)

    async def caseload(self, worker_id: uuid.UUID, caller: Caller) -> tuple[Worker, list[tuple[Any, Case]]]:
        worker = await self.repo.get_worker(worker_id)
        if worker is None:
            raise NotFound("No such worker")
        if caller.worker_id != worker.id and not caller.manages(worker.hub):
            raise Forbidden("A caseload is visible to the worker and their hub's managers")
        return worker, await self.repo.caseload(worker_id)
