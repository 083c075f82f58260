"""The inline matcher's circuit breaker: a down cases service holds up at most one intake request per backoff."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx
import pytest

from referrals.config import Settings
from referrals.intake.matching import CasesUnavailable, MatchQuery, PersonMatcher
from shared.auth import ServiceCredentials
from tests.support import TEST_DATA_DIR, TEST_KEY_PATH

QUERY = MatchQuery("Zoë", "O'Neill", date(1996, 5, 17))


def _matcher(backoff: float) -> PersonMatcher:
    settings = Settings(
        database_url="postgresql://unused/unused",
        environment="test",
        dev_key_path=TEST_KEY_PATH,
        data_dir=TEST_DATA_DIR,
    )
    return PersonMatcher(
        cases_url="http://cases.invalid", credentials=ServiceCredentials(settings), timeout=0.5, backoff=backoff
    )


def _cases(state: dict[str, Any]) -> httpx.AsyncClient:
    """A stand-in for the cases service's match endpoint that is down until `state["up"]`."""

    def handle(request: httpx.Request) -> httpx.Response:
        state["calls"] += 1
        if not state["up"]:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"exact": [], "candidates": []})

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


async def test_closed_breaker_lets_every_request_match_inline() -> None:
    matcher = _matcher(backoff=60)
    state = {"up": True, "calls": 0}
    async with _cases(state) as http:
        assert all(matcher.claim_inline() for _ in range(5))
        matches = await matcher.match_all(http, [QUERY])
    assert [m.status for m in matches] == ["no_match"]
    assert matcher.claim_inline()


async def test_after_a_failure_intake_skips_then_one_request_probes() -> None:
    matcher = _matcher(backoff=0.2)
    state = {"up": False, "calls": 0}
    async with _cases(state) as http:
        assert matcher.claim_inline()
        with pytest.raises(CasesUnavailable):
            await matcher.match_all(http, [QUERY])
        assert not matcher.claim_inline()  # open: matching is left pending for the background retry
        assert matcher.recently_failed
        assert matcher.failing  # the background retry probes with one referral, not a batch

        await asyncio.sleep(0.25)
        assert matcher.claim_inline()  # half-open: this request is the probe ...
        assert not matcher.claim_inline()  # ... and the others skip while it waits
        with pytest.raises(CasesUnavailable):
            await matcher.match_all(http, [QUERY])
        assert not matcher.claim_inline()

        await asyncio.sleep(0.25)
        state["up"] = True
        assert matcher.claim_inline()
        assert not matcher.claim_inline()
        await matcher.match_all(http, [QUERY])
        # the probe answered: closed again, every request matches inline
        assert not matcher.failing
        assert matcher.claim_inline()
        assert matcher.claim_inline()
    assert state["calls"] == 3
