"""The outcomes service's REST calls (docs/contracts.md, issue 5), answered as `gateway.upstream.outcomes`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.clients.base import JSON, PageRequest, ServiceAPI, segment
from gateway.upstream import KeysetPage, keyset_page_of, page_of
from gateway.upstream.outcomes import AuditSampleRead, ClaimRead, ClaimTally, FamilyProgress, FrameworkSummary
from shared.contracts import ActiveFramework


class OutcomesAPI(ServiceAPI):
    async def frameworks(self) -> list[FrameworkSummary]:
        return list((await self.get_as(page_of(FrameworkSummary), "/v1/frameworks")).items)

    async def framework(self, code: str, version: str) -> ActiveFramework:
        """One framework version's definition, read with the shared contract the other services use."""
        return await self.get_as(ActiveFramework, f"/v1/frameworks/{segment(code)}", {"version": version})

    async def progress_by_family_ids(self, family_ids: Sequence[str]) -> list[FamilyProgress]:
        return await self.batch(FamilyProgress, "/v1/progress", "family_ids", family_ids)

    async def claims_by_family_ids(self, family_ids: Sequence[str]) -> list[ClaimRead]:
        return await self.batch(ClaimRead, "/v1/claims", "family_ids", family_ids)

    async def list_claims(self, request: PageRequest, **filters: Any) -> KeysetPage[ClaimRead]:
        return await self.keyset_page(keyset_page_of(ClaimRead), "/v1/claims", request, **filters)

    async def claim_tallies(self, *, limit: int, cursor: str | None) -> tuple[list[ClaimTally], str | None]:
        return await self.page(ClaimTally, "/v1/claims", limit=limit, cursor=cursor)

    async def cohort_report(self, **filters: Any) -> JSON:
        params = {k: str(v) for k, v in filters.items() if v is not None}
        result: JSON = await self.get("/v1/reports/cohort", params)
        return result

    async def record_observations(self, body: JSON) -> JSON:
        result: JSON = await self.send("POST", "/v1/observations", body)
        return result

    async def run_evaluation(self, body: JSON) -> JSON:
        result: JSON = await self.send("POST", "/v1/evaluations", body)
        return result

    async def create_claim(self, body: JSON, idempotency_key: str | None = None) -> ClaimRead:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self.send_as(ClaimRead, "POST", "/v1/claims", body, headers=headers)

    async def audit_sample(self, body: JSON) -> AuditSampleRead:
        return await self.send_as(AuditSampleRead, "POST", "/v1/claims/audit-sample", body)

    async def validate_claim(self, claim_id: str, body: JSON) -> ClaimRead:
        return await self.send_as(ClaimRead, "POST", f"/v1/claims/{segment(claim_id)}/decision", body)
