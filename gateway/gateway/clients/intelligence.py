"""The intelligence service's REST calls (issue 21), answered as `gateway.upstream.intelligence` models.

Its list pages with `first`/`after` (not `limit`/`cursor`) and answers `{items, next_cursor}`."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.clients.base import JSON, ServiceAPI, segment
from gateway.upstream.intelligence import IdentifiedFamilyPage, IdentifiedFamilyRead, NeedProfileRead


class IntelligenceAPI(ServiceAPI):
    async def identified_families(
        self, *, limit: int, cursor: str | None, hub: str | None = None, status: str | None = None
    ) -> tuple[Sequence[IdentifiedFamilyRead], str | None]:
        params: dict[str, str | int] = {"first": limit}
        for name, value in (("after", cursor), ("hub", hub), ("status", status)):
            if value:
                params[name] = value
        page = await self.get_as(IdentifiedFamilyPage, "/v1/identified-families", params)
        return page.items, page.next_cursor

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
