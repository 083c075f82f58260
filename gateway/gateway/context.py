"""The typed per-request GraphQL context (the Phoenix model): caller, services and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from strawberry.fastapi import BaseContext

from gateway.clients import Caller, Services, Upstreams
from gateway.config import Settings
from gateway.health import ReadinessCache
from gateway.loaders import DataLoaders
from shared.auth import Principal, TokenVerifier


@dataclass
class Context(BaseContext):
    """Built once per GraphQL request by `get_context` in `app.py`."""

    settings: Settings
    caller: Caller
    upstreams: Upstreams
    services: Services
    data_loaders: DataLoaders
    verifier: TokenVerifier
    readiness: ReadinessCache

    def __post_init__(self) -> None:
        super().__init__()
        self._principal: Principal | None = None

    async def principal(self) -> Principal | None:
        """The verified caller, or None without a token (the services still decide every access)."""
        if self._principal is None and self.caller.token:
            self._principal = await self.verifier.verify(self.caller.token)
        return self._principal


Info = strawberry.Info[Context, None]
"""The resolver `info` type of this schema."""
