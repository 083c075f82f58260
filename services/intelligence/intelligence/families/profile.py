"""The commissioning view: how common each need is, which needs occur together, by hub and postcode district,
and how that changed from one linkage run to the next — counts only, with small counts suppressed.

Every linkage run stores its identified families as counts (`need_snapshots`: run, as-of date, hub, postcode
district, the combination of needs, statutory or not, how many families); the profile is read from those, never
from families or people. A count from 1 to 4 is not shown (`SMALL`): a cell that small could point at a family.
Where one cell of a breakdown is hidden and the total is shown, the next smallest is hidden too, so that the
hidden one cannot be worked out by subtraction (secondary suppression).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from intelligence.families.schemas import (
    OVER_TIME_POINTS,
    AreaCount,
    NeedCombination,
    NeedCount,
    NeedProfilePoint,
    NeedProfileRead,
)
from intelligence.models import LinkageRun
from shared.identifiers import postcode_district

SMALL = 5
"""Counts below this (and above 0) are suppressed."""
UNKNOWN_DISTRICT = "unknown"


def district_of(postcode: str | None) -> str:
    if not postcode:
        return UNKNOWN_DISTRICT
    try:
        return postcode_district(postcode)
    except ValueError:
        return UNKNOWN_DISTRICT


def snapshot_rows(run: LinkageRun, as_of: date, families: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A run's identified families as counts per (hub, district, combination of needs, statutory)."""
    cells: Counter[tuple[str, str, str, bool]] = Counter()
    for f in families:
        needs = "+".join(sorted(n["code"] for n in f["needs"]))
        cells[(f["hub"], district_of(f["postcode"]), needs, bool(f["statutory"]))] += 1
    return [
        {"run_id": run.id, "as_of": as_of, "framework": run.framework, "hub": hub, "postcode_district": district,
         "needs": needs, "statutory": statutory, "families": n}
        for (hub, district, needs, statutory), n in sorted(cells.items())
    ]  # fmt: skip


def shown(count: int) -> int | None:
    """The count, or None when it is small enough to point at a family."""
    return None if 0 < count < SMALL else count


def suppress_partition(counts: dict[Any, int], total_shown: bool) -> dict[Any, int]:
    """The cells of a breakdown that may be shown (small ones hidden; a second one too when the total would give
    a lone hidden cell away)."""
    kept = {k: v for k, v in counts.items() if v >= SMALL}
    hidden = len(counts) - len(kept)
    if hidden == 1 and total_shown and kept:
        smallest = min(kept, key=lambda k: (kept[k], str(k)))
        del kept[smallest]
    return kept


def _needs_of(key: str) -> list[str]:
    return key.split("+") if key else []


def build_profile(
    rows: Sequence[Any], *, hub: str | None, district: str | None, latest_run: uuid.UUID | None
) -> NeedProfileRead:
    """The profile of the latest run (prevalence, combinations, areas) and the trend over every run's as-of date
    (the latest run of each date)."""
    latest = [r for r in rows if r.run_id == latest_run]
    families = sum(r.families for r in latest)
    needs: Counter[str] = Counter()
    combos: Counter[str] = Counter()
    areas: Counter[tuple[str, str]] = Counter()
    for r in latest:
        for code in _needs_of(r.needs):
            needs[code] += r.families
        combos[r.needs] += r.families
        areas[(r.hub, r.postcode_district)] += r.families
    total_shown = shown(families) is not None
    kept_needs = {k: v for k, v in needs.items() if v >= SMALL}
    kept_combos = suppress_partition(dict(combos), total_shown)
    kept_areas = suppress_partition(dict(areas), total_shown)
    hidden = (len(needs) - len(kept_needs)) + (len(combos) - len(kept_combos)) + (len(areas) - len(kept_areas))
    return NeedProfileRead(
        framework=latest[0].framework if latest else None,
        hub=hub,
        postcode_district=district,
        as_of=latest[0].as_of if latest else None,
        families=shown(families),
        statutory=shown(sum(r.families for r in latest if r.statutory)),
        needs=[NeedCount(need=k, families=v) for k, v in sorted(kept_needs.items(), key=lambda kv: (-kv[1], kv[0]))],
        combinations=[
            NeedCombination(needs=_needs_of(k), families=v)
            for k, v in sorted(kept_combos.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
        ],
        by_area=[AreaCount(hub=h, postcode_district=d, families=n) for (h, d), n in sorted(kept_areas.items())],
        over_time=_over_time(rows),
        suppressed_cells=hidden,
        small_count_threshold=SMALL,
    )


def _over_time(rows: Sequence[Any]) -> list[NeedProfilePoint]:
    """One point per as-of date: the latest run of that date, its families and each need's prevalence."""
    runs: dict[date, tuple[Any, uuid.UUID]] = {}
    for r in rows:
        if r.as_of not in runs or r.finished_at > runs[r.as_of][0]:
            runs[r.as_of] = (r.finished_at, r.run_id)
    points = []
    for as_of, (_, run_id) in sorted(runs.items()):
        cells = [r for r in rows if r.run_id == run_id]
        needs: Counter[str] = Counter()
        for r in cells:
            for code in _needs_of(r.needs):
                needs[code] += r.families
        points.append(
            NeedProfilePoint(
                as_of=as_of,
                families=shown(sum(r.families for r in cells)),
                needs=[NeedCount(need=k, families=v) for k, v in sorted(needs.items()) if v >= SMALL],
            )
        )
    return points[-OVER_TIME_POINTS:]
