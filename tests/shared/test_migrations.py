"""Every service's migrations go up, down to base and up again cleanly, and match the models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from shared.migrate import downgrade, upgrade
from tests.support import drop_database, migrated_database

ROOT = Path(__file__).resolve().parents[2]


def _metadata(service: str) -> MetaData:
    module = __import__(f"{service}.models", fromlist=["Base"])
    return module.Base.metadata  # type: ignore[no-any-return]


async def _tables(url: str) -> set[str]:
    from sqlalchemy.ext.asyncio import create_async_engine

    from shared.db import async_url

    engine = create_async_engine(async_url(url))
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        functions = (
            await conn.exec_driver_sql("SELECT count(*) FROM pg_proc WHERE proname LIKE 'audit_log_%'")
        ).scalar_one()
    await engine.dispose()
    return names | ({"<audit functions>"} if functions else set())


@pytest.mark.parametrize("service", ["referrals", "cases", "outcomes", "intelligence"])
async def test_up_down_up(server_url: str, service: str) -> None:
    name = f"eh_migrations_{service}"
    service_dir = ROOT / "services" / service
    url = await migrated_database(server_url, name, service_dir)
    try:
        at_head = await _tables(url)
        await asyncio.to_thread(downgrade, service_dir, url, "base")
        assert await _tables(url) == {"alembic_version"}
        await asyncio.to_thread(upgrade, service_dir, url, "head")
        assert await _tables(url) == at_head
    finally:
        await drop_database(server_url, name)


@pytest.mark.parametrize("service", ["referrals", "cases", "outcomes", "intelligence"])
async def test_models_match_migrations(
    referrals_db: str, cases_db: str, outcomes_db: str, intelligence_db: str, service: str
) -> None:
    """Autogenerate finds nothing to do: the ORM and the migrated schema agree."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from shared.db import async_url

    url = {
        "referrals": referrals_db,
        "cases": cases_db,
        "outcomes": outcomes_db,
        "intelligence": intelligence_db,
    }[service]
    engine = create_async_engine(async_url(url))
    metadata = _metadata(service)

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert {"audit_log", "outbox_events", "outbox_deliveries", "inbox"} <= tables
    assert differences == []
