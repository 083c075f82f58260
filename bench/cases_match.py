"""Benchmark: p95 of `POST /v1/people/match` with 10,000,000 people in the index (target: under 20 ms).

Each request is blocked in PostgreSQL and scored by the calibrated model (`cases.people.model`); precision and
recall of that model are measured by bench/identity_match.py.

Builds a fresh, migrated cases database, bulk-loads the people with `COPY` (blocking keys computed as the
service computes them), runs the cases service as a real uvicorn process, and sends match requests made from
people in the index with realistic errors (misspelt surnames, nicknames, swapped names, a changed date of
birth, missing postcode) plus exact identifier matches. Prints the query plan of the blocking query (to show
index scans, never a table scan) and the latency figures.

Run with `make bench` or `.venv/bin/python bench/cases_match.py [--people 10000000] [--requests 2000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_common import target  # noqa: E402

from cases.people import matching  # noqa: E402
from shared.db import plain_url  # noqa: E402
from tests.support import (  # noqa: E402
    ServiceProcesses,
    auth,
    common_test_env,
    drop_database,
    free_port,
    make_token,
    migrated_database,
    pg_server_url,
)
from tests.support.factories import upn as upn_factory  # noqa: E402

GIVEN = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia", "Grace", "Freya",
         "Noah", "Oliver", "George", "Leo", "Arthur", "Muhammad", "Harry", "Oscar", "Archie", "Henry", "Jack",
         "William", "James", "Thomas", "Charlotte", "Elizabeth", "Jessica", "Daniel", "Samuel", "Joseph", "Chloé",
         "Zoë", "Siobhan", "Aisha", "Fatima", "Priya", "Mohammed", "Yusuf", "Ali", "Jacob", "Ethan", "Emily",
         "Poppy", "Ella", "Evie", "Harper", "Alfie", "Theo", "Finley", "Lucas", "Mason", "Logan", "Reuben"]  # fmt: skip
NICK = {"William": "Bill", "James": "Jim", "Thomas": "Tom", "Elizabeth": "Liz", "Charlotte": "Lottie",
        "Daniel": "Dan", "Samuel": "Sam", "Joseph": "Joe", "Jessica": "Jess", "Isabella": "Bella"}  # fmt: skip
DISTRICTS = [f"LS{n}" for n in range(1, 30)] + [f"BD{n}" for n in range(1, 25)] + [f"WF{n}" for n in range(1, 17)]
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def surnames(count: int, rng: random.Random) -> list[str]:
    """A realistic spread of surnames: the faker en_GB list, then made-up ones for the long tail."""
    from faker.providers.person.en_GB import Provider

    base = sorted(set(Provider.last_names))
    syllables = ["ash", "ber", "by", "ca", "den", "ford", "ham", "ing", "ley", "mor", "ton", "well", "wick", "son"]
    names = list(base)
    while len(names) < count:
        names.append("".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))).title())
    return names[:count]


def misspell(name: str, rng: random.Random) -> str:
    if len(name) < 4:
        return name
    i = rng.randint(1, len(name) - 2)
    op = rng.choice(("swap", "drop", "double", "vowel"))
    if op == "swap":
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if op == "drop":
        return name[:i] + name[i + 1 :]
    if op == "double":
        return name[:i] + name[i] + name[i:]
    return name[:i] + rng.choice("aeiouy") + name[i + 1 :]


def postcode(rng: random.Random) -> str:
    return f"{rng.choice(DISTRICTS)} {rng.randint(1, 9)}{rng.choice(LETTERS)}{rng.choice(LETTERS)}"


def make_upn(n: int) -> str:
    return upn_factory(n, prefix="801")


async def load_people(url: str, count: int, rng: random.Random) -> list[tuple[Any, ...]]:
    """COPY `count` people into the index; returns a sample of them to build queries from."""
    family_names = surnames(3000, rng)
    keys: dict[str, str] = {}

    def key(name: str) -> str:
        if name not in keys:
            keys[name] = matching.name_key(name)
        return keys[name]

    start = date(1935, 1, 1)
    span = (date(2025, 12, 31) - start).days
    sample: list[tuple[Any, ...]] = []
    conn = await asyncpg.connect(plain_url(url))
    try:
        # the usual bulk load: drop the secondary indexes, COPY, build them again (same definitions)
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'people' AND indexname <> 'pk_people'"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        batch_size = 100_000
        for offset in range(0, count, batch_size):
            rows = []
            for n in range(offset, min(count, offset + batch_size)):
                given, family = rng.choice(GIVEN), rng.choice(family_names)
                dob = start + timedelta(days=rng.randrange(span))
                upn = make_upn(n) if dob.year >= 2006 and n % 2 == 0 else None
                rows.append((uuid.uuid4(), given, family, dob, None, upn, postcode(rng), key(given), key(family)))
            await conn.copy_records_to_table(
                "people",
                records=rows,
                columns=["id", "given_name", "family_name", "date_of_birth", "nhs_number", "upn", "postcode",
                         "given_key", "family_key"],
            )  # fmt: skip
            sample.extend(rng.sample(rows, 200))
            print(f"  loaded {min(count, offset + batch_size):,} people", flush=True)
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute("ANALYZE people")
    finally:
        await conn.close()
    return sample


def queries(sample: list[tuple[Any, ...]], n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Match requests as triage sends them: mostly noisy copies of people in the index."""
    out = []
    for _ in range(n):
        _, given, family, dob, _, upn, pc, _, _ = rng.choice(sample)
        kind = rng.random()
        body: dict[str, Any] = {"given_name": given, "family_name": family, "date_of_birth": dob.isoformat(),
                                "postcode": pc}  # fmt: skip
        if kind < 0.3:
            body["family_name"] = misspell(family, rng)
        elif kind < 0.45:
            body["given_name"] = NICK.get(given, given.upper())
        elif kind < 0.55:
            body["given_name"], body["family_name"] = family, given
        elif kind < 0.65:
            body["date_of_birth"] = (dob + timedelta(days=1)).isoformat()
        elif kind < 0.75:
            body.pop("postcode")
        elif kind < 0.85 and upn:
            body["upn"] = upn
        out.append(body)
    return out


def _dates(body: dict[str, Any]) -> list[date]:
    """The date of birth and its day-month transposition, as the service blocks on them."""
    dob = date.fromisoformat(body["date_of_birth"])
    if dob.day <= 12 and dob.day != dob.month:
        return [dob, date(dob.year, dob.day, dob.month)]
    return [dob]


async def explain(url: str, body: dict[str, Any]) -> str:
    keys = matching.blocking_keys(body["given_name"], body["family_name"])
    conn = await asyncpg.connect(plain_url(url))
    try:
        rows = await conn.fetch(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM people WHERE merged_into_id IS NULL"
            " AND (date_of_birth = ANY($1) OR (postcode = $2 AND family_key = ANY($3))"
            " OR (postcode = $2 AND given_key = ANY($3))) LIMIT 2000",
            _dates(body),
            body.get("postcode", ""),
            keys,
        )
    finally:
        await conn.close()
    return "\n".join("    " + r[0] for r in rows)


async def database_only(url: str, bodies: list[dict[str, Any]]) -> list[float]:
    """The blocking query alone, as the service sends it (prepared), to separate database from service time."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        statement = await conn.prepare(
            "SELECT * FROM people WHERE merged_into_id IS NULL AND (date_of_birth = ANY($1)"
            " OR (postcode = $2 AND family_key = ANY($3)) OR (postcode = $2 AND given_key = ANY($3))) LIMIT 2000"
        )
        timings = []
        for body in bodies:
            keys = matching.blocking_keys(body["given_name"], body["family_name"])
            t = time.perf_counter()
            await statement.fetch(_dates(body), body.get("postcode", ""), keys)
            timings.append((time.perf_counter() - t) * 1000)
        return timings
    finally:
        await conn.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(people: int, requests: int, concurrency: int, keep: bool, async_commit: bool) -> None:
    rng = random.Random(20261123)
    server = pg_server_url()
    name = f"eh_bench_cases_match_{uuid.uuid4().hex[:6]}"
    url = await migrated_database(server, name, ROOT / "services" / "cases")
    processes = ServiceProcesses()
    try:
        t0 = time.perf_counter()
        sample = await load_people(url, people, rng)
        load_seconds = time.perf_counter() - t0
        bodies = queries(sample, requests + 100, rng)
        print("  blocking query plan (one request):")
        print(await explain(url, bodies[0]))

        if async_commit:  # to show what the commit's fsync costs; the service itself never turns it off
            conn = await asyncpg.connect(plain_url(url))
            await conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
            await conn.close()
        port = free_port()
        env = common_test_env("CASES", url, port) | {"CASES_RELAY_ENABLED": "false", "CASES_LOG_LEVEL": "WARNING"}
        log_dir = Path(tempfile.mkdtemp(prefix="bench-cases-"))
        process = processes.add("cases", "cases.app:create_app", env, log_dir, port=port)
        await processes.start()
        headers = auth(make_token("service", sub="service:referrals"))
        async with httpx.AsyncClient(base_url=process.url, headers=headers, timeout=30) as client:
            for body in bodies[:100]:  # warm up: connections, caches, JIT-free but plan caches
                (await client.post("/v1/people/match", json=body)).raise_for_status()
            latencies: list[float] = []
            found = 0
            decisions: dict[str, int] = {}
            for body in bodies[100 : 100 + requests]:
                t = time.perf_counter()
                response = await client.post("/v1/people/match", json=body)
                latencies.append((time.perf_counter() - t) * 1000)
                result = response.json()
                found += bool(result["exact"] or result["candidates"])
                decisions[result["decision"]] = decisions.get(result["decision"], 0) + 1

            async def worker(chunk: list[dict[str, Any]]) -> None:
                for body in chunk:
                    (await client.post("/v1/people/match", json=body)).raise_for_status()

            chunks = [bodies[100 + i :: concurrency][: requests // concurrency] for i in range(concurrency)]
            t = time.perf_counter()
            await asyncio.gather(*(worker(c) for c in chunks))
            throughput = sum(len(c) for c in chunks) / (time.perf_counter() - t)

        db_only = await database_only(url, bodies[100 : 100 + requests])
        print(f"people in index:        {people:,} (loaded with COPY in {load_seconds:.1f} s)")
        print(f"requests (sequential):  {requests:,}; a match or candidate found for {found / requests:.1%}")
        print(f"decisions:              {', '.join(f'{k} {v}' for k, v in sorted(decisions.items()))}")
        print(f"latency p50:            {statistics.median(latencies):.2f} ms")
        print(f"latency p95:            {pct(latencies, 0.95):.2f} ms   (target < 20 ms)")
        p95 = pct(latencies, 0.95)
        target(f"person match p95 at {people:,} people", f"{p95:.2f} ms", "< 20 ms at 10,000,000 people",
               p95 < 20 and people >= 10_000_000)  # fmt: skip
        print(f"latency p99:            {pct(latencies, 0.99):.2f} ms")
        print(f"latency max:            {max(latencies):.2f} ms")
        print(f"throughput ({concurrency} clients): {throughput:.0f} requests/s")
        print(f"blocking query alone:   p50 {statistics.median(db_only):.2f} ms, p95 {pct(db_only, 0.95):.2f} ms")
        print(f"synchronous commit:     {'off (comparison run)' if async_commit else 'on'}")
        print(f"host load average:      {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    finally:
        processes.stop()
        if not keep:
            await drop_database(server, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--async-commit", action="store_true", help="compare: the database without synchronous commit (fsync)"
    )
    args = parser.parse_args()
    asyncio.run(run(args.people, args.requests, args.concurrency, args.keep, args.async_commit))


if __name__ == "__main__":
    main()
