"""The data of the cohort report, fetched from the services' APIs with the caller's token.

The outcomes cohort report (`GET /v1/reports/cohort`, counts only), the outcomes claims list and the referrals
list are reduced here to counts and durations: the report never holds a name or an identifier. The same
collection serves the gateway's `GET /reports/cohort` and `earlyhelp report cohort`.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from gateway.clients.base import JSON
from gateway.clients.outcomes import OutcomesAPI
from gateway.clients.referrals import ReferralsAPI
from gateway.errors import UpstreamError
from gateway.upstream.outcomes import ClaimTally
from gateway.upstream.referrals import ReferralTiming

CLAIM_STATUSES = ("pending", "validated", "rejected")
PAGE_SIZE = 100
MAX_PAGES = 1_000
"""A list is read at most 100,000 rows deep; past that the report says it is truncated."""
GATEWAY_REFERRALS_HINT = "the triage figures need the analyst, hub_manager or admin role"


@dataclass
class CohortData:
    """Everything the report draws: the outcomes cohort report plus aggregates of claims and referrals."""

    cohort: dict[str, Any]
    claims_by_status: dict[str, int]
    claims_by_hub: dict[str, dict[str, int]]
    accepted_by_month_hub: dict[str, dict[str, int]]
    decisions: list[dict[str, Any]] = field(default_factory=list)
    """One per decided referral: hub, days from receipt to decision, on time (decided before it was due)."""
    open_referrals: int = 0
    open_breached: int = 0
    notes: list[str] = field(default_factory=list)
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_json(self) -> dict[str, Any]:
        return {
            "cohort": self.cohort,
            "claims_by_status": self.claims_by_status,
            "claims_by_hub": self.claims_by_hub,
            "accepted_by_month_hub": self.accepted_by_month_hub,
            "decisions": self.decisions,
            "open_referrals": self.open_referrals,
            "open_breached": self.open_breached,
            "notes": self.notes,
            "generated_at": self.generated_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CohortData:
        return cls(**data)


T = TypeVar("T")


async def _all(page: Callable[..., Awaitable[tuple[list[T], str | None]]], what: str, notes: list[str]) -> list[T]:
    """Every item of a list endpoint, page after page (at most `MAX_PAGES`)."""
    items: list[T] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        chunk, cursor = await page(limit=PAGE_SIZE, cursor=cursor)
        items.extend(chunk)
        if not cursor:
            return items
    notes.append(f"Only the first {len(items)} {what} were read; the figures from them are incomplete.")
    return items


def aggregate_claims(data: CohortData, claims: list[ClaimTally]) -> None:
    data.claims_by_status = {s: 0 for s in CLAIM_STATUSES} | dict(Counter(c.status for c in claims))
    by_hub: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CLAIM_STATUSES, 0))
    for c in claims:
        hub = c.hub or "unknown"
        by_hub[hub][c.status] = by_hub[hub].get(c.status, 0) + 1
    data.claims_by_hub = dict(sorted(by_hub.items()))


def aggregate_referrals(data: CohortData, referrals: list[ReferralTiming]) -> None:
    by_month_hub: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in referrals:
        if r.decision is not None:
            decided = r.decision.decided_at
            data.decisions.append(
                {
                    "hub": r.hub,
                    "outcome": r.decision.decision,
                    "days": round(max(0.0, (decided - r.received_at).total_seconds() / 86400), 3),
                    "on_time": decided <= r.decision_due_at,
                }
            )
            if r.decision.decision == "accepted":
                by_month_hub[decided.strftime("%Y-%m")][r.hub] += 1
        elif r.status in ("received", "screening"):
            data.open_referrals += 1
            data.open_breached += r.breached
    data.accepted_by_month_hub = {m: dict(h) for m, h in sorted(by_month_hub.items())}


def apply_triage_figures(data: CohortData, figures: JSON) -> None:
    """The referrals service's aggregated triage figures (`GET /v1/reports/triage`), as the report draws them."""
    data.decisions = [
        {"hub": d["hub"], "outcome": d["outcome"], "days": d["days"], "on_time": d["on_time"]}
        for d in figures.get("decisions") or []
    ]
    data.accepted_by_month_hub = dict(figures.get("accepted_by_month_hub") or {})
    data.open_referrals = int(figures.get("open_referrals") or 0)
    data.open_breached = int(figures.get("open_breached") or 0)


async def collect(
    outcomes: OutcomesAPI, referrals: ReferralsAPI, *, referrals_hint: str = GATEWAY_REFERRALS_HINT
) -> CohortData:
    """Fetch the cohort report, every claim and the referrals service's aggregated triage figures.

    The cohort report comes first and decides: its refusal (401/403) or its service being down raises
    `UpstreamError`, as does a failing claims list. Triage figures the caller may not read, or a referrals
    service that does not answer, leave the triage and monthly sections empty, with a note saying why.
    """
    cohort = await outcomes.cohort_report()
    data = CohortData(cohort=cohort, claims_by_status={}, claims_by_hub={}, accepted_by_month_hub={})
    claims: list[ClaimTally] | BaseException
    found: JSON | BaseException
    claims, found = await asyncio.gather(
        _all(outcomes.claim_tallies, "claims", data.notes),
        referrals.triage_figures(),
        return_exceptions=True,
    )
    if isinstance(claims, BaseException):
        raise claims
    aggregate_claims(data, claims)
    if isinstance(found, UpstreamError):
        status = f"answered {found.status}" if found.status is not None else "was unreachable"
        data.notes.append(
            f"Triage figures could not be read, so the triage and monthly sections are empty: the referrals service "
            f"{status}: {found.detail} ({referrals_hint})"
        )
    elif isinstance(found, BaseException):
        raise found
    else:
        apply_triage_figures(data, found)
    return data
