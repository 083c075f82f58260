"""The cases service's REST calls (docs/contracts.md, issue 4), answered as `gateway.upstream.cases` models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.clients.base import JSON, PageRequest, ServiceAPI, segment
from gateway.errors import UpstreamError
from gateway.upstream import KeysetPage, keyset_page_of, page_of
from gateway.upstream.cases import (
    CaseloadRead,
    CaseRead,
    ContactRead,
    FamilyMergeRead,
    FamilyRead,
    LeadWorkerAssignmentRead,
    PersonRead,
    PlanRead,
    WorkerRead,
)


@dataclass(frozen=True, slots=True)
class OwnCases:
    """The caller's worker record (matched on `subject`) and the open cases they lead."""

    worker: WorkerRead | None
    caseload: list[CaseRead] = field(default_factory=list)


class CasesAPI(ServiceAPI):
    async def families_by_ids(self, ids: Sequence[str]) -> list[FamilyRead]:
        return await self.batch(FamilyRead, "/v1/families", "ids", ids)

    async def list_families(self, request: PageRequest, **filters: Any) -> KeysetPage[FamilyRead]:
        return await self.keyset_page(keyset_page_of(FamilyRead), "/v1/families", request, **filters)

    async def cases_by_ids(self, ids: Sequence[str]) -> list[CaseRead]:
        return await self.batch(CaseRead, "/v1/cases", "ids", ids)

    async def cases_by_family_ids(self, family_ids: Sequence[str]) -> list[CaseRead]:
        return await self.batch(CaseRead, "/v1/cases", "family_ids", family_ids)

    async def plans_by_case_ids(self, case_ids: Sequence[str]) -> list[PlanRead]:
        return await self.batch(PlanRead, "/v1/plans", "case_ids", case_ids)

    async def contacts_by_case_ids(self, case_ids: Sequence[str]) -> list[ContactRead]:
        return await self.batch(ContactRead, "/v1/contacts", "case_ids", case_ids)

    async def workers_by_ids(self, ids: Sequence[str]) -> list[WorkerRead]:
        return await self.batch(WorkerRead, "/v1/workers", "ids", ids)

    async def hub_workers(self, hub: str) -> list[WorkerRead]:
        """A hub's active workers with their current caseload and capacity (`GET /v1/workers?hub=`)."""
        items, _ = await self.page(WorkerRead, "/v1/workers", limit=100, cursor=None, hub=hub)
        return items

    async def people_by_ids(self, ids: Sequence[str]) -> list[PersonRead]:
        return await self.batch(PersonRead, "/v1/people", "ids", ids)

    async def lead_worker_history(self, case_id: str) -> list[LeadWorkerAssignmentRead]:
        path = f"/v1/cases/{segment(case_id)}/lead-worker/history"
        return list((await self.get_as(page_of(LeadWorkerAssignmentRead), path)).items)

    async def own_cases(self) -> OwnCases:
        """The caller's worker record (`GET /v1/workers/me`, by token subject) and the open cases they lead
        (`/v1/workers/{id}/caseload`, then those cases in one batch): three calls, none when there is no record."""
        try:
            worker = await self.get_as(WorkerRead, "/v1/workers/me")
        except UpstreamError as exc:
            if exc.status == 404:
                return OwnCases(worker=None)
            raise
        caseload = await self.get_as(CaseloadRead, f"/v1/workers/{segment(worker.id)}/caseload")
        case_ids = [item.case_id for item in caseload.cases]
        cases = await self.cases_by_ids(case_ids) if case_ids else []
        led = [c for c in cases if c.status != "closed"]
        return OwnCases(worker=worker, caseload=sorted(led, key=lambda c: c.opened_at))

    async def families_by_person_ids(self, person_ids: Sequence[str]) -> list[FamilyRead]:
        """The families the people are current members of (`GET /v1/families?person_ids=`), members inline."""
        return await self.batch(FamilyRead, "/v1/families", "person_ids", person_ids)

    async def assign_lead_worker(self, case_id: str, body: JSON, idempotency_key: str | None = None) -> None:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        await self.send("POST", f"/v1/cases/{segment(case_id)}/lead-worker", body, headers=headers)

    async def record_assessment(self, case_id: str, body: JSON, idempotency_key: str | None = None) -> None:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        await self.send("POST", f"/v1/cases/{segment(case_id)}/assessment", body, headers=headers)

    async def update_plan(self, case_id: str, body: JSON, etag: str | None) -> PlanRead:
        headers = {"If-Match": etag} if etag else None
        return await self.send_as(PlanRead, "PUT", f"/v1/cases/{segment(case_id)}/plan", body, headers=headers)

    async def update_team(self, case_id: str, body: JSON, etag: str | None = None) -> None:
        headers = {"If-Match": etag} if etag else None
        await self.send("PUT", f"/v1/cases/{segment(case_id)}/team", body, headers=headers)

    async def add_contact(self, case_id: str, body: JSON, idempotency_key: str | None = None) -> ContactRead:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        path = f"/v1/cases/{segment(case_id)}/contacts"
        return await self.send_as(ContactRead, "POST", path, body, headers=headers)

    async def close_case(self, case_id: str, body: JSON, etag: str | None = None) -> CaseRead:
        headers = {"If-Match": etag} if etag else None
        return await self.send_as(CaseRead, "POST", f"/v1/cases/{segment(case_id)}/close", body, headers=headers)

    async def merge_families(self, family_id: str, body: JSON) -> FamilyMergeRead:
        path = f"/v1/families/{segment(family_id)}/merge"
        return await self.send_as(FamilyMergeRead, "POST", path, body)

    async def undo_family_merge(self, merge_id: str, body: JSON) -> FamilyMergeRead:
        path = f"/v1/families/merges/{segment(merge_id)}/undo"
        return await self.send_as(FamilyMergeRead, "POST", path, body)

    async def family_merges(self, family_id: str) -> list[FamilyMergeRead]:
        path = f"/v1/families/{segment(family_id)}/merges"
        return list((await self.get_as(page_of(FamilyMergeRead), path)).items)
