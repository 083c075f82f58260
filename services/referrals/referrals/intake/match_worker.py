"""Matching referred people against the cases person index, off the request path.

Intake stores a referral with its people pending and answers; the statement that stores it also notifies
`MATCHING_CHANNEL`, which PostgreSQL delivers when the transaction commits. Every replica listens on it and wakes its
worker, which claims due referrals (`FOR UPDATE SKIP LOCKED`, so replicas share them), asks cases about all their
people in one batch call, writes each answer once (only people and referrals still pending) and commits. If cases
fails, the claimed referrals are tried again with exponential backoff. A poll every `match_retry_interval` seconds
is the safety net for a notification missed while the listener reconnects, and brings back the postponed ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from referrals.intake.matching import CasesUnavailable, PersonIndex
from referrals.intake.repository import MATCHING_CHANNEL, IntakeRepository
from shared.notify import listen, wait_any
from shared.tracing import continue_trace

log = structlog.get_logger("referrals.matching")


async def match_pending(
    session: AsyncSession, index: PersonIndex, http: httpx.AsyncClient, *, limit: int, interval: float
) -> tuple[int, int]:
    """One pass in the session's transaction (the caller commits): match up to `limit` due referrals.

    Returns (claimed, completed): fewer claimed than `limit` means nothing more is due now.
    """
    repo = IntakeRepository(session)
    now = datetime.now(UTC)
    referrals = await repo.claim_pending_matching(now, limit)
    if not referrals:
        return 0, 0
    people = [person for referral in referrals for person in referral.people]
    # The call continues the trace of the first referral it matches (the others are named on its span).
    traceparent = next((r.traceparent for r in referrals if r.traceparent), None)
    try:
        with continue_trace(traceparent, "match people", referral_ids=[str(r.id) for r in referrals]):
            matches = await index.match(http, [person.query for person in people]) if people else []
    except CasesUnavailable:
        await repo.postpone_matching([r.id for r in referrals], now, interval=interval)
        return len(referrals), 0
    results: list[dict[str, Any]] = [
        {
            "id": str(person.id),
            "match_status": match.status,
            "matched_person_id": str(match.matched_person_id) if match.matched_person_id else None,
            "match_candidates": match.candidates,
        }
        for person, match in zip(people, matches, strict=True)
    ]
    await repo.complete_matching([r.id for r in referrals], results, now)
    log.info("referrals_matched", referrals=len(referrals), people=len(people))
    return len(referrals), len(referrals)


class MatchingWorker:
    """One per replica: runs `match_pending` whenever woken (a new referral anywhere) or polled, until stopped."""

    def __init__(
        self,
        sessionmaker: Any,
        index: PersonIndex,
        http: httpx.AsyncClient,
        *,
        database_url: str,
        batch: int,
        interval: float,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.index = index
        self.http = http
        self.database_url = database_url
        self.batch = batch
        self.interval = interval
        self.wake = asyncio.Event()

    async def run_once(self) -> tuple[int, int]:
        async with self.sessionmaker() as session, session.begin():
            return await match_pending(session, self.index, self.http, limit=self.batch, interval=self.interval)

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(
            listen(self.database_url, MATCHING_CHANNEL, self.wake, stop), name="matching-listener"
        )
        try:
            while not stop.is_set():
                self.wake.clear()
                claimed = completed = 0
                try:
                    claimed, completed = await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the database may be down: keep the worker alive
                    log.warning("matching_error", error_type=type(exc).__name__, error=str(exc)[:200])
                if claimed == self.batch and completed == claimed:
                    continue  # more may be due: drain (each pass completes what it claimed, so this ends)
                await wait_any(self.interval, self.wake, stop)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
