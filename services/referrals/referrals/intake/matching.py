"""Matching a referral's people against the person index of the cases service (`POST /v1/people/match/batch`)."""

from __future__ import annotations

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
MAX_BATCH = 100
"""The most people cases matches in one call (`MAX_BATCH_MATCHES` of its batch endpoint)."""


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


class PersonIndex:
    """The cases person index, asked about many people in one call (`POST /v1/people/match/batch`).

    Intake never calls it: the matching worker (`intake.match_worker`) does, for the people of a batch of referrals
    whose matching is pending. A failure of any kind is `CasesUnavailable`, and the batch is retried later.
    """

    def __init__(self, *, cases_url: str, credentials: ServiceCredentials, timeout: float = 5.0) -> None:
        self.url = cases_url.rstrip("/") + "/v1/people/match/batch"
        self.credentials = credentials
        self.timeout = timeout

    async def match(self, http: httpx.AsyncClient, queries: list[MatchQuery]) -> list[PersonMatch]:
        """One answer per query, in order (at most `MAX_BATCH` people per call to cases)."""
        headers = {**self.credentials.headers(), **outgoing_headers()}
        matches: list[PersonMatch] = []
        for start in range(0, len(queries), MAX_BATCH):
            chunk = queries[start : start + MAX_BATCH]
            try:
                response = await http.post(
                    self.url, json={"people": [q.body() for q in chunk]}, headers=headers, timeout=self.timeout
                )
                if response.status_code != 200:
                    raise CasesUnavailable(f"cases answered {response.status_code}")
                answers = response.json()["results"]
                if len(answers) != len(chunk):
                    raise CasesUnavailable(f"cases answered {len(answers)} results for {len(chunk)} people")
                matches += [interpret(answer) for answer in answers]
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                log.warning("cases_match_unavailable", error_type=type(exc).__name__)
                raise CasesUnavailable(str(exc) or type(exc).__name__) from exc
            except CasesUnavailable as exc:
                log.warning("cases_match_unavailable", error=str(exc))
                raise
        return matches
