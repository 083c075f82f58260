"""The services' readiness, fetched at most once per `ttl` seconds however many ask (issue 19 F).

`health` in the graph and the gateway's own `/readyz` both read it: thirty aliases of `health` in one query, or a
flood of unauthenticated requests, make one round of upstream `/readyz` calls (each a database query in the
service) per `ttl`, not one per alias per request. Callers that arrive while a round is in flight share it.
"""

from __future__ import annotations

import asyncio
import time

from gateway.clients import SERVICES, Caller, Upstreams
from gateway.clients.base import Upstream
from gateway.errors import UpstreamError
from shared.logging import current_request_id
from shared.tracing import untraced_http

Readiness = dict[str, str | None]
"""Service name → None when ready, else why not."""


class ReadinessCache:
    def __init__(self, upstreams: Upstreams, ttl: float) -> None:
        self.upstreams = upstreams
        self.ttl = ttl
        self._round: asyncio.Future[Readiness] | None = None
        self._fresh_until = 0.0

    async def get(self) -> Readiness:
        if self._round is None or (self._round.done() and time.monotonic() >= self._fresh_until):
            self._round = asyncio.ensure_future(self._fetch())
        return await asyncio.shield(self._round)

    async def _fetch(self) -> Readiness:
        caller = Caller(token=None, request_id=current_request_id())
        details = await asyncio.gather(*(_ready(getattr(self.upstreams, s), caller) for s in SERVICES))
        self._fresh_until = time.monotonic() + self.ttl
        return dict(zip(SERVICES, details, strict=True))


async def _ready(upstream: Upstream, caller: Caller) -> str | None:
    try:
        with untraced_http():  # a probe every few seconds: no trace of its own (the services trace none either)
            await upstream.request("GET", "/readyz", caller)
    except UpstreamError as exc:
        return exc.detail
    return None
