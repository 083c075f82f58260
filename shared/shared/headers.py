"""Response headers every answer carries, since almost any answer can hold personal data (issue 19 K).

`Cache-Control: no-store` keeps records out of browser and proxy caches; `X-Content-Type-Options: nosniff` stops a
browser from reading JSON as HTML. A route that sets its own `Cache-Control` (a framework's ETag revalidation, the
cohort report) keeps it; `nosniff` is always set. `shared.middleware.PlatformMiddleware` applies them.
"""

from __future__ import annotations

NO_STORE = (b"cache-control", b"no-store")
NOSNIFF = (b"x-content-type-options", b"nosniff")


def with_private_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with `Cache-Control: no-store` (unless one is set) and `X-Content-Type-Options: nosniff`."""
    out = [(k, v) for k, v in headers if k.lower() != NOSNIFF[0]]
    if not any(k.lower() == NO_STORE[0] for k, _ in out):
        out.append(NO_STORE)
    out.append(NOSNIFF)
    return out
