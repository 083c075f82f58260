"""The active outcome framework, read through the shared cached client (`shared.contracts.FrameworkClient`)."""

from __future__ import annotations

import httpx

from shared.auth import ServiceCredentials
from shared.contracts import ActiveFramework as Framework
from shared.contracts import FrameworkClient as SharedFrameworkClient
from shared.contracts import FrameworkNeed, FrameworkRule

__all__ = ["Framework", "FrameworkClient", "FrameworkNeed", "FrameworkRule"]


class FrameworkClient(SharedFrameworkClient):
    """The shared client bound to the service's HTTP client: `active()` raises 503 while outcomes never answered."""

    def __init__(
        self, *, base_url: str, http: httpx.AsyncClient, credentials: ServiceCredentials, max_age: float
    ) -> None:
        super().__init__(outcomes_url=base_url, credentials=credentials, max_age=max_age)
        self.http = http

    async def active(self, http: httpx.AsyncClient | None = None) -> Framework:
        return await super().active(http or self.http)
