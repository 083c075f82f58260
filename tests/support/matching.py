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
