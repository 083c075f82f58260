"""Benchmark: partner datasets for a synthetic population → import → linkage → households → needs, on DuckDB.

`BENCH_PEOPLE` people (default 250,000; about 1,000,000 rows across the seven kinds) are generated with
`earlyhelp.partners` (Faker en_GB; typos, nicknames, upper case, moved addresses, missing identifiers and dates of
birth, twins), each file streamed to `POST /v1/datasets` of the intelligence app (in process, on a fresh migrated
database), then `POST /v1/linkage-runs`. Prints wall time and rows/s per stage, pairwise precision and recall of
the person links against the generator's ground truth, and precision and recall of the identified families (a
household is truly identified when its own rows, grouped by the true household, meet the framework threshold).
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from earlyhelp.partners import population, write
from shared.db import plain_url
from tests.support import (
    TEST_DATA_DIR,
    TEST_KEY_PATH,
    auth,
    drop_database,
    make_token,
    migrated_database,
    pg_server_url,
)

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "250000"))
SEED = int(os.environ.get("BENCH_SEED", "2026"))
AS_OF = "2026-11-30"
FRAMEWORK = ROOT / "services" / "outcomes" / "outcomes" / "frameworks" / "supporting-families-2022.json"
ANALYST = auth(make_token("analyst", sub="bench", agency="LCC", agency_type="council",
                          scope="intelligence:special_category"))  # fmt: skip


def framework_server() -> tuple[ThreadingHTTPServer, str]:
    body = FRAMEWORK.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def truth_of(directory: Path) -> dict[tuple[str, str], tuple[int, int]]:
    with (directory / "truth.csv").open() as f:
        return {(r["kind"], r["record_id"]): (int(r["person"]), int(r["household"])) for r in csv.DictReader(f)}


async def _stream(path: Path) -> Any:
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


def pairs(groups: dict[Any, int]) -> int:
    return sum(n * (n - 1) // 2 for n in groups.values())


async def evaluate(url: str, truth: dict[tuple[str, str], tuple[int, int]]) -> dict[str, float]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        rows = await conn.fetch(
            "SELECT r.kind, r.record_id, l.person_key FROM partner_records r JOIN record_links l ON l.record_pk = r.id"
        )
        families = await conn.fetch("SELECT status, members, needs FROM identified_families")
        records = await conn.fetch(
            "SELECT r.id, r.kind, r.source_agency, r.record_id, r.event_date, r.attributes, r.date_of_birth "
            "FROM partner_records r"
        )
    finally:
        await conn.close()
    predicted = Counter(r["person_key"] for r in rows)
    true = Counter(truth[(r["kind"], r["record_id"])][0] for r in rows)
    both = Counter((r["person_key"], truth[(r["kind"], r["record_id"])][0]) for r in rows)
    tp = pairs(both)
    out = {"pair_precision": tp / max(pairs(predicted), 1), "pair_recall": tp / max(pairs(true), 1)}
    # identified families against the true households' own rows
    from intelligence.families.needs import meets_threshold, need_profile
    from intelligence.linkage.households import Record
    from shared.contracts.frameworks import ActiveFramework

    framework = ActiveFramework.model_validate_json(FRAMEWORK.read_bytes())
    by_household: dict[int, dict[int, list[Record]]] = defaultdict(lambda: defaultdict(list))
    dobs: dict[int, date | None] = {}
    for r in records:
        person, household = truth[(r["kind"], r["record_id"])]
        record = Record(r["id"], r["kind"], r["source_agency"], r["record_id"], person, None, None,
                        r["date_of_birth"], None, None, None, r["event_date"], json.loads(r["attributes"]))  # fmt: skip
        by_household[household][person].append(record)
        dobs[person] = dobs.get(person) or r["date_of_birth"]
    truly = set()
    for household, members in by_household.items():
        profile = need_profile(members, dobs, framework, months=12, today=date.fromisoformat(AS_OF))
        if not profile.statutory and meets_threshold(profile, framework):
            truly.add(household)
    found: list[int] = []
    for family in families:
        if family["status"] != "identified":
            continue
        members = json.loads(family["members"])
        votes = Counter(
            truth[(kind, rid)][1] for m in members for kind, _, rid in (ref.split(":", 2) for ref in m["records"])
        )
        found.append(votes.most_common(1)[0][0])
    correct = {h for h in found if h in truly}
    out["family_precision"] = len(correct) / max(len(found), 1)
    out["family_recall"] = len(correct) / max(len(truly), 1)
    out["families_true"] = len(truly)
    out["families_found"] = len(found)
    return out


async def main() -> None:
    from intelligence.app import create_app
    from intelligence.config import Settings

    directory = Path(tempfile.mkdtemp(prefix="bench-intelligence-"))
    clock = time.perf_counter()
    households = population(PEOPLE, SEED)
    counts = write(households, SEED, directory)
    total = sum(counts.values())
    print(f"generated {PEOPLE:,} people in {len(households):,} households: {total:,} rows "
          f"({', '.join(f'{k} {v:,}' for k, v in counts.items())}) in {time.perf_counter() - clock:.1f} s")  # fmt: skip
    server, outcomes_url = framework_server()
    name = "eh_bench_intelligence"
    url = await migrated_database(pg_server_url(), name, ROOT / "services" / "intelligence")
    settings = Settings(database_url=url, environment="test", dev_key_path=TEST_KEY_PATH, data_dir=TEST_DATA_DIR,
                        outcomes_url=outcomes_url, rate_limit_per_second=0, relay_enabled=False,
                        cases_url="http://127.0.0.1:9", cases_check_interval_seconds=0)  # fmt: skip
    try:
        app = create_app(settings)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=3600) as client:
                clock = time.perf_counter()
                for kind in counts:
                    params = {"kind": kind, "source_agency": kind.upper()[:8], "sharing_agreement": "DSA-BENCH"}
                    if kind == "health":
                        params["special_category_condition"] = "9(2)(h)"
                    response = await client.post("/v1/datasets", params=params, headers=ANALYST,
                                                 content=_stream(directory / f"{kind}.csv"))  # fmt: skip
                    assert response.status_code == 200, response.text
                    assert response.json()["rows_rejected"] == 0, response.json()["errors"][:3]
                imported = time.perf_counter() - clock
                print(f"import: {imported:.1f} s, {total / imported:,.0f} rows/s")
                clock = time.perf_counter()
                response = await client.post("/v1/linkage-runs", params={"as_of": AS_OF}, headers=ANALYST)
                assert response.status_code == 201, response.text
                run = response.json()
                elapsed = time.perf_counter() - clock
                d = run["diagnostics"]
                rate = total / elapsed
                print(f"linkage run (export, link, households, needs, store): {elapsed:.1f} s, {rate:,.0f} rows/s")
                for stage in ("load", "linkage", "households", "needs"):
                    print(f"  {stage}: {d[stage + '_seconds']:.1f} s")
                print(f"  {d['records']:,} records -> {d['people']:,} people, {d['households']:,} households; "
                      f"{d['pairs_scored']:,} pairs scored, {d['pairs_linked']:,} linked; trained: {d['trained']}; "
                      f"{d['identified']:,} identified, {d['statutory']:,} statutory")  # fmt: skip
                print(f"whole pipeline (import + run): {imported + elapsed:.1f} s")
        quality = await evaluate(url, truth_of(directory))
        print(f"person pairs: precision {quality['pair_precision']:.4f}, recall {quality['pair_recall']:.4f}")
        print(f"identified families: precision {quality['family_precision']:.4f}, recall {quality['family_recall']:.4f}"
              f" ({quality['families_found']:,} found, {quality['families_true']:,} true)")  # fmt: skip
    finally:
        server.shutdown()
        await drop_database(pg_server_url(), name)


if __name__ == "__main__":
    asyncio.run(main())
