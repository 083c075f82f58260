"""The referrals service's REST calls (docs/contracts.md, issue 3), answered as `gateway.upstream.referrals`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.clients.base import JSON, PageRequest, ServiceAPI, segment
from gateway.upstream import KeysetPage, keyset_page_of
from gateway.upstream.referrals import ReferralRead, ReferralTiming, ReviewItem

UNDECIDED_STATUSES = ("received", "screening")


class ReferralsAPI(ServiceAPI):
    async def by_ids(self, ids: Sequence[str]) -> list[ReferralRead]:
        return await self.batch(ReferralRead, "/v1/referrals", "ids", ids)

    async def by_family_ids(self, family_ids: Sequence[str]) -> list[ReferralRead]:
        return await self.batch(ReferralRead, "/v1/referrals", "family_ids", family_ids)

    async def timings(self, *, limit: int, cursor: str | None) -> tuple[list[ReferralTiming], str | None]:
        return await self.page(ReferralTiming, "/v1/referrals", limit=limit, cursor=cursor)

    async def list(self, request: PageRequest, **filters: Any) -> KeysetPage[ReferralRead]:
        return await self.keyset_page(keyset_page_of(ReferralRead), "/v1/referrals", request, **filters)

    async def triage_figures(self) -> JSON:
        """Aggregated, pseudonymised triage figures (`GET /v1/reports/triage`: analysts, hub managers, admins)."""
        body: JSON = await self.get("/v1/reports/triage")
        return body

    async def submit(self, kind: str, body: JSON, idempotency_key: str | None) -> ReferralRead:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        return await self.send_as(ReferralRead, "POST", f"/v1/referrals/{segment(kind)}", body, headers=headers)

    async def decide(self, referral_id: str, body: JSON) -> ReferralRead:
        return await self.send_as(ReferralRead, "POST", f"/v1/referrals/{segment(referral_id)}/decision", body)

    async def withdraw(self, referral_id: str, body: JSON) -> ReferralRead:
        return await self.send_as(ReferralRead, "POST", f"/v1/referrals/{segment(referral_id)}/withdraw", body)

    async def identity_reviews(self, request: PageRequest) -> KeysetPage[ReviewItem]:
        """People in review or conflict awaiting triage's answer to who they are, oldest first."""
        return await self.keyset_page(keyset_page_of(ReviewItem), "/v1/identity-reviews", request)

    async def confirm_identity(self, referral_id: str, ref: str, body: JSON) -> ReferralRead:
        path = f"/v1/referrals/{segment(referral_id)}/people/{segment(ref)}/identity"
        return await self.send_as(ReferralRead, "PUT", path, body)
