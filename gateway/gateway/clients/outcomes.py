"""The outcomes service's REST calls (docs/contracts.md, issue 5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.clients.base import JSON, ServiceAPI, segment


class OutcomesAPI(ServiceAPI):
    async def frameworks(self) -> list[JSON]:
        body = await self.get("/v1/frameworks")
        return list(body.get("items") or []) if isinstance(body, dict) else list(body)

    async def active_framework(self) -> JSON:
        result: JSON = await self.get("/v1/frameworks/active")
        return result

    async def progress_by_family_ids(self, family_ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/progress", "family_ids", family_ids)

    async def claims_by_family_ids(self, family_ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/claims", "family_ids", family_ids)

    async def list_claims(self, *, limit: int, cursor: str | None, **filters: Any) -> tuple[list[JSON], str | None]:
        return await self.page("/v1/claims", limit=limit, cursor=cursor, **filters)

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

    async def create_claim(self, body: JSON, idempotency_key: str | None = None) -> JSON:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        result: JSON = await self.send("POST", "/v1/claims", body, headers=headers)
        return result

    async def audit_sample(self, body: JSON) -> JSON:
        result: JSON = await self.send("POST", "/v1/claims/audit-sample", body)
        return result

    async def validate_claim(self, claim_id: str, body: JSON) -> JSON:
        result: JSON = await self.send("POST", f"/v1/claims/{segment(claim_id)}/decision", body)
        return result
