"""What every benchmark prints: its targets, each as one `TARGET` line that `make bench` gathers at the end,
and the load average the figure was measured under (the machine is shared: absolute figures are noisy)."""

from __future__ import annotations

import os


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def target(name: str, figure: str, goal: str, met: bool) -> None:
    """`TARGET <name>: <figure> (target <goal>) met|NOT MET [load …]` — one line, grep-able."""
    print(f"TARGET {name}: {figure} (target {goal}) {'met' if met else 'NOT MET'} [{load_average()}]", flush=True)
