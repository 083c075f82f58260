"""`earlyhelp seed --intelligence`: synthetic partner datasets imported through the service's own import, with
their ground truth beside them; seeding again changes nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import asyncpg

from earlyhelp.partners import seed_partner_datasets
from shared.db import plain_url


async def test_seed_imports_every_kind_and_again_changes_nothing(fresh_intelligence_db: str, tmp_path: Path) -> None:
    first = await seed_partner_datasets(fresh_intelligence_db, people=400, seed=3, out=tmp_path)
    assert len(first) == 7 and all("0 rejected" in line for line in first), first
    with (tmp_path / "truth.csv").open() as f:
        truth = list(csv.DictReader(f))
    conn = await asyncpg.connect(plain_url(fresh_intelligence_db))
    try:
        assert await conn.fetchval("SELECT count(*) FROM partner_records") == len(truth)
        again = await seed_partner_datasets(fresh_intelligence_db, people=400, seed=3, out=tmp_path)
        assert all("(0 new" in line and "0 rejected" in line for line in again), again
        assert await conn.fetchval("SELECT count(*) FROM partner_records") == len(truth)
    finally:
        await conn.close()
