"""One running platform (the three services and the gateway, real processes) for the conformance checks that
read what a deployment serves: `/metrics` after traffic, the developer pages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.stack import Stack, platform


@pytest.fixture(scope="package")
async def live(
    server_url: str,
    referrals_db: str,
    cases_db: str,
    outcomes_db: str,
    intelligence_db: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    async with platform(server_url, tmp_path_factory.mktemp("conformance-platform"), gateway=True) as running:
        yield running
