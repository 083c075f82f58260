"""Benchmark: the gateway's family page query (N = 50) against a hand-written parallel REST aggregator.

Two servers answer the same page in the same run: the gateway (`gateway.app`) and a hand-written aggregator
(`bench/_aggregator.py`: FastAPI, one pooled httpx client, the same six calls, every independent one in parallel,
the page's fields encoded with orjson), each a real uvicorn process in front of the same three services (real
processes on fresh databases with 50 seeded families). One client sends one request at a time, in alternating
rounds of the two (A B B A …), and prints p50/p95 of each, the p95 ratio (issue 20's target: at most 1.25x), the
load average, and the CPU milliseconds each process spent per request (from /proc, through psutil) — the figure
least moved by other work on the machine, where the latency of the side that needs more CPU stretches with load.

    .venv/bin/python bench/gateway_family_page.py [--requests 300] [--rounds 10] [--profile FILE]

`--profile FILE` then records the gateway with py-spy (a dev dependency) under the same client and prints its top
frames (`bench/_profile.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_common import cpu_seconds, load_average, target  # noqa: E402

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
TARGET_RATIO = 1.25
SERVICES = ("referrals", "cases", "outcomes", "intelligence")
Call = Callable[[], Awaitable[int]]


@dataclass
class Side:
    """One server's figures over every round: latencies, and the CPU seconds of each group of processes."""

    name: str
    call: Call
    server: list[int]
    timings: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=lambda: {"server": 0.0, "services": 0.0, "client": 0.0})

    def cpu_ms(self, group: str) -> float:
        return 1000 * self.cpu[group] / max(len(self.timings), 1)

    def line(self) -> str:
        return (
            f"  {self.name:<16} p50 {quantile(self.timings, 0.50):7.1f} ms   p95 {quantile(self.timings, 0.95):7.1f} ms"
            f"   CPU ms/request: server {self.cpu_ms('server'):5.1f}, services {self.cpu_ms('services'):5.1f},"
            f" client {self.cpu_ms('client'):4.1f}"
        )


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


async def run_round(side: Side, requests: int, groups: dict[str, list[int]]) -> None:
    """`requests` sequential requests: their latencies, and the CPU each group of processes spent meanwhile."""
    pids = {"server": side.server, **groups}
    before = {group: cpu_seconds(p) for group, p in pids.items()}
    for _ in range(requests):
        started = time.perf_counter()
        size = await side.call()
        side.timings.append((time.perf_counter() - started) * 1000)
        assert size == N, f"{side.name} returned {size} families"
    for group, p in pids.items():
        side.cpu[group] += cpu_seconds(p) - before[group]


async def alternate(sides: tuple[Side, Side], requests: int, rounds: int, groups: dict[str, list[int]]) -> None:
    """Rounds of the two sides in A B B A order, so that a change of load during the run falls on both alike."""
    for side in sides:
        for _ in range(10):  # warm up connections and caches
            await side.call()
    per_round = max(requests // rounds, 1)
    for r in range(rounds):
        for side in sides if r % 2 == 0 else sides[::-1]:
            await run_round(side, per_round, groups)


async def profile(pid: int, out: Path, load: Callable[[], Awaitable[object]]) -> None:
    """py-spy records the process while `load` runs; prints the summary."""
    spy = str(Path(sys.executable).parent / "py-spy")
    out.parent.mkdir(parents=True, exist_ok=True)
    recorder = subprocess.Popen(  # noqa: ASYNC220 - started once, before the load
        [spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--rate", "250", "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await asyncio.sleep(1)
        await load()
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)
    summarise = [sys.executable, str(ROOT / "bench" / "_profile.py"), str(out)]
    summary = subprocess.run(summarise, capture_output=True, text=True, check=True).stdout  # noqa: ASYNC221
    print(f"  py-spy raw profile of the gateway in {out}")
    print("\n".join("    " + ln for ln in summary.splitlines()))


def client_calls(client: httpx.AsyncClient, gateway_url: str, aggregator_url: str) -> dict[str, Call]:
    async def via_gateway() -> int:
        response = await client.post(
            f"{gateway_url}/graphql", json={"query": FAMILY_PAGE, "variables": {"first": N}}, headers=auth(MANAGER)
        )
        body = response.json()
        assert "errors" not in body, body["errors"]
        return len(body["data"]["families"]["edges"])

    async def via_aggregator() -> int:
        response = await client.get(
            f"{aggregator_url}/family-page", params={"hub": HUB, "first": N}, headers=auth(MANAGER)
        )
        response.raise_for_status()
        return len(response.json()["families"]["nodes"])

    return {"gateway": via_gateway, "aggregator": via_aggregator}


async def measure(fronts: ServiceProcesses, services: ServiceProcesses, args: argparse.Namespace) -> tuple[Side, Side]:
    groups = {
        "services": [p.proc.pid for p in services.processes.values() if p.proc],
        "client": [psutil.Process().pid],
    }
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=20)) as client:
        calls = client_calls(client, fronts["gateway"].url, fronts["aggregator"].url)
        sides = tuple(Side(name, calls[name], [fronts[name].proc.pid]) for name in ("aggregator", "gateway"))  # type: ignore[union-attr]
        aggregator, gateway = sides
        await alternate((aggregator, gateway), args.requests, args.rounds, groups)
        if args.profile:

            async def load() -> None:
                for _ in range(args.requests):
                    await gateway.call()

            await profile(gateway.server[0], args.profile, load)
    return aggregator, gateway


async def main(args: argparse.Namespace) -> None:
    server = pg_server_url()
    # intelligence too: the gateway is ready only when every upstream it knows answers its /readyz
    names = {svc: f"eh_bench_gateway_{svc}" for svc in SERVICES}
    dbs = {svc: await migrated_database(server, names[svc], ROOT / "services" / svc) for svc in names}
    await add_hubs(dbs["cases"])
    log_dir = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    services = ServiceProcesses()
    for svc in names:
        port = free_port()
        env = common_test_env(svc.upper(), dbs[svc], port)
        # reads only: the outboxes have nothing to send, so poll them as rarely as the settings allow a test to
        env |= {f"{svc.upper()}_LOG_LEVEL": "WARNING", f"{svc.upper()}_OUTBOX_POLL_INTERVAL": "2"}
        services.add(svc, f"{svc}.app:create_app", env, log_dir, port=port)
    urls = {svc: p.url for svc, p in services.processes.items()}
    gateway_env = {
        "GATEWAY_ENVIRONMENT": "test",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_RATE_LIMIT_PER_SECOND": "0",  # one client measured at full speed, not the per-address limit
        **{f"GATEWAY_{svc.upper()}_URL": url for svc, url in urls.items()},
    }
    aggregator_env = {"PYTHONPATH": str(ROOT / "bench"), **{f"AGGREGATOR_{s.upper()}_URL": urls[s] for s in urls}}
    fronts = ServiceProcesses()
    try:
        await services.start(timeout=120)  # generous: the machine is shared
        await seed_families(urls["cases"], N)
        port = free_port()
        fronts.add("gateway", "gateway.app:create_app", {**gateway_env, "GATEWAY_PORT": str(port)}, log_dir, port)
        fronts.add("aggregator", "_aggregator:aggregator_app", aggregator_env, log_dir)
        await fronts.start(timeout=120)
        load_before = load_average()
        aggregator, gateway = await measure(fronts, services, args)
    finally:
        fronts.stop()
        services.stop()
        for name in names.values():
            await drop_database(server, name)
    report(aggregator, gateway, load_before, args.rounds)


def report(aggregator: Side, gateway: Side, load_before: str, rounds: int) -> None:
    print(f"family page, N={N}, {len(gateway.timings)} requests each, one at a time, {rounds} alternating rounds")
    print(f"  before: {load_before}; after: {load_average()}")
    print(aggregator.line())
    print(gateway.line())
    ratio = quantile(gateway.timings, 0.95) / quantile(aggregator.timings, 0.95)
    extra = gateway.cpu_ms("server") - aggregator.cpu_ms("server")
    print(f"  p95 ratio gateway/aggregator: {ratio:.2f} (target <= {TARGET_RATIO}); the gateway's own CPU exceeds the")
    print(f"  aggregator's by {extra:.1f} ms a request")
    target("gateway family page p95 / REST aggregator", f"{ratio:.2f}x", f"<= {TARGET_RATIO}x", ratio <= TARGET_RATIO)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per server, over all rounds")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds")
    parser.add_argument("--profile", type=Path, help="also record a py-spy profile of the gateway here")
    asyncio.run(main(parser.parse_args()))
