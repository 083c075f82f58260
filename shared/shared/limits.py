"""Request limits: body size (413), per-client rate (429 with Retry-After) and request time (503).

Each is a policy object that `shared.middleware.PlatformMiddleware` applies on the request path: `BodyLimit`,
`RateLimiter` and `TimeLimit`. They hold no ASGI plumbing of their own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from starlette.exceptions import HTTPException
from starlette.types import Scope

from shared.auth import VERIFIED_STATE, Principal, bearer_token, verify_cached
from shared.errors import PayloadTooLarge, ServiceUnavailable, TooManyRequests

V = TypeVar("V")
Header = tuple[bytes, bytes]


def by_prefix(overrides: Mapping[str, V], path: str, default: V) -> V:
    """The value of the first prefix of `overrides` (in order) that `path` starts with, else `default`."""
    return next((value for prefix, value in overrides.items() if path.startswith(prefix)), default)


@dataclass(frozen=True)
class BodyLimit:
    """Bodies larger than `max_bytes` (or the override of the path's prefix) are refused with 413, on the declared
    `Content-Length` before the handler runs and while streaming a body that declared none."""

    max_bytes: int
    overrides: Mapping[str, int] = field(default_factory=dict)

    def for_path(self, path: str) -> int:
        return by_prefix(self.overrides, path, self.max_bytes) if self.overrides else self.max_bytes

    @staticmethod
    def problem(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes")


class BodyTooLarge(HTTPException):
    """Raised from `receive()` when a streamed body passes the limit. An HTTPException so that FastAPI's body parser
    lets it through (it turns other errors into 400) and the error handlers answer 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the limit of {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class TimeLimit:
    """A request that takes longer than `seconds` is answered 503 (problem+json) instead of hanging."""

    seconds: float
    overrides: Mapping[str, float] = field(default_factory=dict)
    """Path prefix → seconds, for the few bulk operations that may take longer (imports, whole-cohort runs)."""

    def for_path(self, path: str) -> float:
        return by_prefix(self.overrides, path, self.seconds) if self.overrides else self.seconds

    @staticmethod
    def problem(seconds: float) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"The request took longer than {seconds:g} s and was abandoned", headers={"Retry-After": "1"}
        )


class RateLimiter:
    """Per-client token bucket: `rate` requests per second with bursts up to `burst`; over it → 429 + Retry-After.

    A client is the verified principal when the request carries a bearer token that the app's verifier accepts
    (each partner system has its own budget), otherwise the client address: a token is never trusted before its
    signature is checked, so unsigned or forged tokens neither spend a real caller's budget nor escape the
    per-address limit by changing their `sub`. The principal verified here is kept on the request
    (`scope["state"]`), so the authentication dependency does not verify the same token twice. With
    `by_principal=False` (the gateway, which checks no token before the limit) the client is its address only.
    The bucket lives in the process: with N replicas a client gets N budgets, which is the intended trade-off (no
    shared state on the hot path). Health, metrics and signed event delivery are never limited — those exact
    paths only.
    """

    EXEMPT = ("/healthz", "/readyz", "/metrics", "/v1/events")

    def __init__(self, rate: float, burst: int, *, by_principal: bool = True) -> None:
        self.rate = rate
        self.burst = burst
        self.by_principal = by_principal
        self._buckets: dict[str, tuple[float, float]] = {}
        window = max(1, math.ceil(burst / rate)) if rate > 0 else 1
        self._policy: Header = (b"ratelimit-policy", f'"burst";q={burst};w={window}'.encode())

    def applies_to(self, path: str) -> bool:
        return self.rate > 0 and path not in self.EXEMPT

    async def client(self, scope: Scope, authorization: bytes | None) -> str:
        if self.by_principal and authorization:
            principal = await _verified_principal(scope, authorization)
            if principal is not None:
                return "sub:" + principal.sub
        address = scope.get("client")
        return "ip:" + (address[0] if address else "unknown")

    def take(self, client: str) -> float:
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

    def headers(self, client: str) -> tuple[Header, Header]:
        """What every answer under the limit says: the policy and what is left (IETF draft `RateLimit` headers),
        `RateLimit-Policy: "burst";q=<burst>;w=<seconds to refill>`, `RateLimit: "burst";r=<left>;t=<seconds>`."""
        tokens = self._buckets.get(client, (float(self.burst), 0.0))[0]
        refill = max(0, math.ceil((self.burst - tokens) / self.rate))
        return self._policy, (b"ratelimit", f'"burst";r={int(tokens)};t={refill}'.encode())

    @staticmethod
    def problem(wait: float) -> TooManyRequests:
        retry_after = str(max(1, math.ceil(wait)))
        detail = f"Rate limit exceeded; retry after {retry_after} s"
        return TooManyRequests(detail, headers={"Retry-After": retry_after})


async def _verified_principal(scope: Scope, authorization: bytes) -> Principal | None:
    """The principal of the request's bearer token when the app's verifier accepts it, else None (the
    authentication dependency then answers the 401 with its reason)."""
    token = bearer_token(authorization.decode("latin-1"))
    verifier = getattr(getattr(scope.get("app"), "state", None), "verifier", None)
    if token is None or verifier is None:
        return None
    try:
        principal: Principal = await verify_cached(verifier, token)
    except Exception:  # any refusal: the dependency verifies again and answers the 401 itself
        return None
    scope.setdefault("state", {})[VERIFIED_STATE] = principal
    return principal
