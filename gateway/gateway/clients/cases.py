"""The cases service's REST calls (docs/contracts.md, issue 4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.clients.base import BATCH_MAX, JSON, ServiceAPI, segment

OWN_FAMILY_PAGES = 5
"""A practitioner sees only the families they lead or are in the team around; 500 is far above any cap."""


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

    async def people_by_ids(self, ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/people", "ids", ids)

    async def lead_worker_history(self, case_id: str) -> list[JSON]:
        body = await self.get(f"/v1/cases/{segment(case_id)}/lead-worker/history")
        return list(body.get("items") or []) if isinstance(body, dict) else list(body)

    async def own_cases(self, subject: str) -> OwnCases:
        """The caller's worker record and caseload, found from the token subject.

        The cases service links a token to a worker by `Worker.subject` but offers no lookup by subject, and
        `/v1/workers/{id}/caseload` needs the worker id. A practitioner's visible families are the ones they
        lead or are in the team around, so: those families (paged), their cases, and the lead workers of
        those cases; the caller is the lead worker whose `subject` is theirs. Three batch calls.
        """
        family_ids: list[str] = []
        cursor: str | None = None
        for _ in range(OWN_FAMILY_PAGES):
            items, cursor = await self.list_families(limit=BATCH_MAX, cursor=cursor)
            family_ids.extend(str(f["id"]) for f in items)
            if not cursor:
                break
        if not family_ids:
            return OwnCases(worker=None)
        cases = await self.cases_by_family_ids(family_ids)
        lead_ids = sorted({str(c["lead_worker_id"]) for c in cases if c.get("lead_worker_id")})
        workers = await self.workers_by_ids(lead_ids) if lead_ids else []
        worker = next((w for w in workers if w.get("subject") == subject), None)
        if worker is None:
            return OwnCases(worker=None)
        led = [c for c in cases if str(c.get("lead_worker_id")) == str(worker["id"]) and c.get("status") != "closed"]
        return OwnCases(worker=worker, caseload=sorted(led, key=lambda c: str(c.get("opened_at") or "")))

    async def assign_lead_worker(self, case_id: str, body: JSON) -> JSON:
        result: JSON = await self.send("POST", f"/v1/cases/{segment(case_id)}/lead-worker", body)
        return result

    async def record_assessment(self, case_id: str, body: JSON) -> JSON:
        result: JSON = await self.send("POST", f"/v1/cases/{segment(case_id)}/assessment", body)
        return result

    async def update_plan(self, case_id: str, body: JSON, etag: str | None) -> JSON:
        headers = {"If-Match": etag} if etag else None
        result: JSON = await self.send("PUT", f"/v1/cases/{segment(case_id)}/plan", body, headers=headers)
        return result

    async def add_contact(self, case_id: str, body: JSON) -> JSON:
        result: JSON = await self.send("POST", f"/v1/cases/{segment(case_id)}/contacts", body)
        return result

    async def close_case(self, case_id: str, body: JSON, etag: str | None = None) -> JSON:
        headers = {"If-Match": etag} if etag else None
        result: JSON = await self.send("POST", f"/v1/cases/{segment(case_id)}/close", body, headers=headers)
        return result
