"""The need codes a referral may carry: those of the active outcome framework (`shared.contracts.FrameworkClient`).

When outcomes has never answered, the codes of the built-in frameworks (`shared.contracts.BUILT_IN_NEED_CODES`)
are accepted, so intake never stops because outcomes is down.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from shared.auth import ServiceCredentials
from shared.contracts import BUILT_IN_NEED_CODES, FrameworkClient


@dataclass(frozen=True, slots=True)
class NeedCodes:
    codes: frozenset[str]
    framework: str | None
    """The active framework's `code@version`, or None when the built-in fallback is in use."""


class NeedCatalogue:
    """The active framework's need codes, through the shared cached framework client."""

    def __init__(
        self,
        *,
        outcomes_url: str,
        credentials: ServiceCredentials,
        cache_seconds: float = 60.0,
        timeout: float = 1.0,
        retry_after_failure: float = 10.0,
    ) -> None:
        self.credentials = credentials
        self.frameworks = FrameworkClient(
            outcomes_url=outcomes_url,
            credentials=credentials,
            max_age=cache_seconds,
            timeout=timeout,
            retry_after_failure=retry_after_failure,
        )

    @property
    def fetches(self) -> int:
        return self.frameworks.requests

    async def current(self, http: httpx.AsyncClient) -> NeedCodes:
        framework = await self.frameworks.known(http)
        if framework is None:
            return NeedCodes(BUILT_IN_NEED_CODES, None)
        return NeedCodes(framework.need_codes(), framework.label)
