"""A small app built with the shared assembly, on the referrals service's migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.config import SERVICE_DIR, Settings
from referrals.models import platform
from shared.audit import record_access
from shared.auth import CurrentPrincipal, require_roles
from shared.db import SessionDep
from shared.errors import Conflict
from shared.events import CloudEvent
from shared.identifiers import NHSNumber, Postcode
from shared.service import create_service_app
from tests.support import TEST_DATA_DIR, TEST_KEY_PATH


class Thing(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    nhs_number: NHSNumber
    postcode: Postcode
    tags: list[int] = Field(default_factory=list)


def build_router() -> APIRouter:
    router = APIRouter()

    @router.post("/things")
    async def create_thing(thing: Thing, principal: CurrentPrincipal) -> dict[str, str]:
        return {
            "name": thing.name,
            "nhs_number": thing.nhs_number,
            "postcode": thing.postcode,
            "by": principal.sub,
        }

    @router.get("/admin-only", dependencies=[Depends(require_roles("admin"))])
    async def admin_only() -> dict[str, str]:
        return {"ok": "yes"}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail 4111")

    @router.get("/conflict")
    async def conflict() -> None:
        raise Conflict("That already exists", existing_id="abc")

    @router.get("/echo-into-db")
    async def echo_into_db(value: str, session: SessionDep) -> dict[str, str]:
        await session.execute(platform.inbox.insert().values(event_id=value, type="t", source="s"))
        return {"stored": value}

    @router.post("/write-then-fail")
    async def write_then_fail(session: SessionDep) -> None:
        await session.execute(platform.inbox.insert().values(event_id="should-roll-back", type="t", source="s"))
        raise Conflict("failed after writing")

    return router


async def record_handled(session: AsyncSession, event: CloudEvent) -> None:
    """The test handler leaves a trace in the database, in the consumer's transaction."""
    await record_access(
        session, platform, actor="consumer", action="handle", record_type="event", record_ids=[event.id]
    )


def build_app(database_url: str, timeout_overrides: dict[str, float] | None = None, **overrides: object) -> FastAPI:
    settings = Settings(
        database_url=database_url,
        environment="test",
        dev_key_path=TEST_KEY_PATH,
        data_dir=TEST_DATA_DIR,
        relay_enabled=False,
        **overrides,
    )
    return create_service_app(
        settings=settings,
        title="shared test app",
        description="exercises the shared assembly",
        service_dir=Path(SERVICE_DIR),
        tables=platform,
        routers=[build_router()],
        event_handlers={"thing.happened": record_handled},
        timeout_overrides=timeout_overrides,
    )


@pytest.fixture(name="build_app")
def build_app_fixture() -> Callable[..., FastAPI]:
    """The shared test app's factory, for tests that need their own settings."""
    return build_app


@pytest.fixture
async def shared_client(
    referrals_db: str, referrals_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(referrals_db)
    app.state.sessionmaker = referrals_sessions
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as client,
    ):
        yield client
