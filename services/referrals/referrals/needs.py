"""The need codes a referral may carry: those of the active outcome framework, read from the outcomes service.

The framework is cached with its ETag and revalidated (`If-None-Match`) at most every
`framework_cache_seconds`. When outcomes cannot be reached and nothing is cached yet, the codes of both
built-in frameworks are accepted (see `BUILT_IN_NEED_CODES`), so intake never stops because outcomes is down.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
import structlog

from shared.auth import ServiceCredentials
from shared.logging import outgoing_headers

log = structlog.get_logger("referrals.needs")

# The need codes of the two frameworks that ship built in (issue 5): `supporting-families-2022` and the Leeds
# `families-first`. They are the fallback while the outcomes service is unreachable; once outcomes answers,
# its active framework's codes are what counts.
SUPPORTING_FAMILIES_2022 = (
    "education",
    "early_years",
    "health",
    "substance_use",
    "family_relationships",
    "child_safety",
    "crime",
    "domestic_abuse",
    "housing",
    "financial_stability",
)
FAMILIES_FIRST = (
    "childrens_life_chances",
    "education",
    "safe_in_community",
    "safe_in_relationships",
    "living_standards",
    "health_wellbeing",
)
BUILT_IN_NEED_CODES = frozenset(SUPPORTING_FAMILIES_2022 + FAMILIES_FIRST)


@dataclass(frozen=True, slots=True)
class NeedCodes:
    codes: frozenset[str]
    framework: str | None
    """The active framework's `code@version`, or None when the built-in fallback is in use."""


class NeedCatalogue:
    """Caches the active framework's need codes (with its ETag)."""

    def __init__(
        self,
        *,
        outcomes_url: str,
        credentials: ServiceCredentials,
        cache_seconds: float = 60.0,
        timeout: float = 1.0,
        retry_after_failure: float = 10.0,
    ) -> None:
        self.url = outcomes_url.rstrip("/") + "/v1/frameworks/active"
        self.credentials = credentials
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self.retry_after_failure = min(retry_after_failure, cache_seconds)
        self._current: NeedCodes | None = None
        self._etag: str | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def current(self, http: httpx.AsyncClient) -> NeedCodes:
        if time.monotonic() - self._checked_at < self.cache_seconds:
            return self._current or NeedCodes(BUILT_IN_NEED_CODES, None)
        async with self._lock:
            if time.monotonic() - self._checked_at >= self.cache_seconds:
                await self._refresh(http)
        return self._current or NeedCodes(BUILT_IN_NEED_CODES, None)

    async def _refresh(self, http: httpx.AsyncClient) -> None:
        headers = {**self.credentials.headers(), **outgoing_headers()}
        if self._etag and self._current is not None:
            headers["If-None-Match"] = self._etag
        try:
            response = await http.get(self.url, headers=headers, timeout=self.timeout)
            self.fetches += 1
            if response.status_code == 304 and self._current is not None:
                self._checked_at = time.monotonic()
                return
            response.raise_for_status()
            body = response.json()
            codes = frozenset(str(need["code"]) for need in body["needs"])
            self._current = NeedCodes(codes, f"{body.get('code')}@{body.get('version')}")
            self._etag = response.headers.get("etag")
            self._checked_at = time.monotonic()
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("framework_unavailable", error_type=type(exc).__name__)
            # Keep what we had (or the built-in codes) and ask again a little later, not on every request.
            self._checked_at = time.monotonic() - self.cache_seconds + self.retry_after_failure
