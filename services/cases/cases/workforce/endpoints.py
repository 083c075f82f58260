"""HTTP endpoints of the workforce: thin handlers over `WorkforceService`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from cases.deps import Admin, CallerDep, Idempotent, ManagerOrAdmin, WorkforceServiceDep
from cases.models import Worker
from cases.schemas import Page
from cases.workforce.schemas import CaseloadItem, CaseloadRead, HubPut, HubRead, WorkerCreate, WorkerRead
from shared.auth import Principal, require_roles
from shared.errors import NotFound, UnprocessableContent, field_error
from shared.fields import IDS_LENGTH
from shared.ids import parse_ids

router = APIRouter(prefix="/v1", tags=["cases"])
HubReaders = Annotated[Principal, Depends(require_roles("practitioner", "hub_manager", "admin"))]


@router.get("/hubs", summary="The hubs this service serves (staff, and admins: a hub mapping is checked against them)")
async def hubs(workforce: WorkforceServiceDep, principal: HubReaders) -> Page[HubRead]:
    return Page(items=[HubRead(code=h.code, name=h.name) for h in await workforce.hubs()])


@router.put("/hubs/{code}", summary="Define or rename a hub (admin)")
async def put_hub(
    code: Annotated[str, Path(max_length=40, pattern=r"^[a-z][a-z0-9_-]{1,39}$")],
    body: HubPut,
    workforce: WorkforceServiceDep,
    principal: Admin,
) -> HubRead:
    hub = await workforce.put_hub(code, body.name, principal)
    return HubRead(code=hub.code, name=hub.name)


@router.get("/workers", summary="Workers by id (batch), or a hub's workers with their caseload and capacity")
async def workers(
    workforce: WorkforceServiceDep,
    caller: CallerDep,
    ids: Annotated[
        str | None, Query(max_length=IDS_LENGTH, description="Comma-separated worker ids (at most 100)")
    ] = None,
    hub: Annotated[
        str | None,
        Query(max_length=40, pattern=r"^[a-z][a-z0-9_-]{1,39}$", description="A hub's active workers (its managers)"),
    ] = None,
) -> Page[WorkerRead]:
    if (ids is None) == (hub is None):
        raise UnprocessableContent("Give ids or hub", errors=[field_error("#query/ids", "ids or hub, not both")])
    if hub is not None:
        listed = await workforce.hub_workers(hub, caller)
        return Page(
            items=[
                WorkerRead.model_validate(w, from_attributes=True).model_copy(
                    update={"current_caseload": n, "capacity": max(w.caseload_cap - n, 0)}
                )
                for w, n in listed
            ]
        )
    found = await workforce.workers(parse_ids(ids or "", "ids"), caller)
    return Page(items=[WorkerRead.model_validate(w, from_attributes=True) for w in found])


@router.get("/workers/me", summary="The caller's own worker record (by token subject)")
async def my_worker(workforce: WorkforceServiceDep, caller: CallerDep) -> WorkerRead:
    if caller.worker_id is None:
        raise NotFound("You have no active worker record in this service")
    found = await workforce.workers([caller.worker_id], caller)
    if not found:
        raise NotFound("You have no active worker record in this service")
    return WorkerRead.model_validate(found[0], from_attributes=True)


@router.post("/workers", status_code=status.HTTP_201_CREATED, summary="Add a worker to a hub")
async def create_worker(
    body: WorkerCreate, workforce: WorkforceServiceDep, principal: ManagerOrAdmin, idempotent: Idempotent
) -> WorkerRead:
    async def create() -> Worker:
        return await workforce.create_worker(body, await workforce.caller(principal))

    return await idempotent.run(WorkerRead, create)


@router.get("/workers/{worker_id}/caseload", summary="A worker's current cases against their cap")
async def caseload(worker_id: uuid.UUID, workforce: WorkforceServiceDep, caller: CallerDep) -> CaseloadRead:
    worker, rows = await workforce.caseload(worker_id, caller)
    return CaseloadRead(
        worker_id=worker.id,
        caseload_cap=worker.caseload_cap,
        current=len(rows),
        at_cap=len(rows) >= worker.caseload_cap,
        cases=[
            CaseloadItem(case_id=c.id, family_id=c.family_id, hub=c.hub, status=c.status, assigned_at=a.assigned_at)
            for a, c in rows
        ],
    )
