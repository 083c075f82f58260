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
import contextlib
import io
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
import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_common import target  # noqa: E402

from cases.people import matching  # noqa: E402
from shared.db import plain_url  # noqa: E402
from shared.migrate import upgrade, with_database  # noqa: E402
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


COLUMNS = ["id", "given_name", "family_name", "date_of_birth", "upn", "postcode", "given_key", "family_key"]
BORN_FROM, BORN_TO = date(1935, 1, 1), date(2025, 12, 31)
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"


def upn_check_letters(numbers: np.ndarray) -> pa.Array:
    """The UPN check letter of each "801" + nine-digit number (python-stdnum's rule, vectorised)."""
    digits = [np.full(len(numbers), d) for d in (8, 0, 1)] + [numbers // 10**p % 10 for p in range(8, -1, -1)]
    check = sum(weight * (d + 23) for weight, d in enumerate(digits, 2)) % 23  # a digit's place in the alphabet
    return pa.array(list(UPN_ALPHABET)).take(pa.array(check))


def _pick(values: list[str], gen: np.random.Generator, size: int) -> tuple[np.ndarray, pa.Array]:
    chosen = gen.integers(len(values), size=size)
    return chosen, pa.array(values).take(pa.array(chosen))


def people_chunk(first: int, size: int, gen: np.random.Generator, family_names: list[str]) -> pa.Table:
    """`size` synthetic people numbered from `first`, as a table in the index's columns (vectorised: fast)."""
    n = np.arange(first, first + size)
    given, given_names = _pick(GIVEN, gen, size)
    family, family_column = _pick(family_names, gen, size)
    born = np.datetime64(BORN_FROM.isoformat()) + gen.integers((BORN_TO - BORN_FROM).days, size=size)
    raw = gen.integers(0, 256, size=(size, 16), dtype=np.uint8)
    raw[:, 6] = raw[:, 6] & 0x0F | 0x40  # a version-4 UUID
    raw[:, 8] = raw[:, 8] & 0x3F | 0x80
    ids = pa.array(np.frombuffer(raw.tobytes().hex().encode(), dtype="S32")).cast(pa.string())
    with_upn = (born.astype("datetime64[Y]").astype(int) + 1970 >= 2006) & (n % 2 == 0)
    upn = pc.binary_join_element_wise(upn_check_letters(n), pc.utf8_lpad(pa.array(n).cast(pa.string()), 9, "0"), "801")
    digits = pa.array(gen.integers(1, 10, size=size)).cast(pa.string())
    postcode = pc.binary_join_element_wise(
        _pick(DISTRICTS, gen, size)[1],
        pc.binary_join_element_wise(digits, _pick(list(LETTERS), gen, size)[1], _pick(list(LETTERS), gen, size)[1], ""),
        " ",
    )
    return pa.table(
        {
            "id": ids,
            "given_name": given_names,
            "family_name": family_column,
            "date_of_birth": pa.array(born.astype("datetime64[D]")),
            "upn": pc.if_else(pa.array(with_upn), upn, pa.scalar(None, pa.string())),
            "postcode": postcode,
            "given_key": pa.array([matching.name_key(g) for g in GIVEN]).take(pa.array(given)),
            "family_key": pa.array([matching.name_key(f) for f in family_names]).take(pa.array(family)),
        }
    )


async def load_people(url: str, count: int, rng: random.Random) -> list[tuple[Any, ...]]:
    """COPY `count` people into the index; returns a sample of them to build queries from.

    The usual bulk load, on one connection: in one transaction the table is emptied and its secondary indexes
    dropped, then the people are generated a million at a time (numpy and pyarrow, vectorised) and each million
    sent as one `COPY … FROM STDIN (FORMAT csv, FREEZE)` — frozen and all-visible as written, so no VACUUM has to
    rewrite the table; the indexes are then built again from their own definitions with a large
    `maintenance_work_mem`, and ANALYZE gives the planner its statistics.
    """
    family_names = surnames(3000, rng)
    gen = np.random.default_rng(rng.getrandbits(64))
    sample: list[tuple[Any, ...]] = []
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute("SET maintenance_work_mem = '1GB'; SET synchronous_commit = off")
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'people' AND indexname <> 'pk_people'"
        )
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute("TRUNCATE people CASCADE")  # COPY FREEZE needs the table emptied in its transaction
            for index in indexes:
                await conn.execute(f'DROP INDEX "{index["indexname"]}"')
            chunk = 1_000_000
            for first in range(0, count, chunk):
                table = people_chunk(first, min(chunk, count - first), gen, family_names)
                buffer = io.BytesIO()
                pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
                buffer.seek(0)
                await conn.copy_to_table("people", source=buffer, columns=COLUMNS, format="csv", freeze=True)
                picked = gen.choice(table.num_rows, size=min(2000, table.num_rows), replace=False)
                for row in table.take(pa.array(picked)).to_pylist():
                    sample.append((uuid.UUID(row["id"]), row["given_name"], row["family_name"],
                                   row["date_of_birth"], None, row["upn"], row["postcode"], row["given_key"],
                                   row["family_key"]))  # fmt: skip
                print(f"  COPY: {first + table.num_rows:,} people, {time.perf_counter() - started:.1f} s", flush=True)
        t = time.perf_counter()
        for index in indexes:
            await conn.execute(index["indexdef"])
        print(f"  {len(indexes)} secondary indexes built: {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        await conn.execute("VACUUM ANALYZE people")
        print(f"  VACUUM ANALYZE: {time.perf_counter() - t:.1f} s", flush=True)
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


BLOCK_COLUMNS = "id, given_name, family_name, date_of_birth, postcode, nhs_number, upn"
"""What the service reads of each person in a block (`PeopleRepository.match_block`)."""


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
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT "
            + BLOCK_COLUMNS
            + " FROM people WHERE merged_into_id IS NULL"
            " AND (date_of_birth = ANY($1) OR (postcode = $2 AND family_key = ANY($3))"
            " OR (postcode = $2 AND given_key = ANY($3))) LIMIT 2000",
            _dates(body),
            body.get("postcode", ""),
            keys,
        )
    finally:
        await conn.close()
    return "\n".join("    " + r[0] for r in rows)


async def database_only(url: str, bodies: list[dict[str, Any]]) -> tuple[list[float], list[int]]:
    """The blocking query alone, as the service sends it (prepared), to separate database from service time:
    its timings and the size of each block (people read)."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        statement = await conn.prepare(
            "SELECT " + BLOCK_COLUMNS + " FROM people WHERE merged_into_id IS NULL AND (date_of_birth = ANY($1)"
            " OR (postcode = $2 AND family_key = ANY($3)) OR (postcode = $2 AND given_key = ANY($3))) LIMIT 2000"
        )
        timings, sizes = [], []
        for body in bodies:
            keys = matching.blocking_keys(body["given_name"], body["family_name"])
            t = time.perf_counter()
            rows = await statement.fetch(_dates(body), body.get("postcode", ""), keys)
            timings.append((time.perf_counter() - t) * 1000)
            sizes.append(len(rows))
        return timings, sizes
    finally:
        await conn.close()


async def backend_pids(url: str, name: str) -> list[int]:
    """The PostgreSQL server processes of the service's connections to the benchmark database."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name)
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def sample_people(url: str) -> tuple[int, list[tuple[Any, ...]]]:
    """A database kept by an earlier run (`--keep`): how many people it holds and a sample to build queries from."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        count = await conn.fetchval("SELECT count(*) FROM people")
        rows = await conn.fetch(
            "SELECT id, given_name, family_name, date_of_birth, nhs_number, upn, postcode, given_key, family_key"
            " FROM people TABLESAMPLE SYSTEM (0.2) REPEATABLE (1) LIMIT 20000"
        )
    finally:
        await conn.close()
    return count, [tuple(r) for r in rows]


async def run(people: int, requests: int, concurrency: int, keep: bool, async_commit: bool, reuse: str | None) -> None:
    rng = random.Random(20261123)
    server = pg_server_url()
    name = reuse or f"eh_bench_cases_match_{uuid.uuid4().hex[:6]}"
    if reuse:  # brought to the migrations' head (an index they add is built here), people as they were
        url = with_database(server, name)
        await asyncio.to_thread(upgrade, ROOT / "services" / "cases", url)
        keep = True
    else:
        url = await migrated_database(server, name, ROOT / "services" / "cases")
    processes = ServiceProcesses()
    try:
        t0 = time.perf_counter()
        if reuse:
            people, sample = await sample_people(url)
        else:
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
            backends = await backend_pids(url, name)
            cpu_before = cpu_seconds([process.proc.pid]), cpu_seconds(backends)
            for body in bodies[100 : 100 + requests]:
                t = time.perf_counter()
                response = await client.post("/v1/people/match", json=body)
                latencies.append((time.perf_counter() - t) * 1000)
                result = response.json()
                found += bool(result["exact"] or result["candidates"])
                decisions[result["decision"]] = decisions.get(result["decision"], 0) + 1
            service_cpu = (cpu_seconds([process.proc.pid]) - cpu_before[0]) * 1000 / requests
            database_cpu = (cpu_seconds(backends) - cpu_before[1]) * 1000 / requests

            async def worker(chunk: list[dict[str, Any]]) -> None:
                for body in chunk:
                    (await client.post("/v1/people/match", json=body)).raise_for_status()

            chunks = [bodies[100 + i :: concurrency][: requests // concurrency] for i in range(concurrency)]
            t = time.perf_counter()
            await asyncio.gather(*(worker(c) for c in chunks))
            throughput = sum(len(c) for c in chunks) / (time.perf_counter() - t)

        db_only, sizes = await database_only(url, bodies[100 : 100 + requests])
        how = f"kept from an earlier run: {name}" if reuse else f"loaded with COPY in {load_seconds:.1f} s"
        print(f"people in index:        {people:,} ({how})")
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
        print(f"CPU per request:        cases process {service_cpu:.2f} ms, its database connections "
              f"{database_cpu:.2f} ms (sequential requests; load-independent, unlike the latencies)")  # fmt: skip
        print(f"blocking query alone:   p50 {statistics.median(db_only):.2f} ms, p95 {pct(db_only, 0.95):.2f} ms")
        print(
            f"people per block:       p50 {statistics.median(sizes):.0f}, p95 {pct(sizes, 0.95):.0f}, max {max(sizes)}"
        )
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
    parser.add_argument("--reuse", metavar="DATABASE", help="measure on a database kept by an earlier run (--keep)")
    parser.add_argument(
        "--async-commit", action="store_true", help="compare: the database without synchronous commit (fsync)"
    )
    args = parser.parse_args()
    asyncio.run(run(args.people, args.requests, args.concurrency, args.keep, args.async_commit, args.reuse))


if __name__ == "__main__":
    main()
