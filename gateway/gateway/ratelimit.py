"""The gateway's rate limit (issue 19 F): the services' token bucket (`shared.limits.RateLimitMiddleware`), keyed on
the client's address only. The gateway checks no token before the limit, so a token never names the bucket: random
or forged subjects cannot escape it, nor spend another client's budget. Behind a proxy, run uvicorn with
`--proxy-headers` and the proxy's address in `--forwarded-allow-ips`, so the address is the client's."""

from __future__ import annotations

from starlette.types import Scope

from shared.limits import RateLimitMiddleware


class ClientAddressRateLimit(RateLimitMiddleware):
    async def _client(self, scope: Scope) -> str:
        client = scope.get("client")
        return "ip:" + (client[0] if client else "unknown")
