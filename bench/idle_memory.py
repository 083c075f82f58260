"""Idle memory (RSS) of each part's process after start-up and a few requests. Target: under 150 MB each.
Also prints each process's idle CPU (ms of CPU per second over 10 s: relays, workers and pollers with no traffic).

Run with `make bench` (or `.venv/bin/python bench/idle_memory.py`). Uses DATABASE_URL when set, otherwise an
embedded PostgreSQL under .data/bench/.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import httpx
import psutil
from bench_common import target

from earlyhelp.database import migrate_all, open_server
from earlyhelp.platform import PARTS, REPO_ROOT, process_env
from earlyhelp.supervisor import Child, Supervisor, uvicorn_cmd
from tests.support import drop_database, free_port

TARGET_MB = 150


def main() -> None:
    data_dir = REPO_ROOT / ".data" / "bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = open_server(data_dir)
    supervisor = Supervisor()
    names = {p.name: f"bench_{p.name}_{os.getpid()}" for p in PARTS}  # this run's own (helpers share servers)
    try:
        migrate_all(server.url, names)
        ports = {p.name: free_port() for p in PARTS}
        for part in PARTS:
            env = process_env(
                part,
                server_url=server.url,
                ports=ports,
                key_path=data_dir / "dev-signing-key.pem",
                data_dir=data_dir,
                environment="test",
                database_names=names,
            )
            url = f"http://127.0.0.1:{ports[part.name]}"
            supervisor.children.append(
                Child(part.name, uvicorn_cmd(part.app, ports[part.name]), env, data_dir / f"{part.name}.log", url)
            )
        supervisor.start_all()
        failed = supervisor.wait_ready()
        if failed:
            sys.exit(f"not ready: {failed}")
        with httpx.Client(timeout=5) as client:
            for child in supervisor.children:
                for _ in range(20):
                    client.get(f"{child.url}/readyz")
                    client.get(f"{child.url}/healthz")
        time.sleep(2)
        print(f"{'part':<10} {'RSS MB':>8}   target < {TARGET_MB} MB")
        worst = 0.0
        for child in supervisor.children:
            assert child.proc is not None
            process = psutil.Process(child.proc.pid)
            rss = sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 1_048_576
            worst = max(worst, rss)
            print(f"{child.name:<10} {rss:>8.1f}   {'ok' if rss < TARGET_MB else 'OVER'}")
        print(f"largest: {worst:.1f} MB")
        _idle_cpu(supervisor.children, seconds=10.0)
        target("idle RSS per process", f"{worst:.0f} MB (largest)", f"< {TARGET_MB} MB", worst < TARGET_MB)
    finally:
        supervisor.stop_all()
        for name in set(names.values()):
            asyncio.run(drop_database(server.url, name))
        server.stop()


def _idle_cpu(children: list[Child], *, seconds: float) -> None:
    """Each process's CPU (user + system, children included) over `seconds` of no traffic, in ms per second."""
    processes = {c.name: psutil.Process(c.proc.pid) for c in children if c.proc is not None}

    def cpu(process: psutil.Process) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in [process, *process.children(recursive=True)])

    before = {name: cpu(p) for name, p in processes.items()}
    time.sleep(seconds)
    figures = ", ".join(f"{n} {1000 * (cpu(p) - before[n]) / seconds:.1f}" for n, p in processes.items())
    print(f"idle CPU, ms per second over {seconds:.0f} s: {figures}  [load {os.getloadavg()[0]:.2f}]")


if __name__ == "__main__":
    main()
