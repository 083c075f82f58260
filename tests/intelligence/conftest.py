"""Fixtures of the intelligence tests: the service in process over its rolled-back session, and import helpers."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

    async with app_client(create_app, Settings, intelligence_db, sessionmaker=intelligence_sessions, **QUIET) as client:
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


UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused
QUIET: dict[str, Any] = {
    "retention_interval_seconds": 0,
    "cases_check_interval_seconds": 0,
    "cases_url": UNREACHABLE,
}
"""In-process apps run no background loop, and ask no cases service unless a test gives them one."""
FRAMEWORKS_DIR = REPO_ROOT / "services" / "outcomes" / "outcomes" / "frameworks"
AS_OF = "2026-12-01"


@dataclass
class FrameworkServer:
    """A small real HTTP server answering `GET /v1/frameworks/active` with one of the outcomes service's built-in
    framework files (the documented contract, `docs/contracts.md`); `active` switches it."""

    url: str
    active: str = "supporting-families-2022"


@pytest.fixture(scope="session")
def framework_server() -> Iterator[FrameworkServer]:
    state = FrameworkServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/v1/frameworks/active" or not self.headers.get("authorization"):
                self.send_response(404)
                self.end_headers()
                return
            body = (FRAMEWORKS_DIR / f"{state.active}.json").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("ETag", f'"{state.active}"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


@pytest.fixture
async def intelligence_api(
    intelligence_db: str, intelligence_sessions: async_sessionmaker[AsyncSession], framework_server: FrameworkServer
) -> AsyncIterator[httpx.AsyncClient]:
    """The service asking the framework server for the active framework (re-asked on every run)."""
    from intelligence.app import create_app
    from intelligence.config import Settings

    framework_server.active = "supporting-families-2022"
    async with app_client(
        create_app,
        Settings,
        intelligence_db,
        sessionmaker=intelligence_sessions,
        outcomes_url=framework_server.url,
        framework_cache_seconds=0,
        rate_limit_per_second=0,
        **QUIET,
    ) as client:
        yield client


async def import_examples(client: httpx.AsyncClient) -> None:
    for kind in AGENCY:
        response = await import_file(client, kind)
        assert response.status_code == 200, response.text


async def run_linkage(client: httpx.AsyncClient, as_of: str = AS_OF) -> dict[str, Any]:
    response = await client.post("/v1/linkage-runs", params={"as_of": as_of}, headers=ANALYST)
    assert response.status_code == 201, response.text
    return dict(response.json())
