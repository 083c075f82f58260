"""Service apps for tests: in process (`app_client`), or any ASGI app on a real loopback port (`serve_asgi`)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.database import TEST_DATA_DIR
from tests.support.tokens import TEST_KEY_PATH


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serve_asgi(
    app: Any, *, port: int | None = None, lifespan: Literal["auto", "on", "off"] = "off"
) -> AsyncIterator[str]:
    """Run an ASGI app (a stand-in receiver, peer or proxy) on a real loopback port with uvicorn, in this event
    loop; yields its base URL and stops it afterwards."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan=lifespan)
    )
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert not task.done(), "in-test server exited during start"
            assert time.monotonic() < deadline, "in-test server did not start in 20 s"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)


@asynccontextmanager
async def app_client(
    create_app: Any,
    settings_cls: Any,
    database_url: str,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    **overrides: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for one service app, with its lifespan run and (optionally) a test sessionmaker."""
    from asgi_lifespan import LifespanManager

    defaults = {
        "environment": "test",
        "dev_key_path": TEST_KEY_PATH,
        "data_dir": TEST_DATA_DIR,
        # in-process apps do no background database work of their own (tests plug in their sessionmaker)
        "relay_enabled": False,
        "idempotency_purge_interval": 0,
    }
    settings = settings_cls(database_url=database_url, **(defaults | overrides))
    app = create_app(settings)
    if sessionmaker is not None:
        app.state.sessionmaker = sessionmaker
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
