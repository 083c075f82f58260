"""The cohort report as one offline HTML document: inline CSS and inline SVG charts, no script, no external load.

It opens from a file share or an e-mail attachment with no network, and it carries its own
Content-Security-Policy (`CONTENT_SECURITY_POLICY`): nothing may load or run, only its one `<style>` element
(allowed by hash) applies.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections import defaultdict
from typing import Any

from gateway.reports.cohort import CLAIM_STATUSES, CohortData

PALETTE = ("#1d70b8", "#f47738", "#00703c", "#912b88", "#d4351c", "#505a5f", "#28a197", "#b58840")
# Days from receipt to decision; the last bin is open-ended.
DECISION_BINS: tuple[tuple[float, float, str], ...] = (
    (0, 1, "< 1 day"),
    (1, 2, "1-2 days"),
    (2, 3, "2-3 days"),
    (3, 5, "3-5 days"),
    (5, 10, "5-10 days"),
    (10, float("inf"), "10+ days"),
)


# --- charts (inline SVG) ------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


FUNDING_MODELS = {
    "payment_by_results": "payment by results",
    "earned_autonomy": "Earned Autonomy (funded up front; claims are outcome evidence for local audit)",
}


def _funding(cohort: dict[str, Any]) -> str:
    """The funding model the outcomes service reports for the phase (nothing from an older service)."""
    model = cohort.get("funding_model")
    return f", funded by {_e(FUNDING_MODELS.get(str(model), str(model)))}" if model else ""


def _svg_open(chart_id: str, title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg id="{chart_id}" class="chart" role="img" aria-labelledby="{chart_id}-title" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f'<title id="{chart_id}-title">{_e(title)}</title>',
    ]


def _legend(keys: list[str], colours: dict[str, str], x: int, y: int) -> list[str]:
    out = []
    for i, key in enumerate(keys):
        out.append(f'<rect x="{x + i * 120}" y="{y}" width="12" height="12" fill="{colours[key]}"/>')
        out.append(f'<text x="{x + i * 120 + 16}" y="{y + 11}" class="legend">{_e(key)}</text>')
    return out


def _empty(parts: list[str], width: int, height: int) -> None:
    parts.append(f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle" class="empty">No data yet</text>')


def stacked_columns(
    chart_id: str, title: str, columns: dict[str, dict[str, int]], series: list[str], y_label: str
) -> str:
    """Vertical stacked bars, one column per key (e.g. month), one colour per series (e.g. hub)."""
    width, height, left, bottom, top = 720, 300, 50, 60, 30
    colours = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    parts = _svg_open(chart_id, title, width, height)
    totals = [sum(v.values()) for v in columns.values()]
    peak = max(max(totals, default=0), 1)
    if not columns:
        _empty(parts, width, height)
        return "\n".join([*parts, "</svg>"])
    plot_h = height - bottom - top
    step = (width - left - 10) / len(columns)
    bar_w = max(4.0, min(48.0, step * 0.7))
    parts.append(f'<text x="12" y="{top + plot_h // 2}" class="axis" transform="rotate(-90 12 {top + plot_h // 2})" '
                 f'text-anchor="middle">{_e(y_label)}</text>')  # fmt: skip
    for tick in _ticks(peak):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{tick}</text>')
    for i, (key, values) in enumerate(columns.items()):
        x = left + i * step + (step - bar_w) / 2
        y = float(top + plot_h)
        for s in series:
            n = values.get(s, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colours[s]}"><title>{_e(key)} · {_e(s)}: {n}</title></rect>'
            )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="axis">{_e(key)}</text>'
        )
    parts += _legend(series, colours, left, height - 22)
    return "\n".join([*parts, "</svg>"])


def horizontal_bars(
    chart_id: str, title: str, rows: list[tuple[str, dict[str, float]]], series: list[str], unit: str = ""
) -> str:
    """Horizontal grouped bars: one group per row label, one bar per series."""
    bar_h, gap, left, right, top = 14, 10, 170, 60, 10
    height = top + len(rows) * (bar_h * len(series) + gap) + 40
    width = 720
    colours = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    parts = _svg_open(chart_id, title, width, max(height, 90))
    peak = max(max((v for _, values in rows for v in values.values()), default=0), 1)
    if not rows:
        _empty(parts, width, max(height, 90))
        return "\n".join([*parts, "</svg>"])
    plot_w = width - left - right
    y = float(top)
    for label, values in rows:
        parts.append(
            f'<text x="{left - 8}" y="{y + bar_h * len(series) / 2 + 4:.1f}" text-anchor="end" class="axis">'
            f"{_e(label)}</text>"
        )
        for s in series:
            v = values.get(s, 0)
            w = plot_w * v / peak
            parts.append(
                f'<rect class="bar" x="{left}" y="{y:.1f}" width="{w:.1f}" height="{bar_h - 2}" fill="{colours[s]}">'
                f"<title>{_e(label)} · {_e(s)}: {_fmt(v)}{unit}</title></rect>"
            )
            parts.append(
                f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 4:.1f}" class="value">{_fmt(v)}{_e(unit)}</text>'
            )
            y += bar_h
        y += gap
    if len(series) > 1:
        parts += _legend(series, colours, left, int(y) + 8)
    return "\n".join([*parts, "</svg>"])


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def _ticks(peak: int) -> list[int]:
    step = max(1, round(peak / 4))
    return list(range(0, peak + 1, step))


# --- the page -----------------------------------------------------------------------------------------------

CSS = """
body { font-family: Arial, Helvetica, sans-serif; margin: 2rem auto; max-width: 60rem; color: #0b0c0c; }
h1 { font-size: 1.8rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #1d70b8; }
.kpis { display: flex; gap: 1rem; flex-wrap: wrap; }
.kpi { background: #f3f2f1; padding: .8rem 1.2rem; min-width: 9rem; }
.kpi b { display: block; font-size: 1.6rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem; }
th, td { border: 1px solid #b1b4b6; padding: .25rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.chart text { font-size: 12px; fill: #0b0c0c; } .chart .grid { stroke: #dddddd; }
.chart .empty { fill: #505a5f; font-size: 16px; } .note { background: #fff7bf; padding: .6rem; }
.caption { color: #505a5f; font-size: .9rem; }
@media print { h2 { page-break-before: auto; } }
"""


STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = f"default-src 'none'; style-src '{STYLE_HASH}'; base-uri 'none'; form-action 'none'"
"""The report's policy: no script, no fetch, no image, font or frame; only its own `<style>` element."""


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def build_html(data: CohortData) -> str:
    """The whole report as one HTML document (inline CSS and SVG; no script, no external resource)."""
    cohort = data.cohort
    by_need = sorted(cohort.get("by_need", []), key=lambda r: (-r["enrolled"], r["need"]))
    sections = [
        *_kpis(data),
        *_enrolment(data),
        *_needs(by_need),
        *_claims(data),
        *_triage_times(data),
    ]
    notes = "".join(f'<p class="note">{_e(n)}</p>' for n in data.notes)
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Early help cohort report — {_e(cohort.get("programme_phase", ""))}</title>
<style>{CSS}</style>
</head>
<body>
<h1>Early help cohort report</h1>
<p class="caption">Programme phase {_e(cohort.get("programme_phase", ""))}{_funding(cohort)}.
Generated {_e(data.generated_at)} from the platform's APIs. Counts only: no names or identifiers.</p>
{notes}
{"".join(sections)}
</body>
</html>
"""


def _kpis(data: CohortData) -> list[str]:
    """The headline figures."""
    sections: list[str] = []
    cohort = data.cohort
    decided = data.decisions
    on_time = sum(1 for d in decided if d["on_time"])
    kpis = [
        ("Families enrolled", cohort.get("families_enrolled", 0)),
        ("Families claimed", cohort.get("families_claimed", 0)),
        ("Claim rate", f"{100 * float(cohort.get('claim_rate', 0)):.1f}%"),
        ("Referrals decided on time", f"{_pct(on_time, len(decided))}%" if decided else "none"),
        ("Open referrals past due", data.open_breached),
    ]
    sections.append(
        '<div class="kpis">' + "".join(f'<div class="kpi"><b>{_e(v)}</b>{_e(k)}</div>' for k, v in kpis) + "</div>"
    )
    return sections


def _enrolment(data: CohortData) -> list[str]:
    """Families enrolled over time, by hub."""
    sections: list[str] = []
    cohort = data.cohort
    hubs = sorted({h for months in data.accepted_by_month_hub.values() for h in months} | {
        r["hub"] for r in cohort.get("by_hub", [])
    })  # fmt: skip
    sections.append("<h2>Families enrolled over time, by hub</h2>")
    sections.append(
        stacked_columns(
            "chart-enrolled-by-hub",
            "Families accepted for early help per month, by hub",
            data.accepted_by_month_hub,
            hubs,
            "families",
        )
    )
    sections.append(
        '<p class="caption">Accepted referrals per month of decision, by the hub that took them. Enrolments in the '
        "programme (from the outcomes service) per month of case start:</p>"
    )
    sections.append(
        _table(
            ["month", "enrolled", "claimed", "validated"],
            [[r["month"], r["enrolled"], r["claimed"], r["validated"]] for r in cohort.get("by_month", [])],
        )
    )
    sections.append(
        _table(
            ["hub", "enrolled", "closed", "claimed", "validated"],
            [[r["hub"], r["enrolled"], r["closed"], r["claimed"], r["validated"]] for r in cohort.get("by_hub", [])],
        )
    )
    return sections


def _needs(by_need: list[dict[str, Any]]) -> list[str]:
    """Needs prevalence, and progress and sustained outcomes by need."""
    sections: list[str] = []
    sections.append("<h2>Needs prevalence</h2>")
    sections.append(
        horizontal_bars(
            "chart-needs-prevalence",
            "Enrolled families with each need",
            [(r["need"], {"families": r["enrolled"]}) for r in by_need],
            ["families"],
        )
    )
    sections.append("<h2>Progress and sustained outcomes by need</h2>")
    sections.append(
        horizontal_bars(
            "chart-progress-by-need",
            "Share of families with each need whose outcome is met and sustained",
            [
                (r["need"], {"met": _pct(r["met"], r["enrolled"]), "sustained": _pct(r["sustained"], r["enrolled"])})
                for r in by_need
            ],
            ["met", "sustained"],
            unit="%",
        )
    )
    sections.append(
        _table(
            ["need", "enrolled", "evaluated", "met", "sustained"],
            [[r["need"], r["enrolled"], r["evaluated"], r["met"], r["sustained"]] for r in by_need],
        )
    )
    return sections


def _claims(data: CohortData) -> list[str]:
    """Claims by status, overall and by hub."""
    sections: list[str] = []
    sections.append("<h2>Claims by status</h2>")
    sections.append(
        horizontal_bars(
            "chart-claims-by-status",
            "Payment-by-results claims by status",
            [(s, {"claims": n}) for s, n in data.claims_by_status.items()],
            ["claims"],
        )
    )
    sections.append(
        _table(
            ["hub", *CLAIM_STATUSES],
            [[hub, *(counts.get(s, 0) for s in CLAIM_STATUSES)] for hub, counts in data.claims_by_hub.items()],
        )
    )
    return sections


def _triage_times(data: CohortData) -> list[str]:
    """Triage decision times against the SLA, overall and by hub."""
    sections: list[str] = []
    decided = data.decisions
    on_time = sum(1 for d in decided if d["on_time"])
    sections.append("<h2>Triage decision times against the SLA</h2>")
    bins: dict[str, dict[str, int]] = {label: {"on time": 0, "late": 0} for _, _, label in DECISION_BINS}
    for d in decided:
        label = next(lbl for lo, hi, lbl in DECISION_BINS if lo <= d["days"] < hi)
        bins[label]["on time" if d["on_time"] else "late"] += 1
    sections.append(
        stacked_columns(
            "chart-decision-times",
            "Referrals by days from receipt to decision, decided within or after the due date",
            bins,
            ["on time", "late"],
            "referrals",
        )
    )
    per_hub: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in decided:
        per_hub[d["hub"]].append(d)
    sections.append(
        horizontal_bars(
            "chart-sla-by-hub",
            "Share of referrals decided by their due date, by hub",
            [(hub, {"on time": _pct(sum(d["on_time"] for d in ds), len(ds))}) for hub, ds in sorted(per_hub.items())],
            ["on time"],
            unit="%",
        )
    )
    sections.append(
        f'<p class="caption">{len(decided)} referrals decided, {on_time} by their due date (working days, England '
        f"and Wales bank holidays excluded). {data.open_referrals} awaiting a decision, {data.open_breached} of "
        "them past due.</p>"
    )
    return sections


escape = _e
table = _table
"""The page parts other reports built in the same style share (`gateway.reports.need_profile`)."""
