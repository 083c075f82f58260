"""A household's needs, in the active framework's own need codes, each with its evidence.

Partner data shows signals (low attendance, an offence, a domestic abuse incident, an adult out of work, …);
each signal maps to the first of its candidate need codes the active framework has, so Supporting Families
2022 and Leeds Families First both get their own codes. Thresholds come from the framework's rules where it
states them (the attendance rule's `min_percent` and `max_suspensions`), else the national defaults. Social
care at statutory level (child in need, child protection, looked after) marks the family as statutory: it is
shown, not offered for early help.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from intelligence.linkage.households import Record
from shared.contracts.frameworks import ActiveFramework

SIGNALS: dict[str, tuple[str, ...]] = {
    "school_attendance": ("education",),
    "school_suspensions": ("education",),
    "school_exclusion": ("education",),
    "crime_asb": ("crime", "safe_in_community"),
    "domestic_abuse": ("domestic_abuse", "safe_in_relationships"),
    "adult_out_of_work": ("financial_stability", "living_standards"),
    "young_person_neet": ("financial_stability", "living_standards"),
    "homelessness": ("housing", "living_standards"),
    "rent_arrears": ("financial_stability", "living_standards"),
    "substance_misuse": ("substance_use", "health_wellbeing"),
    "mental_health": ("health", "health_wellbeing"),
}
"""Each partner signal and the need codes it may stand for, most specific first."""
STATUTORY = ("cin", "cp", "cla")


@dataclass(frozen=True)
class Thresholds:
    min_attendance: float = 90.0
    max_suspensions: int = 3
    window: timedelta = timedelta(days=365)


def thresholds(framework: ActiveFramework, months: int) -> Thresholds:
    education = framework.need("education")
    params = education.rule.params if education and education.rule else {}
    return Thresholds(
        min_attendance=float(params.get("min_percent", 90)),
        max_suspensions=int(params.get("max_suspensions", 3)),
        window=timedelta(days=round(months * 30.44)),
    )


def _signals(record: Record, limits: Thresholds, today: date, adult: bool) -> Iterable[tuple[str, str]]:
    """(signal, what the record shows) for one record."""
    a = record.attributes
    recent = record.event_date is not None and record.event_date >= today - limits.window
    if record.kind == "school_census" and recent:
        if float(a.get("attendance_percent", 100)) < limits.min_attendance:
            yield "school_attendance", f"attendance {a['attendance_percent']}% to {a.get('term_end')}"
        if int(a.get("suspensions", 0)) >= limits.max_suspensions:
            yield "school_suspensions", f"{a['suspensions']} suspensions"
        if a.get("permanently_excluded"):
            yield "school_exclusion", "permanently excluded"
    elif record.kind == "police_incident" and recent:
        if a.get("incident_type") == "domestic_abuse":
            yield "domestic_abuse", f"domestic abuse incident ({a.get('role')})"
        elif a.get("role") == "suspect":
            yield "crime_asb", f"{a.get('incident_type')} ({a.get('role')})"
    elif record.kind == "worklessness" and a.get("benefit") == "out_of_work" and adult:
        yield "adult_out_of_work", f"out of work since {a.get('since')}"
    elif record.kind == "neet" and a.get("status") == "neet" and recent:
        yield "young_person_neet", "not in education, employment or training"
    elif record.kind == "housing" and recent:
        if a.get("status") == "rent_arrears":
            yield "rent_arrears", "rent arrears"
        else:
            yield "homelessness", str(a.get("status", "")).replace("_", " ")
    elif record.kind == "health":
        yield str(a.get("service")), f"{str(a.get('service')).replace('_', ' ')} service since {a.get('since')}"


@dataclass
class NeedProfile:
    needs: list[dict[str, Any]]
    """[{code, name, evidence: [{dataset, source_agency, record_id, date, shows, person_key}]}] in framework order."""
    statutory: str | None
    latest_evidence: date | None
    has_children: bool


def need_profile(
    members: dict[int, list[Record]],
    dobs: dict[int, date | None],
    framework: ActiveFramework,
    *,
    months: int,
    today: date,
) -> NeedProfile:
    limits = thresholds(framework, months)
    codes = framework.need_codes()
    evidence: dict[str, list[dict[str, Any]]] = {}
    statutory: str | None = None
    children = False
    for person, records in members.items():
        dob = dobs.get(person)
        adult = dob is None or (today - dob).days >= 18 * 365
        children = children or (dob is not None and not adult)
        for record in records:
            if record.kind == "social_care" and record.attributes.get("status") in STATUTORY:
                statutory = statutory or str(record.attributes["status"])
            for signal, shows in _signals(record, limits, today, adult):
                code = next((c for c in SIGNALS.get(signal, ()) if c in codes), None)
                if code is None:
                    continue
                evidence.setdefault(code, []).append(
                    {
                        "dataset": record.kind,
                        "source_agency": record.source_agency,
                        "record_id": record.record_id,
                        "date": record.event_date.isoformat() if record.event_date else None,
                        "shows": shows,
                        "person_key": str(person),
                    }
                )
    needs: list[dict[str, Any]] = [
        {"code": n.code, "name": n.name, "evidence": sorted(evidence[n.code], key=lambda e: e["date"] or "")}
        for n in framework.needs
        if n.code in evidence
    ]
    dates = [e["date"] for n in needs for e in n["evidence"] if e["date"]]
    return NeedProfile(
        needs=needs,
        statutory=statutory,
        latest_evidence=date.fromisoformat(max(dates)) if dates else None,
        has_children=children,
    )


def meets_threshold(profile: NeedProfile, framework: ActiveFramework) -> bool:
    if framework.requires_dependent_children and not profile.has_children:
        return False
    return len(profile.needs) >= framework.min_needs
