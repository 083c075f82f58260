"""Need-to-know in one place: which families a practitioner may see is decided by the cases service.

Referrals and outcomes hold family ids but not who works with each family. For a caller whose access depends on
their caseload (a practitioner: the families whose case they lead or are in the team around), they ask cases with
the caller's own token, so cases applies exactly the rules it applies to its own reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import httpx

from shared.auth import Principal
from shared.logging import outgoing_headers

MAX_PAGES = 20
"""A caseload is tens of families; 20 pages of 100 bound the calls whatever cases answers."""


class CasesUnreachable(Exception):
    """The cases service did not answer a visibility question; the caller is refused rather than let through."""


class CaseloadClient:
    """Asks the cases service which of some families the caller may see."""

    def __init__(self, http: httpx.AsyncClient, cases_url: str, *, timeout: float = 2.0) -> None:
        self.http = http
        self.url = cases_url.rstrip("/") + "/v1/families"
        self.timeout = timeout

    async def visible(self, principal: Principal, family_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Those of `family_ids` the caller may see (at most 100 at a time)."""
        ids = list(dict.fromkeys(family_ids))
        found: set[uuid.UUID] = set()
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            body = await self._get(principal, {"ids": ",".join(map(str, chunk))})
            found.update(uuid.UUID(item["id"]) for item in body.get("items", []))
        return found

    async def all_visible(self, principal: Principal) -> set[uuid.UUID]:
        """Every family the caller may see (a practitioner's caseload)."""
        found: set[uuid.UUID] = set()
        params: dict[str, str] = {"limit": "100"}
        for _ in range(MAX_PAGES):
            body = await self._get(principal, params)
            found.update(uuid.UUID(item["id"]) for item in body.get("items", []))
            cursor = body.get("next_cursor")
            if not cursor:
                break
            params = {"limit": "100", "cursor": str(cursor)}
        return found

    async def leads(self, principal: Principal, family_id: uuid.UUID) -> bool:
        """Whether the caller is the current lead worker of the family's open case (asked with their token)."""
        base = self.url.removesuffix("/v1/families")
        me = await self._get(principal, {}, url=base + "/v1/workers/me")
        if not me.get("id"):
            return False
        cases = await self._get(principal, {"family_ids": str(family_id)}, url=base + "/v1/cases")
        return any(c.get("lead_worker_id") == me["id"] and c.get("status") != "closed" for c in cases.get("items", []))

    async def _get(self, principal: Principal, params: dict[str, str], *, url: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {principal.token}", **outgoing_headers()}
        try:
            response = await self.http.get(url or self.url, params=params, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise CasesUnreachable(str(exc)) from exc
        if response.status_code in (401, 403, 404):
            return {"items": []}
        if response.status_code != 200:
            raise CasesUnreachable(f"cases answered {response.status_code}")
        body: dict[str, Any] = response.json()
        return body
