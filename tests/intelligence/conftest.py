"""Fixtures of the intelligence tests: the service in process over its rolled-back session, and import helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support import REPO_ROOT, app_client, auth, make_token

EXAMPLES = REPO_ROOT / "examples" / "datasets"
ANALYST = auth(make_token("analyst", sub="analyst-1", agency="LCC", agency_type="council"))
HEALTH_ANALYST = auth(
    make_token("analyst", sub="analyst-2", agency="LCC", agency_type="council", scope="intelligence:special_category")
)
PROTECTION = {"sharing_agreement": "DSA-2026-014", "lawful_basis": "6(1)(e)"}
AGENCY = {
    "school_census": "LCC-EDU",
    "police_incident": "WYP",
    "housing": "LCC-HOUSING",
    "worklessness": "DWP",
    "health": "WY-ICB",
    "neet": "LCC-NEET",
    "social_care": "LCC-CSC",
}


@pytest.fixture
async def intelligence_client(
    intelligence_db: str, intelligence_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    from intelligence.app import create_app
    from intelligence.config import Settings

    async with app_client(create_app, Settings, intelligence_db, sessionmaker=intelligence_sessions) as client:
        yield client


async def import_file(
    client: httpx.AsyncClient,
    kind: str,
    body: bytes | None = None,
    *,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    """POST a dataset (the example file of `kind` unless `body` is given)."""
    content = body if body is not None else (EXAMPLES / f"{kind}.csv").read_bytes()
    query: dict[str, Any] = {"kind": kind, "source_agency": AGENCY[kind], **PROTECTION, **params}
    if kind == "health" and "special_category_condition" not in params:
        query["special_category_condition"] = "9(2)(h)"
    return await client.post(
        "/v1/datasets",
        params=query,
        content=content,
        headers={"Content-Type": "text/csv", **(headers or (HEALTH_ANALYST if kind == "health" else ANALYST))},
    )


def example(kind: str) -> Path:
    return EXAMPLES / f"{kind}.csv"
