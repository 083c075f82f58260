"""The cases service's REST calls (docs/contracts.md, issue 4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.clients.base import JSON, ServiceAPI


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

    async def people_by_ids(self, ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/people", "ids", ids)

    async def families_by_person_ids(self, person_ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/families", "person_ids", person_ids)

    async def lead_worker_history(self, case_id: str) -> list[JSON]:
        body = await self.get(f"/v1/cases/{case_id}/lead-worker/history")
        return list(body.get("items") or []) if isinstance(body, dict) else list(body)

    async def caseload(self, worker_id: str) -> list[str]:
        """Ids of the cases the worker currently leads."""
        body = await self.get(f"/v1/workers/{worker_id}/caseload")
        return [str(c["case_id"]) for c in body.get("cases") or []]

    async def assign_lead_worker(self, case_id: str, body: JSON) -> JSON:
        result: JSON = await self.send("POST", f"/v1/cases/{case_id}/lead-worker", body)
        return result

    async def record_assessment(self, case_id: str, body: JSON) -> JSON:
        result: JSON = await self.send("POST", f"/v1/cases/{case_id}/assessment", body)
        return result

    async def update_plan(self, case_id: str, body: JSON, etag: str | None) -> JSON:
        headers = {"If-Match": etag} if etag else None
        result: JSON = await self.send("PUT", f"/v1/cases/{case_id}/plan", body, headers=headers)
        return result

    async def add_contact(self, case_id: str, body: JSON) -> JSON:
        result: JSON = await self.send("POST", f"/v1/cases/{case_id}/contacts", body)
        return result

    async def close_case(self, case_id: str, body: JSON) -> JSON:
        result: JSON = await self.send("POST", f"/v1/cases/{case_id}/close", body)
        return result
