"""How long `earlyhelp seed --demo --families N` takes on fresh databases (issue #8: 10,000 families in < 2 minutes).

Migrates three fresh databases on the embedded (or `TEST_DATABASE_URL`) PostgreSQL, runs the same `seed_all` as the
CLI, prints the time of each service's part and of the whole, then seeds again (nothing to add) and drops the
databases. `BENCH_DEMO_FAMILIES` (default 10,000) sets N.

    .venv/bin/python bench/demo_seed.py
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

from earlyhelp.demo import PHASES, seed_all
from tests.support import drop_database, migrated_database, pg_server_url

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("referrals", "cases", "outcomes")
TARGET_SECONDS = 120.0


async def main() -> None:
    families = int(os.environ.get("BENCH_DEMO_FAMILIES", "10000"))
    server = pg_server_url()
    tag = uuid.uuid4().hex[:8]
    names = {s: f"bench_demo_{s}_{tag}" for s in SERVICES}
    try:
        urls = {s: await migrated_database(server, names[s], ROOT / "services" / s) for s in SERVICES}
        marks: dict[str, float] = {}
        started = time.perf_counter()

        def progress(phase: str, done: int, total: int) -> None:
            if done >= total:
                marks.setdefault(phase, time.perf_counter())

        lines = await seed_all(server, families=families, seed=2026, urls=urls, progress=progress)
        total = time.perf_counter() - started
        for line in lines:
            print(f"  {line}")
        previous = started
        for phase in PHASES:
            at = marks.get(phase, previous)
            print(f"  {phase:<12} {at - previous:6.1f} s")
            previous = at
        print(f"demo seed: {families} families in {total:.1f} s ({families / total:.0f} families/s);"
              f" target < {TARGET_SECONDS:.0f} s: {'met' if total < TARGET_SECONDS else 'MISSED'}")  # fmt: skip
        again = time.perf_counter()
        lines = await seed_all(server, families=families, seed=2026, urls=urls)
        print(f"second run (nothing to add): {time.perf_counter() - again:.1f} s; {'; '.join(lines[1:])}")
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    finally:
        for name in names.values():
            await drop_database(server, name)


if __name__ == "__main__":
    asyncio.run(main())
