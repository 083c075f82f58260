"""A linkage run's model as an HTML page: the match weight of every comparison level (log2 m/u) as a bar chart,
with m and u, and the run's diagnostics. Self-contained (inline SVG, no scripts, no external resources)."""

from __future__ import annotations

import math
from html import escape
from typing import Any

WIDTH = 320
"""Pixels of the widest bar (the largest absolute weight)."""


def _levels(model: dict[str, Any]) -> list[tuple[str, str, float | None, float | None, float | None]]:
    rows = []
    for comparison in model.get("comparisons", []):
        name = str(comparison.get("output_column_name", ""))
        for level in comparison.get("comparison_levels", []):
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            rows.append((name, str(level.get("label_for_charts", "")), m, u, weight))
    return rows


def render(run: dict[str, Any]) -> str:
    levels = _levels(run["model"])
    scale = max((abs(w) for *_, w in levels if w is not None), default=1.0) or 1.0
    bars = []
    for i, (name, label, _m, _u, weight) in enumerate(levels):
        y = i * 22
        width = 0 if weight is None else abs(weight) / scale * WIDTH
        x = WIDTH if weight is None or weight >= 0 else WIDTH - width
        colour = "#2b8a3e" if (weight or 0) >= 0 else "#c92a2a"
        text = "n/a" if weight is None else f"{weight:+.1f}"
        bars.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(name)}: {escape(label)}</text>'
            f'<rect x="{380 + x:.1f}" y="{y + 4}" width="{width:.1f}" height="14" fill="{colour}"/>'
            f'<text x="{380 + 2 * WIDTH + 8}" y="{y + 15}" font-size="12">{text}</text>'
        )
    height = len(levels) * 22 + 10
    table = "".join(
        f"<tr><td>{escape(n)}</td><td>{escape(label)}</td><td>{m if m is not None else ''}</td>"
        f"<td>{u if u is not None else ''}</td></tr>"
        for n, label, m, u, _ in levels
    )
    diagnostics = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in run["diagnostics"].items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Linkage run {escape(str(run["id"]))}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;font-size:.9rem}}</style></head>
<body><h1>Linkage run</h1>
<p>Engine {escape(str(run["engine"]))}, framework {escape(str(run["framework"]))}, threshold {run["threshold"]},
run by {escape(str(run["run_by"]))} at {escape(str(run["finished_at"]))}.</p>
<h2>Match weights (log<sub>2</sub> m/u) by comparison level</h2>
<svg role="img" aria-label="match weight chart" width="{380 + 2 * WIDTH + 60}" height="{height}"
 xmlns="http://www.w3.org/2000/svg"><line x1="{380 + WIDTH}" y1="0" x2="{380 + WIDTH}" y2="{height}"
 stroke="#888"/>{"".join(bars)}</svg>
<h2>m and u</h2><table><tr><th>comparison</th><th>level</th><th>m</th><th>u</th></tr>{table}</table>
<h2>Diagnostics</h2><table>{diagnostics}</table>
</body></html>
"""
