"""The referrals service's REST calls (docs/contracts.md, issue 3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.clients.base import JSON, ServiceAPI, segment

UNDECIDED_STATUSES = ("received", "screening")


class ReferralsAPI(ServiceAPI):
    async def by_ids(self, ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/referrals", "ids", ids)

    async def by_family_ids(self, family_ids: Sequence[str]) -> list[JSON]:
        return await self.batch("/v1/referrals", "family_ids", family_ids)

    async def list(self, *, limit: int, cursor: str | None, **filters: Any) -> tuple[list[JSON], str | None]:
        return await self.page("/v1/referrals", limit=limit, cursor=cursor, **filters)

    async def triage_figures(self) -> JSON:
        """Aggregated, pseudonymised triage figures (`GET /v1/reports/triage`: analysts, hub managers, admins)."""
        body: JSON = await self.get("/v1/reports/triage")
        return body

    async def submit(self, kind: str, body: JSON, idempotency_key: str) -> JSON:
        result: JSON = await self.send(
            "POST", f"/v1/referrals/{segment(kind)}", body, headers={"Idempotency-Key": idempotency_key}
        )
        return result

    async def decide(self, referral_id: str, body: JSON) -> JSON:
        result: JSON = await self.send("POST", f"/v1/referrals/{segment(referral_id)}/decision", body)
        return result

    async def withdraw(self, referral_id: str, body: JSON) -> JSON:
        result: JSON = await self.send("POST", f"/v1/referrals/{segment(referral_id)}/withdraw", body)
        return result
