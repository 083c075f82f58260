"""Benchmark: the gateway's family page query (N = 50) against a hand-written parallel REST aggregator.

Both run in the same process against the same three services (real uvicorn processes on fresh databases with
50 seeded families); the gateway runs as a real process too. Prints p50/p95 of each and the ratio
(target: gateway p95 at most 1.5x the aggregator's). Run with `make bench` or
`.venv/bin/python bench/gateway_family_page.py [--requests 200]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_common import target  # noqa: E402

from tests.gateway.test_services import FAMILY_PAGE, HUB, MANAGER, add_hubs, seed_families  # noqa: E402
from tests.support import (  # noqa: E402
    ServiceProcesses,
    auth,
    common_test_env,
    drop_database,
    free_port,
    migrated_database,
    pg_server_url,
)

N = 50


async def aggregator(client: httpx.AsyncClient, urls: dict[str, str]) -> list[dict[str, Any]]:
    """What a careful hand-written REST client does: every independent call in parallel, batched by id."""
    headers = auth(MANAGER)
    page = await client.get(f"{urls['cases']}/v1/families", params={"hub": HUB, "limit": N}, headers=headers)
    families = page.json()["items"]
    ids = ",".join(f["id"] for f in families)
    cases_r, referrals_r, progress_r = await asyncio.gather(
        client.get(f"{urls['cases']}/v1/cases", params={"family_ids": ids}, headers=headers),
        client.get(f"{urls['referrals']}/v1/referrals", params={"family_ids": ids, "limit": 100}, headers=headers),
        client.get(f"{urls['outcomes']}/v1/progress", params={"family_ids": ids}, headers=headers),
    )
    cases = [c for c in cases_r.json()["items"] if c["status"] != "closed"]
    worker_ids = ",".join(sorted({c["lead_worker_id"] for c in cases if c.get("lead_worker_id")}))
    case_ids = ",".join(c["id"] for c in cases)
    workers_r, plans_r = await asyncio.gather(
        client.get(f"{urls['cases']}/v1/workers", params={"ids": worker_ids}, headers=headers),
        client.get(f"{urls['cases']}/v1/plans", params={"case_ids": case_ids}, headers=headers),
    )
    workers = {w["id"]: w for w in workers_r.json()["items"]}
    plans = {p["case_id"]: p for p in plans_r.json()["items"]}
    by_family = {c["family_id"]: c for c in cases}
    referrals = referrals_r.json()["items"]
    progress = progress_r.json()["items"]
    out = []
    for family in families:
        case = by_family.get(family["id"])
        out.append(
            {
                "family": family,
                "case": case,
                "worker": workers.get(case["lead_worker_id"]) if case else None,
                "plan": plans.get(case["id"]) if case else None,
                "referrals": [r for r in referrals if r.get("family_id") == family["id"]],
                "progress": [p for p in progress if p.get("family_id") == family["id"]],
            }
        )
    return out


async def measure(name: str, call: Callable[[], Awaitable[int]], requests: int) -> list[float]:
    for _ in range(10):  # warm up connections and caches
        await call()
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        size = await call()
        timings.append((time.perf_counter() - started) * 1000)
        assert size == N, f"{name} returned {size} families"
    return timings


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


async def main(requests: int) -> None:
    server = pg_server_url()
    # intelligence too: the gateway is ready only when every upstream it knows answers its /readyz
    names = {svc: f"eh_bench_gateway_{svc}" for svc in ("referrals", "cases", "outcomes", "intelligence")}
    dbs = {svc: await migrated_database(server, names[svc], ROOT / "services" / svc) for svc in names}
    await add_hubs(dbs["cases"])
    log_dir = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    processes = ServiceProcesses()
    for svc in names:
        port = free_port()
        processes.add(svc, f"{svc}.app:create_app", common_test_env(svc.upper(), dbs[svc], port), log_dir, port=port)
    urls = {svc: p.url for svc, p in processes.processes.items()}
    gateway_port = free_port()
    gateway_env = {
        "GATEWAY_PORT": str(gateway_port),
        "GATEWAY_ENVIRONMENT": "test",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_RATE_LIMIT_PER_SECOND": "0",  # one client measured at full speed, not the per-address limit
        **{f"GATEWAY_{svc.upper()}_URL": url for svc, url in urls.items()},
    }
    for svc in names:
        processes[svc].env[f"{svc.upper()}_LOG_LEVEL"] = "WARNING"
    try:
        await processes.start()
        await seed_families(urls["cases"], N)
        gateway = ServiceProcesses()
        gateway.add("gateway", "gateway.app:create_app", gateway_env, log_dir, port=gateway_port)
        try:
            await gateway.start()
            gateway_url = gateway["gateway"].url
            async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=20)) as client:

                async def via_gateway() -> int:
                    response = await client.post(
                        f"{gateway_url}/graphql",
                        json={"query": FAMILY_PAGE, "variables": {"first": N}},
                        headers=auth(MANAGER),
                    )
                    body = response.json()
                    assert "errors" not in body, body["errors"]
                    return len(body["data"]["families"]["edges"])

                async def via_rest() -> int:
                    return len(await aggregator(client, urls))

                # interleave the two so that machine noise hits both alike
                load_before = os.getloadavg()[0]
                gw: list[float] = []
                rest: list[float] = []
                for _ in range(4):
                    rest += await measure("aggregator", via_rest, requests // 4)
                    gw += await measure("gateway", via_gateway, requests // 4)
                load_after = os.getloadavg()[0]
        finally:
            gateway.stop()
    finally:
        processes.stop()
        for name in names.values():
            await drop_database(server, name)
    print(f"family page, N={N}, {len(gw)} requests each (sequential, same run)")
    # the figures are only comparable between quiet runs: the machine's load shifts both sides, and not alike
    print(f"  load average (1 min) {load_before:.2f} before, {load_after:.2f} after")
    print(f"  REST aggregator  p50 {quantile(rest, 0.50):7.1f} ms   p95 {quantile(rest, 0.95):7.1f} ms")
    print(f"  GraphQL gateway  p50 {quantile(gw, 0.50):7.1f} ms   p95 {quantile(gw, 0.95):7.1f} ms")
    ratio = quantile(gw, 0.95) / quantile(rest, 0.95)
    print(f"  p95 ratio gateway/aggregator: {ratio:.2f} (target <= 1.25)")
    target("gateway family page p95 / REST aggregator", f"{ratio:.2f}x", "<= 1.25x", ratio <= 1.25)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    asyncio.run(main(parser.parse_args().requests))
