"""Request limits: body size (413), per-client rate (429 with Retry-After) and request time (503)."""

from __future__ import annotations

import asyncio
import math
import time
from typing import TypeVar

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import VERIFIED_STATE, Principal, bearer_token, verify_cached
from shared.errors import PayloadTooLarge, ServiceUnavailable, TooManyRequests, problem_response

V = TypeVar("V")


def by_prefix(overrides: dict[str, V], path: str, default: V) -> V:
    """The value of the first prefix of `overrides` (in order) that `path` starts with, else `default`."""
    return next((value for prefix, value in overrides.items() if path.startswith(prefix)), default)


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    def _limit_for(self, path: str) -> int:
        return by_prefix(self.overrides, path, self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope.get("path", ""))
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._reject(scope, receive, send, limit)
                    return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _TooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(scope, receive, send, limit)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        problem = PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes").to_problem()
        await problem_response(problem)(scope, receive, send)


class _TooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parser lets it through (it turns other errors into 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the limit of {limit} bytes")


class RateLimitMiddleware:
    """Per-client token bucket: `rate` requests per second with bursts up to `burst`; over it → 429 + Retry-After.

    A client is the verified principal when the request carries a bearer token that the app's verifier accepts
    (each partner system has its own budget), otherwise the client address: a token is never trusted before its
    signature is checked, so unsigned or forged tokens neither spend a real caller's budget nor escape the
    per-address limit by changing their `sub`. The principal verified here is kept on the request
    (`scope["state"]`), so the authentication dependency does not verify the same token twice. The bucket lives
    in the process: with N replicas a client gets N budgets, which is the intended trade-off (no shared state on
    the hot path). Health, metrics and signed event delivery are never limited — those exact paths only.
    """

    EXEMPT = ("/healthz", "/readyz", "/metrics", "/v1/events")

    def __init__(self, app: ASGIApp, rate: float, burst: int) -> None:
        self.app = app
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}

    async def _client(self, scope: Scope) -> str:
        principal = await _verified_principal(scope)
        if principal is not None:
            return "sub:" + principal.sub
        client = scope.get("client")
        return "ip:" + (client[0] if client else "unknown")

    def _with_headers(self, send: Send, client: str) -> Send:
        """Every answer under the limit says the policy and what is left (IETF draft `RateLimit` headers):
        `RateLimit-Policy: "burst";q=<burst>;w=<seconds to refill>`, `RateLimit: "burst";r=<left>;t=<seconds>`."""
        window = max(1, math.ceil(self.burst / self.rate))
        policy = f'"burst";q={self.burst};w={window}'.encode()

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                tokens = self._buckets.get(client, (float(self.burst), 0.0))[0]
                refill = max(0, math.ceil((self.burst - tokens) / self.rate))
                message.setdefault("headers", [])
                message["headers"].append((b"ratelimit-policy", policy))
                message["headers"].append((b"ratelimit", f'"burst";r={int(tokens)};t={refill}'.encode()))
            await send(message)

        return send_with_limits

    def _take(self, client: str) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        now = time.monotonic()
        tokens, last = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            return 0.0
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > 100_000:  # bound memory under a flood of distinct clients
            self._buckets.clear()
        return (1.0 - tokens) / self.rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate <= 0 or scope.get("path", "") in self.EXEMPT:
            await self.app(scope, receive, send)
            return
        client = await self._client(scope)
        wait = self._take(client)
        if wait <= 0:
            await self.app(scope, receive, self._with_headers(send, client))
            return
        retry_after = str(max(1, math.ceil(wait)))
        problem = TooManyRequests(f"Rate limit exceeded; retry after {retry_after} s").to_problem()
        await problem_response(problem, {"Retry-After": retry_after})(scope, receive, self._with_headers(send, client))


async def _verified_principal(scope: Scope) -> Principal | None:
    """The principal of the request's bearer token when the app's verifier accepts it, else None (the
    authentication dependency then answers the 401 with its reason)."""
    token = bearer_token(dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1"))
    state = getattr(scope.get("app"), "state", None)
    verifier = getattr(state, "verifier", None)
    if token is None or verifier is None:
        return None
    try:
        principal: Principal = await verify_cached(verifier, token)
    except Exception:  # any refusal: the dependency verifies again and answers the 401 itself
        return None
    scope.setdefault("state", {})[VERIFIED_STATE] = principal
    return principal


class RequestTimeoutMiddleware:
    """A request that takes longer than `seconds` is answered 503 (problem+json) instead of hanging."""

    def __init__(self, app: ASGIApp, seconds: float, overrides: dict[str, float] | None = None) -> None:
        self.app = app
        self.seconds = seconds
        self.overrides = overrides or {}
        """Path prefix → seconds, for the few bulk operations that may take longer (imports, whole-cohort runs)."""

    def _seconds_for(self, path: str) -> float:
        return by_prefix(self.overrides, path, self.seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        seconds = self._seconds_for(scope.get("path", "")) if scope["type"] == "http" else 0
        if seconds <= 0:
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            async with asyncio.timeout(seconds):
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if started:
                raise
            problem = ServiceUnavailable(f"The request took longer than {seconds:g} s and was abandoned")
            await problem_response(problem.to_problem(), {"Retry-After": "1"})(scope, receive, send)
