"""Matching a referral's people against the person index of the cases service (`POST /v1/people/match`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import structlog

from shared.auth import ServiceCredentials
from shared.logging import outgoing_headers

log = structlog.get_logger("referrals.matching")
MAX_CANDIDATES = 5


class CasesUnavailable(Exception):
    """The cases service did not answer a match request in time (or at all)."""


@dataclass(frozen=True, slots=True)
class MatchQuery:
    given_name: str
    family_name: str
    date_of_birth: date
    nhs_number: str | None = None
    upn: str | None = None
    postcode: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "date_of_birth": self.date_of_birth.isoformat(),
        }
        for name in ("nhs_number", "upn", "postcode"):
            value = getattr(self, name)
            if value:
                body[name] = value
        return body


@dataclass(frozen=True, slots=True)
class PersonMatch:
    status: str
    """`matched` (one exact NHS number / UPN match), `candidates` (scored, for triage) or `no_match`."""
    matched_person_id: uuid.UUID | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)


def interpret(body: dict[str, Any]) -> PersonMatch:
    """What a referral records from a match answer: one person linked automatically (`exact`), or the ranked
    candidates (with their explanations) for triage to confirm, or no match."""
    exact = body.get("exact") or []
    candidates = [
        {
            "person": c["person"],
            "score": float(c["score"]),
            "reasons": list(c.get("reasons") or []),
            **{k: c[k] for k in ("band", "conflict", "match_weight", "fields") if k in c},
        }
        for c in body.get("candidates") or []
    ]
    if len(exact) == 1:
        return PersonMatch("matched", uuid.UUID(str(exact[0]["id"])))
    if len(exact) > 1:  # two index entries claim one identifier: show them to triage, link neither
        candidates = [{"person": p, "score": 1.0, "reasons": ["identifier matches"]} for p in exact] + candidates
    candidates.sort(key=lambda c: (c.get("band") == "conflict", -c["score"]))
    if candidates:
        return PersonMatch("candidates", None, candidates[:MAX_CANDIDATES])
    return PersonMatch("no_match")


class PersonMatcher:
    """Calls cases with a short timeout. After a failure, callers skip inline matching for a while."""

    # A circuit breaker: closed while cases answers; open for `backoff` seconds after a failure (intake skips
    # the inline match, matching stays pending for the background retry); then half-open: one intake request
    # probes cases while the others keep skipping, so a down or slow cases service holds up at most one
    # request per backoff period instead of every request that arrives while the probe waits for its timeout.

    def __init__(
        self, *, cases_url: str, credentials: ServiceCredentials, timeout: float = 1.0, backoff: float = 5.0
    ) -> None:
        self.url = cases_url.rstrip("/") + "/v1/people/match"
        self.credentials = credentials
        self.timeout = timeout
        self.backoff = backoff
        self._unavailable_until = 0.0
        self._failed = False

    @property
    def recently_failed(self) -> bool:
        return time.monotonic() < self._unavailable_until

    @property
    def failing(self) -> bool:
        """True from a failed call until a call succeeds (open or half-open)."""
        return self._failed

    def claim_inline(self) -> bool:
        """Whether an intake request should match inline now (and, after a failure, be the one probe)."""
        now = time.monotonic()
        if now < self._unavailable_until:
            return False
        if self._failed:  # half-open: this request probes; others skip until it answers or times out
            self._unavailable_until = now + self.backoff  # cleared when the probe answers
        return True

    async def match_all(self, http: httpx.AsyncClient, queries: list[MatchQuery]) -> list[PersonMatch]:
        """Match every person, concurrently; raises CasesUnavailable if any call fails."""
        headers = {**self.credentials.headers(), **outgoing_headers()}
        try:
            async with asyncio.timeout(self.timeout):
                matches = list(await asyncio.gather(*(self._one(http, q, headers) for q in queries)))
        except (TimeoutError, httpx.HTTPError, CasesUnavailable, ValueError, KeyError, TypeError) as exc:
            self._failed = True
            self._unavailable_until = time.monotonic() + self.backoff
            log.warning("cases_match_unavailable", error_type=type(exc).__name__)
            raise CasesUnavailable(str(exc)) from exc
        if self._failed:
            self.mark_available()
        return matches

    def mark_available(self) -> None:
        self._failed = False
        self._unavailable_until = 0.0

    async def _one(self, http: httpx.AsyncClient, query: MatchQuery, headers: dict[str, str]) -> PersonMatch:
        response = await http.post(self.url, json=query.body(), headers=headers, timeout=self.timeout)
        if response.status_code != 200:
            raise CasesUnavailable(f"cases answered {response.status_code}")
        return interpret(response.json())
