"""The active outcome framework, fetched from the outcomes service and cached with its ETag."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from shared.auth import ServiceCredentials
from shared.errors import ServiceUnavailable
from shared.logging import outgoing_headers


class FrameworkRule(BaseModel):
    kind: str
    params: dict[str, Any] = {}


class FrameworkNeed(BaseModel):
    code: str
    name: str
    descriptors: list[str] = []
    rule: FrameworkRule | None = None


class Framework(BaseModel):
    """`GET outcomes /v1/frameworks/active` per docs/contracts.md."""

    code: str
    version: str
    name: str
    min_needs: int
    requires_dependent_children: bool
    sustain_months: int | None = None
    needs: list[FrameworkNeed]

    def need(self, code: str) -> FrameworkNeed | None:
        return next((n for n in self.needs if n.code == code), None)


class FrameworkClient:
    """Fetches the active framework; within `max_age` serves the cached copy, then revalidates with the ETag."""

    def __init__(
        self, *, base_url: str, http: httpx.AsyncClient, credentials: ServiceCredentials, max_age: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.credentials = credentials
        self.max_age = max_age
        self._framework: Framework | None = None
        self._etag: str | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self.requests = 0
        self.not_modified = 0

    async def active(self) -> Framework:
        if self._framework is not None and time.monotonic() - self._fetched_at < self.max_age:
            return self._framework
        async with self._lock:
            if self._framework is not None and time.monotonic() - self._fetched_at < self.max_age:
                return self._framework
            return await self._fetch()

    async def _fetch(self) -> Framework:
        headers = {**outgoing_headers(), **self.credentials.headers()}
        if self._etag and self._framework is not None:
            headers["If-None-Match"] = self._etag
        self.requests += 1
        try:
            response = await self.http.get(f"{self.base_url}/v1/frameworks/active", headers=headers)
        except httpx.HTTPError as exc:
            if self._framework is not None:
                return self._framework  # outcomes is down: the last known framework is still the best answer
            raise ServiceUnavailable("The outcomes service (active framework) is unreachable") from exc
        if response.status_code == 304 and self._framework is not None:
            self.not_modified += 1
            self._fetched_at = time.monotonic()
            return self._framework
        if response.status_code != 200:
            if self._framework is not None:
                return self._framework
            raise ServiceUnavailable(f"The outcomes service answered {response.status_code} for the active framework")
        try:
            framework = Framework.model_validate(response.json())
        except (ValidationError, ValueError) as exc:
            raise ServiceUnavailable("The outcomes service sent a framework this service cannot read") from exc
        self._framework, self._etag, self._fetched_at = (
            framework,
            response.headers.get("etag"),
            time.monotonic(),
        )
        return framework
