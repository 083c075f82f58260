"""Response headers every answer carries, since almost any answer can hold personal data (issue 19 K).

`Cache-Control: no-store` keeps records out of browser and proxy caches; `X-Content-Type-Options: nosniff` stops a
browser from reading JSON as HTML. A route that sets its own `Cache-Control` (a framework's ETag revalidation, the
cohort report) keeps it; `nosniff` is always set.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = (b"cache-control", b"no-store")
NOSNIFF = (b"x-content-type-options", b"nosniff")


class PrivateResponseHeadersMiddleware:
    """Adds `Cache-Control: no-store` (unless the route set one) and `X-Content-Type-Options: nosniff`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != NOSNIFF[0]]
                if not any(k.lower() == NO_STORE[0] for k, _ in headers):
                    headers.append(NO_STORE)
                headers.append(NOSNIFF)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
