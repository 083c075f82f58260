"""The cases service's REST calls (docs/contracts.md, issue 4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.clients.base import JSON, ServiceAPI, segment
from gateway.errors import UpstreamError


@dataclass(frozen=True, slots=True)
class OwnCases:
    """The caller's worker record (matched on `subject`) and the open cases they lead."""

    worker: JSON | None
    caseload: list[JSON] = field(default_factory=list)


class CasesAPI(ServiceAPI):
    async def families_by_ids(self, ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/families", "ids", ids)

    async def list_families(self, *, limit: int, cursor: str | None, **filters: Any) -> tuple[list[JSON], str | None]:
        return await self.page("/v1/families", limit=limit, cursor=cursor, **filters)

    async def cases_by_ids(self, ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/cases", "ids", ids)

    async def cases_by_family_ids(self, family_ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/cases", "family_ids", family_ids)

    async def plans_by_case_ids(self, case_ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/plans", "case_ids", case_ids)

    async def contacts_by_case_ids(self, case_ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/contacts", "case_ids", case_ids)

    async def workers_by_ids(self, ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/workers", "ids", ids)

    async def hub_workers(self, hub: str) -> list[JSON]:
        """A hub's active workers with their current caseload and capacity (`GET /v1/workers?hub=`)."""
        body = await self.get("/v1/workers", {"hub": hub})
        return list(body.get("items") or [])

    async def people_by_ids(self, ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/people", "ids", ids)

    async def lead_worker_history(self, case_id: str) -> list[JSON]:
        body = await self.get(f"/v1/cases/{segment(case_id)}/lead-worker/history")
        return list(body.get("items") or []) if isinstance(body, dict) else list(body)

    async def own_cases(self) -> OwnCases:
        """The caller's worker record (`GET /v1/workers/me`, by token subject) and the open cases they lead
        (`/v1/workers/{id}/caseload`, then those cases in one batch): three calls, none when there is no record."""
        try:
            worker: JSON = await self.get("/v1/workers/me")
        except UpstreamError as exc:
            if exc.status == 404:
                return OwnCases(worker=None)
            raise
        caseload = await self.get(f"/v1/workers/{segment(str(worker['id']))}/caseload")
        case_ids = [str(item["case_id"]) for item in caseload.get("cases") or []]
        cases = await self.cases_by_ids(case_ids) if case_ids else []
        led = [c for c in cases if c.get("status") != "closed"]
        return OwnCases(worker=worker, caseload=sorted(led, key=lambda c: str(c.get("opened_at") or "")))

    async def families_by_person_ids(self, person_ids: Sequence[str]) -> list[JSON]:
        """The families the people are current members of (`GET /v1/families?person_ids=`), members inline."""
        return await self.batch("/v1/families", "person_ids", person_ids)

    async def assign_lead_worker(self, case_id: str, body: JSON, idempotency_key: str | None = None) -> JSON:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        result: JSON = await self.send("POST", f"/v1/cases/{segment(case_id)}/lead-worker", body, headers=headers)
        return result

    async def record_assessment(self, case_id: str, body: JSON, idempotency_key: str | None = None) -> JSON:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        result: JSON = await self.send("POST", f"/v1/cases/{segment(case_id)}/assessment", body, headers=headers)
        return result

    async def update_plan(self, case_id: str, body: JSON, etag: str | None) -> JSON:
        headers = {"If-Match": etag} if etag else None
        result: JSON = await self.send("PUT", f"/v1/cases/{segment(case_id)}/plan", body, headers=headers)
        return result

    async def add_contact(self, case_id: str, body: JSON, idempotency_key: str | None = None) -> JSON:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        result: JSON = await self.send("POST", f"/v1/cases/{segment(case_id)}/contacts", body, headers=headers)
        return result

    async def close_case(self, case_id: str, body: JSON, etag: str | None = None) -> JSON:
        headers = {"If-Match": etag} if etag else None
        result: JSON = await self.send("POST", f"/v1/cases/{segment(case_id)}/close", body, headers=headers)
        return result
