"""The identified families list pages both ways: forward with `after`, backward with `before` (or from the end),
the same families in the same order (most needs, newest evidence, then id; no evidence sorts last); both
directions at once are a 422 naming `before`, and a cursor whose count no column holds is a 422, not a 500."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intelligence.models import IdentifiedFamily, LinkageRun
from shared.pagination import encode_cursor
from tests.intelligence.conftest import ANALYST
from tests.support.paging import Lister, page_plan

RANKS = [(5, date(2026, 3, 1)), (5, date(2026, 3, 1)), (5, date(2026, 1, 1)), (4, None), (4, date(2026, 2, 1)),
         (4, date(2026, 2, 1)), (3, None), (3, None), (6, date(2025, 12, 1))]  # fmt: skip


async def _identified(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, date, uuid.UUID]]:
    async with sessions() as session:
        run = LinkageRun(
            engine="test", framework="SF", threshold=0.9, model={}, diagnostics={}, run_by="test",
            started_at=datetime(2026, 3, 2, tzinfo=UTC),
        )  # fmt: skip
        session.add(run)
        await session.flush()
        keys = []
        for needs, latest in RANKS:
            family = IdentifiedFamily(
                id=uuid.uuid4(), household_key=uuid.uuid4().hex, hub="paging", framework="SF", needs=[],
                need_count=needs, latest_evidence=latest, members=[], run_id=run.id,
            )  # fmt: skip
            session.add(family)
            keys.append((needs, latest or date.min, family.id))
        await session.commit()
    return keys


async def test_identified_families_page_backward_as_they_page_forward(
    intelligence_client: httpx.AsyncClient, intelligence_sessions: async_sessionmaker[AsyncSession]
) -> None:
    keys = await _identified(intelligence_sessions)
    families = Lister(
        intelligence_client,
        "/v1/identified-families",
        ANALYST,
        {"hub": "paging"},
        size_name="first",
        after_name="after",
    )
    expected = [str(k[2]) for k in sorted(keys, key=lambda k: (-k[0], -k[1].toordinal(), k[2]))]
    await families.check_both_ways(2, expected)
    assert await families.forward(4) == expected, "most needs, newest evidence, then id"

    too_big = encode_cursor(2**40, "2026-01-01", uuid.uuid4())
    refused = await families.get(2, before=too_big)
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "#query/before"


async def test_a_page_of_identified_families_is_read_off_an_index(
    intelligence_client: httpx.AsyncClient, intelligence_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The list's order (most needs, newest evidence, then id) is an index's, for all hubs and within one: a page,
    first or after a cursor, forward or backward, is an index scan that stops after it, never a sort of the list."""
    await _identified(intelligence_sessions)
    first = await intelligence_client.get("/v1/identified-families", params={"first": 2}, headers=ANALYST)
    cursor = first.json()["cursors"][-1]
    for params, index in (
        ({}, "ix_identified_families_rank"),
        ({"after": cursor}, "ix_identified_families_rank"),
        ({"before": cursor}, "ix_identified_families_rank"),
        ({"hub": "paging"}, "ix_identified_families_hub_rank"),
        ({"hub": "paging", "after": cursor}, "ix_identified_families_hub_rank"),
        ({"hub": "paging", "from_end": "true"}, "ix_identified_families_hub_rank"),
    ):
        plan = await page_plan(
            intelligence_sessions,
            "identified_families",
            intelligence_client.get("/v1/identified-families", params={"first": 2, **params}, headers=ANALYST),
        )
        scans = (f"Index Scan using {index} " in plan) or (f"Index Scan Backward using {index} " in plan)
        assert scans and "Sort" not in plan, (params, plan)
        if "after" in params or "before" in params:  # the scan starts at the cursor, not at the list's start
            [condition] = [line for line in plan.splitlines() if "Index Cond" in line]
            assert "ROW(need_count, COALESCE(latest_evidence, '-infinity'::date))" in condition, plan
