"""Benchmark: referral intake with the whole stack running, against a minimal FastAPI + asyncpg endpoint.

Referrals, cases and outcomes run as real processes on fresh migrated databases of the same PostgreSQL, wired
to each other as `earlyhelp up` wires them (tests/e2e/stack.py), rate limits off. The baseline parses the same
JSON body and does one INSERT. Load comes from outside the Python processes:

* saturation: `wrk -t1 -c32` (Debian's package) with bench/wrk/school_referrals.lua, every request a new school
  referral (unique Idempotency-Key, external reference and valid UPN); the two servers alternate, round after
  round, in the same run, so both see the same machine;
* p99 at 70% of saturation: bench/_openloop.py, an open-loop generator in its own process (wrk is closed-loop
  and wrk2 is not in Debian). It is first pointed at the baseline at the same rate, to show it keeps its
  schedule (send lag, its own CPU share) when the server is not the bottleneck.

Prints each phase with the load average, server CPU per request (and its PostgreSQL backends' CPU), RSS after
each round (no growth > 20% after a second identical round: no leak), and the targets of issue 20 as `TARGET`
lines.

Run with `make bench` or `.venv/bin/python bench/referrals_intake.py [--seconds 10] [--rounds 2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _baseline import BASELINE_DB_ENV, TABLE_DDL  # noqa: E402
from bench_common import cpu_seconds, load_average, target  # noqa: E402

from earlyhelp.platform import SERVICES  # noqa: E402
from shared.db import plain_url  # noqa: E402
from shared.migrate import with_database  # noqa: E402
from tests.e2e.stack import _processes, seed_hubs, stop  # noqa: E402
from tests.support import drop_database, make_token, migrated_database, pg_server_url  # noqa: E402

LUA = ROOT / "bench" / "wrk" / "school_referrals.lua"
PATH = "/v1/referrals/school"
RATIO_TARGET = 0.25
P99_TARGET_MS = 50.0


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: `make bench` installs it (Debian: apt-get install wrk)")
    return found


def run_wrk(url: str, token: str, tag: int, *, seconds: float, connections: int) -> dict[str, float]:
    env = {**os.environ, "WRK_TOKEN": token, "WRK_RUN": str(tag), "WRK_PATH": PATH}
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s", "-s", str(LUA), url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    r = json.loads(line.removeprefix("WRKJSON "))
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return {
        "requests": r["requests"],
        "throughput": r["requests"] / (r["duration_us"] / 1e6),
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "errors": errors,
        "non_2xx": r["status"],
    }


def run_openloop(url: str, token: str, tag: int, *, rate: float, seconds: float) -> dict[str, Any]:
    cmd = [sys.executable, str(ROOT / "bench" / "_openloop.py"), "--url", url + PATH, "--rate", f"{rate:.1f}",
           "--seconds", str(seconds), "--token", token, "--run", str(tag)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("OPENLOOPJSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("OPENLOOPJSON "))
    return result


Backends = dict[int, tuple[str, float]]


def backend_cpu(server: str, databases: list[str]) -> Backends:
    """CPU seconds so far of each PostgreSQL backend connected to `databases`, with its database
    (pg_stat_activity, /proc): the database's share of the work, which the services' own CPU leaves out."""

    async def pids() -> list[tuple[int, str]]:
        conn = await asyncpg.connect(plain_url(with_database(server, "postgres")))
        try:
            query = "SELECT pid, datname FROM pg_stat_activity WHERE datname = any($1::text[])"
            return [(int(r["pid"]), str(r["datname"])) for r in await conn.fetch(query, databases)]
        finally:
            await conn.close()

    found = {}
    for pid, database in asyncio.run(pids()):
        try:
            found[pid] = (database, cpu_seconds([pid]))
        except psutil.Error:  # ended meanwhile, or another host's
            continue
    return found


def backend_ms(before: Backends, after: Backends, requests: float) -> dict[str, float]:
    """Backend CPU milliseconds per request between two `backend_cpu` readings, by database (a backend that
    ended between them is left out: the pools keep theirs)."""
    by: dict[str, float] = {}
    for pid, (database, t) in after.items():
        by[database] = by.get(database, 0.0) + 1000 * (t - before.get(pid, (database, 0.0))[1]) / max(requests, 1)
    return by


def pg_split(by: dict[str, float]) -> str:
    """`total (referrals a, cases b, ...)` of `backend_ms`, databases named by their service."""
    parts = ", ".join(f"{db.split('_')[2]} {ms:.2f}" for db, ms in sorted(by.items()) if ms >= 0.005)
    return f"{sum(by.values()):.2f}" + (f" ({parts})" if parts else "")


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 1e6


def line(name: str, f: dict[str, float], cpu_ms: float | None = None) -> str:
    cpu = f"  server CPU {cpu_ms:5.2f} ms/req" if cpu_ms is not None else ""
    bad = f"  ERRORS {int(f['errors'])} (non-2xx {int(f['non_2xx'])})" if f["errors"] else ""
    return (
        f"  {name:<26} {f['throughput']:8.1f} req/s  p50 {f['p50_ms']:7.1f} ms  p99 {f['p99_ms']:7.1f} ms"
        f"  ({int(f['requests'])} req){cpu}{bad}  [{load_average()}]"
    )


def measured(pids: list[int], run: Any) -> tuple[dict[str, float], float]:
    """Run a load phase; its figures, and the CPU milliseconds per request of `pids` together (each process's
    share in `figures["cpu_ms_by_pid"]`)."""
    before = {pid: cpu_seconds([pid]) for pid in pids}
    figures: dict[str, Any] = run()
    served = max(figures["requests"], 1)
    figures["cpu_ms_by_pid"] = {pid: 1000 * (cpu_seconds([pid]) - before[pid]) / served for pid in pids}
    return figures, sum(figures["cpu_ms_by_pid"].values())


def profile(pid: int, out: Path, load: Any) -> None:
    """py-spy records the process (idle threads left out) while `load` runs; prints the summary."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out.parent.mkdir(parents=True, exist_ok=True)
    recorder = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--rate", "200", "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(1)
        figures = load()
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)
    print(f"  profiled under wrk: {figures['throughput']:.1f} req/s; py-spy raw profile in {out}")
    summary = subprocess.run([sys.executable, str(ROOT / "bench" / "_profile.py"), str(out)], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    print("\n".join("    " + ln for ln in summary.splitlines()))


async def matching_drained(referrals_url: str, timeout: float = 120.0) -> tuple[int, float]:
    """Matching runs after intake (the referrals worker): how many referrals were still pending when the load
    stopped, and how long until none were."""
    conn = await asyncpg.connect(plain_url(referrals_url))
    try:
        query = "SELECT count(*) FROM referrals WHERE matching = 'pending'"
        started = time.monotonic()
        backlog = int(await conn.fetchval(query))
        while await conn.fetchval(query):
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"matching still pending {timeout:.0f} s after the load stopped")
            await asyncio.sleep(0.05)
        return backlog, time.monotonic() - started
    finally:
        await conn.close()


async def databases(server: str, suffix: str) -> tuple[dict[str, str], str]:
    urls = {}
    for part in SERVICES:
        assert part.service_dir is not None
        urls[part.name] = await migrated_database(server, f"eh_bench_{part.name}_{suffix}", part.service_dir)
    await seed_hubs(urls["cases"])
    admin = await asyncpg.connect(plain_url(with_database(server, "postgres")))
    await admin.execute(f'CREATE DATABASE "eh_bench_baseline_{suffix}"')
    await admin.close()
    baseline_url = with_database(server, f"eh_bench_baseline_{suffix}")
    conn = await asyncpg.connect(plain_url(baseline_url))
    await conn.execute(TABLE_DDL)
    await conn.close()
    return urls, baseline_url


def open_loop_phase(baseline: str, referrals: str, token: str, t: int, rate: float, seconds: float) -> dict[str, Any]:
    """The open-loop generator at `rate`: first against the baseline (to show it keeps its schedule when the
    server is not the bottleneck), then against referrals; returns the referrals figures."""
    check = run_openloop(baseline, token, t, rate=rate, seconds=seconds)
    print(f"  open loop at {rate:.0f}/s, baseline (generator check): p50 {check['p50_ms']:.1f} ms, p99 "
          f"{check['p99_ms']:.1f} ms, sent {check['sent_rate']:.0f}/s, send lag p99 {check['send_lag_p99_ms']:.1f}"
          f" ms, generator CPU {check['generator_cpu_share']:.0%} of a core, statuses {check['statuses']}"
          f"  [{load_average()}]")  # fmt: skip
    at70 = run_openloop(referrals, token, t + 1, rate=rate, seconds=seconds)
    print(f"  open loop at {rate:.0f}/s, referrals: p50 {at70['p50_ms']:.1f} ms, p99 {at70['p99_ms']:.1f} ms, "
          f"sent {at70['sent_rate']:.0f}/s, send lag p99 {at70['send_lag_p99_ms']:.1f} ms, statuses "
          f"{at70['statuses']}, errors {at70['errors']}  [{load_average()}]")  # fmt: skip
    return at70


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per saturation phase")
    parser.add_argument("--rounds", type=int, default=2, help="alternating baseline / referrals rounds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--open-seconds", type=float, default=10.0)
    parser.add_argument("--profile", type=Path, help="also record a py-spy profile of referrals under wrk here")
    args = parser.parse_args()
    ensure_wrk()
    server = pg_server_url()
    suffix = uuid.uuid4().hex[:6]
    urls, baseline_url = asyncio.run(databases(server, suffix))
    logs = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    processes = _processes(urls, logs, gateway=False, extra={})
    for name in ("referrals", "cases", "outcomes"):
        processes[name].env[f"{name.upper()}_LOG_LEVEL"] = "WARNING"
    processes["referrals"].env["REFERRALS_DATABASE_POOL_SIZE"] = "20"
    baseline = processes.add(
        "baseline", "_baseline:baseline_app",
        {BASELINE_DB_ENV: plain_url(baseline_url), "PYTHONPATH": str(ROOT / "bench")}, logs,
    )  # fmt: skip
    token = make_token("partner_system", agency="SCH-BENCH", agency_type="school", ttl_seconds=7200)
    baseline_db = f"eh_bench_baseline_{suffix}"
    stack_dbs = [f"eh_bench_{p.name}_{suffix}" for p in SERVICES]
    tag = int(time.time()) % 50  # + up to 2 x rounds + 101: under 100 (the UPN serials' run digits)
    try:
        asyncio.run(processes.start(timeout=180))
        pid = {name: p.proc.pid for name, p in processes.processes.items() if p.proc is not None}
        print(f"referral intake, whole stack (logs in {logs}); wrk -t1 -c{args.connections} -d{args.seconds:.0f}s")
        # warm both servers (first-request paths, pools) before anything is timed
        run_wrk(baseline.url, token, tag, seconds=2, connections=args.connections)
        run_wrk(processes["referrals"].url, token, tag + 1, seconds=2, connections=args.connections)

        # what the stack burns with no load (relays, workers, gauges): at a low rate it inflates "per referral"
        asyncio.run(matching_drained(urls["referrals"]))  # the warm-up's referrals matched first
        names = ("referrals", "cases", "outcomes")
        idle_before = {n: cpu_seconds([pid[n]]) for n in names}
        time.sleep(3)
        idle = ", ".join(f"{n} {1000 * (cpu_seconds([pid[n]]) - idle_before[n]) / 3:.1f}" for n in names)
        print(f"  idle CPU, ms per second: {idle}  [{load_average()}]")

        def saturate(url: str, t: int) -> dict[str, float]:
            return run_wrk(url, token, t, seconds=args.seconds, connections=args.connections)

        ours: list[dict[str, float]] = []
        base: list[dict[str, float]] = []
        rss: list[dict[str, float]] = []
        for r in range(args.rounds):
            t = tag + 2 + 2 * r
            pg_before = backend_cpu(server, [baseline_db])
            f, cpu = measured([pid["baseline"]], lambda t=t: saturate(baseline.url, t))
            base.append(f)
            pg_ms = backend_ms(pg_before, backend_cpu(server, [baseline_db]), f["requests"])
            print(line(f"round {r + 1} baseline", f, cpu) + f"  (PostgreSQL CPU {pg_split(pg_ms)} ms/req)")
            stack_pids = [pid["referrals"], pid["cases"], pid["outcomes"]]
            before_cpu = cpu_seconds(stack_pids)
            pg_before = backend_cpu(server, stack_dbs)
            f, cpu = measured(stack_pids, lambda t=t: saturate(processes["referrals"].url, t + 1))
            ours.append(f)
            pg_ms = backend_ms(pg_before, backend_cpu(server, stack_dbs), f["requests"])
            by = f["cpu_ms_by_pid"]
            split = ", ".join(f"{n} {by[pid[n]]:.1f}" for n in ("referrals", "cases", "outcomes"))
            print(line(f"round {r + 1} referrals", f, cpu) + f"  (CPU ms/req: {split}; PostgreSQL {pg_split(pg_ms)})")
            backlog, drained = asyncio.run(matching_drained(urls["referrals"]))
            whole = 1000 * (cpu_seconds(stack_pids) - before_cpu) / max(f["requests"], 1)
            pg_whole = backend_ms(pg_before, backend_cpu(server, stack_dbs), f["requests"])
            print(f"  matching after intake: {backlog} referrals pending when the round ended, all matched"
                  f" {drained:.1f} s later; stack CPU with matching done {whole:.2f} ms/referral, PostgreSQL"
                  f" backends {pg_split(pg_whole)} ms/referral")  # fmt: skip
            rss.append({n: rss_mb(pid[n]) for n in ("referrals", "cases", "outcomes")})
            print("  RSS after round: " + ", ".join(f"{n} {v:.0f} MB" for n, v in rss[-1].items()))
        if args.profile:
            profile(pid["referrals"], args.profile, lambda: saturate(processes["referrals"].url, tag + 50))
        failed = sum(int(o["errors"]) for o in ours) + sum(int(b["errors"]) for b in base)
        ratio = statistics.median(o["throughput"] / b["throughput"] for o, b in zip(ours, base, strict=True))
        saturation = statistics.median(o["throughput"] for o in ours)
        rate = 0.7 * saturation
        at70 = open_loop_phase(baseline.url, processes["referrals"].url, token, tag + 100, rate, args.open_seconds)
        figure = f"{ratio:.3f}x" + (f" ({failed} requests failed: not a figure)" if failed else "")
        target(
            "intake throughput / minimal endpoint", figure, f">= {RATIO_TARGET}x", ratio >= RATIO_TARGET and not failed
        )
        ok_70 = at70["p99_ms"] < P99_TARGET_MS and at70["errors"] == 0 and set(at70["statuses"]) == {"201"}
        target("intake p99 at 70% of saturation (open loop)", f"{at70['p99_ms']:.1f} ms at {rate:.0f}/s",
               f"< {P99_TARGET_MS:.0f} ms", ok_70)  # fmt: skip
        if len(rss) >= 2:
            growth = max(rss[-1][n] / rss[0][n] - 1 for n in rss[0])
            target("RSS growth after a second identical intake round", f"{growth:+.1%}", "<= +20%", growth <= 0.2)
            # the figure the issue asks for beside the growth; the 150 MB target is idle RSS (bench/idle_memory.py)
            print("  RSS after the intake benchmark: " + ", ".join(f"{n} {v:.0f} MB" for n, v in rss[-1].items()))
    finally:
        stop(processes)
        for name in [*(f"eh_bench_{p.name}_{suffix}" for p in SERVICES), f"eh_bench_baseline_{suffix}"]:
            asyncio.run(drop_database(server, name))


if __name__ == "__main__":
    main()
