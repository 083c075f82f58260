"""Waiting for a referral's people to be matched against the person index: intake stores them pending and answers,
and the referrals service's matching worker matches them moments later (issue 17, `intake.match_worker`)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


async def wait_for_matching(
    client: httpx.AsyncClient,
    referral_id: str,
    headers: dict[str, str],
    *,
    base_url: str = "",
    timeout: float = 20.0,
) -> dict[str, Any]:
    """GET the referral until it shows `matching: completed` (the caller must be one who sees match results, e.g. a
    hub manager of its hub or an admin); fails after `timeout` seconds. `client` is on the referrals service (or
    give `base_url`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await client.get(f"{base_url}/v1/referrals/{referral_id}", headers=headers)
        assert found.status_code == 200, found.text
        body: dict[str, Any] = found.json()
        if body["matching"] == "completed":
            return body
        assert loop.time() < deadline, f"matching of referral {referral_id} still pending after {timeout} s"
        await asyncio.sleep(0.05)


async def match_in_process(referrals: httpx.AsyncClient, cases: httpx.AsyncClient, *, passes: int = 50) -> int:
    """The referrals service's matching worker's own pass (`MatchingWorker.run_once`), now, for in-process apps:
    `referrals` and `cases` are clients of the real apps bound to the test's transactions (an in-process app runs
    no background worker). Returns how many referrals completed; bounded to `passes` passes."""
    from referrals.intake.match_worker import MatchingWorker
    from referrals.intake.matching import PersonIndex
    from shared.auth import ServiceCredentials

    app = referrals.app  # type: ignore[attr-defined]
    settings = app.state.settings
    index = PersonIndex(cases_url=str(cases.base_url), credentials=ServiceCredentials(settings), timeout=10.0)
    worker = MatchingWorker(
        app.state.sessionmaker, index, cases, database_url=settings.database_url, batch=100, interval=1.0
    )
    completed = 0
    for _ in range(passes):  # each pass completes what it claims while cases answers
        claimed, done = await worker.run_once()
        completed += done
        if claimed < worker.batch:
            break
    return completed
