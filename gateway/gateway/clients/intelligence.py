"""The intelligence service's REST calls (issue 21), answered as `gateway.upstream.intelligence` models.

Its list pages with `first`/`after` (not `limit`/`cursor`), and `before`, and answers `{items, next_cursor, …}`."""

from __future__ import annotations

from gateway.clients.base import JSON, PageRequest, ServiceAPI, segment
from gateway.upstream.intelligence import IdentifiedFamilyPage, IdentifiedFamilyRead, NeedProfileRead


class IntelligenceAPI(ServiceAPI):
    async def identified_families(
        self, request: PageRequest, *, hub: str | None = None, status: str | None = None
    ) -> IdentifiedFamilyPage:
        path = "/v1/identified-families"
        return await self.keyset_page(
            IdentifiedFamilyPage, path, request, size="first", after="after", hub=hub or None, status=status or None
        )

    async def identified_family(self, family_id: str) -> IdentifiedFamilyRead:
        return await self.get_as(IdentifiedFamilyRead, f"/v1/identified-families/{segment(family_id)}")

    async def decide(self, family_id: str, body: JSON) -> IdentifiedFamilyRead:
        path = f"/v1/identified-families/{segment(family_id)}/decision"
        return await self.send_as(IdentifiedFamilyRead, "POST", path, body)

    async def need_profile(self, *, hub: str | None, postcode_district: str | None) -> NeedProfileRead:
        params: dict[str, str | int] = {}
        if hub:
            params["hub"] = hub
        if postcode_district:
            params["postcode_district"] = postcode_district
        return await self.get_as(NeedProfileRead, "/v1/need-profile", params)
