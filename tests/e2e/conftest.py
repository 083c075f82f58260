"""One running platform (three services and the gateway) shared by the e2e modules that speak HTTP to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.stack import HUB, Stack, platform
from tests.support import make_token


@pytest.fixture(scope="package")
async def stack(
    server_url: str,
    referrals_db: str,
    cases_db: str,
    outcomes_db: str,
    intelligence_db: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    """Fresh clones of the migrated templates (the `*_db` fixtures build them); the hub's workers exist."""
    async with platform(server_url, tmp_path_factory.mktemp("e2e-platform"), gateway=True) as running:
        manager = make_token("hub_manager", sub="e2e-manager", agency="LCC", agency_type="council", hubs=[HUB])
        await running.add_workers(manager)
        yield running
