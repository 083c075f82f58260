"""The commissioning need profile as one offline HTML document, in the cohort report's style: inline CSS and SVG
charts, no script, no external load, the same Content-Security-Policy.

Its data is the intelligence service's `GET /v1/need-profile` (counts only, counts from 1 to 4 already
suppressed there): need prevalence, the needs that occur together, families by hub and postcode district, and
need prevalence at each linkage run's as-of date. The page says what was withheld and why.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from gateway.reports.render import (
    CONTENT_SECURITY_POLICY,
    CSS,
    escape,
    horizontal_bars,
    stacked_columns,
    table,
)

CHARTS = ("chart-need-prevalence", "chart-need-combinations", "chart-families-by-area", "chart-needs-over-time")


def _count(value: int | None, threshold: int) -> str:
    return f"fewer than {threshold}" if value is None else str(value)


def _scope(profile: dict[str, Any]) -> str:
    parts = [f"hub {profile['hub']}" if profile.get("hub") else "every hub"]
    if profile.get("postcode_district"):
        parts.append(f"postcode district {profile['postcode_district']}")
    return ", ".join(parts)


def build_need_profile_html(profile: dict[str, Any], *, generated_at: str | None = None) -> str:
    """The whole report as one HTML document (inline CSS and SVG; no script, no external resource)."""
    generated = generated_at or datetime.now(UTC).isoformat(timespec="seconds")
    small = int(profile.get("small_count_threshold") or 5)
    framework = profile.get("framework") or "no framework yet"
    as_of = profile.get("as_of") or "no linkage run yet"
    sections = [*_headline(profile, small), *_prevalence(profile), *_areas(profile), *_over_time(profile, small)]
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Need profile — commissioning view</title>
<style>{CSS}</style>
</head>
<body>
<h1>Need profile: commissioning view</h1>
<p class="caption">Families identified from partner data against {escape(framework)},
as at {escape(as_of)}, for {escape(_scope(profile))}. Generated {escape(generated)} from the intelligence service.
Counts only: no names, identifiers, addresses or records.</p>
<p class="note">Small counts are suppressed to avoid identifying a family: a count from 1 to {small - 1} is never
shown (it reads “fewer than {small}”, or the need, combination or area is left out), and where one hidden count could
be worked out from a total, the next smallest is hidden too. {escape(profile.get("suppressed_cells", 0))} needs,
combinations or areas were withheld from this page.</p>
{"".join(sections)}
</body>
</html>
"""


def _headline(profile: dict[str, Any], small: int) -> list[str]:
    kpis = [
        ("Families identified", _count(profile.get("families"), small)),
        ("Known to social care (statutory)", _count(profile.get("statutory"), small)),
        ("Needs shown", len(profile.get("needs", []))),
        ("Cells withheld (small counts)", profile.get("suppressed_cells", 0)),
    ]
    return ['<div class="kpis">' + "".join(f'<div class="kpi"><b>{escape(v)}</b>{escape(k)}</div>' for k, v in kpis)
            + "</div>"]  # fmt: skip


def _prevalence(profile: dict[str, Any]) -> list[str]:
    needs = profile.get("needs", [])
    combos = profile.get("combinations", [])
    return [
        "<h2>Need prevalence</h2>",
        horizontal_bars(
            "chart-need-prevalence",
            "Identified families with each need",
            [(n["need"], {"families": n["families"]}) for n in needs],
            ["families"],
        ),
        table(["need", "families"], [[n["need"], n["families"]] for n in needs]),
        "<h2>Needs that occur together</h2>",
        horizontal_bars(
            "chart-need-combinations",
            "Identified families with exactly these needs",
            [(" + ".join(c["needs"]) or "none", {"families": c["families"]}) for c in combos],
            ["families"],
        ),
        table(["needs", "families"], [[" + ".join(c["needs"]), c["families"]] for c in combos]),
    ]


def _areas(profile: dict[str, Any]) -> list[str]:
    areas = profile.get("by_area", [])
    columns: dict[str, dict[str, int]] = defaultdict(dict)
    for a in areas:
        columns[a["postcode_district"]][a["hub"]] = a["families"]
    hubs = sorted({a["hub"] for a in areas})
    return [
        "<h2>Families by hub and postcode district</h2>",
        stacked_columns(
            "chart-families-by-area",
            "Identified families per postcode district, by hub",
            dict(sorted(columns.items())),
            hubs,
            "families",
        ),
        table(
            ["hub", "postcode district", "families"], [[a["hub"], a["postcode_district"], a["families"]] for a in areas]
        ),
    ]


def _over_time(profile: dict[str, Any], small: int) -> list[str]:
    points = profile.get("over_time", [])
    needs = sorted({n["need"] for p in points for n in p["needs"]})
    rows = [(p["as_of"], {n["need"]: n["families"] for n in p["needs"]}) for p in points]
    return [
        "<h2>Need prevalence over time</h2>",
        horizontal_bars(
            "chart-needs-over-time",
            "Identified families with each need, at each linkage run's as-of date",
            rows,
            needs,
        ),
        table(
            ["as of", "families", *needs],
            [
                [p["as_of"], _count(p["families"], small), *(values.get(n, "—") for n in needs)]
                for p, (_, values) in zip(points, rows, strict=True)
            ],
        ),
        '<p class="caption">One point per linkage run (the latest run of each as-of date). A dash: fewer than '
        f"{small} families had the need then, or none.</p>",
    ]
