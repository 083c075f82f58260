"""What every benchmark prints: its targets, each as one `TARGET` line that `make bench` gathers at the end,
and the load average the figure was measured under (the machine is shared: absolute figures are noisy)."""

from __future__ import annotations

import os

import psutil


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def target(name: str, figure: str, goal: str, met: bool) -> None:
    """`TARGET <name>: <figure> (target <goal>) met|NOT MET [load …]` — one line, grep-able."""
    print(f"TARGET {name}: {figure} (target {goal}) {'met' if met else 'NOT MET'} [{load_average()}]", flush=True)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds so far of these processes (one that has exited counts nothing)."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total
