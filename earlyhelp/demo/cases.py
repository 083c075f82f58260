"""The cases side of the demo: each family's case as drawn, loading it into cases, and the events cases announces.

From "case open" on, the accepted referral opened a case; from "plan" on, the family was assessed (eligibility
decided by the rule real assessments go through) and so enrolled in outcomes. A "matched" family is known to cases
from an earlier case that closed before any assessment.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from earlyhelp.demo.identifiers import demo_uuid
from earlyhelp.demo.loading import Progress, chunks
from earlyhelp.demo.referrals import at
from shared.contracts import ActiveFramework, AssessedPerson, AssessmentCompleted, CaseClosed, eligibility

CASE_STAGES = ("open", "assessment", "plan", "review", "closed", "sustained")
ENROLLED_STAGES = ("plan", "review", "closed", "sustained")
ASSESSED_NEEDS = (
    "education",
    "early_years",
    "health",
    "family_relationships",
    "crime",
    "domestic_abuse",
    "housing",
    "financial_stability",
)
DEMO_FRAMEWORK = "supporting-families-2022"


@functools.cache
def demo_framework() -> ActiveFramework:
    """The built-in framework the demo families are assessed against, as the outcomes service serves it."""
    from outcomes.frameworks.service import builtin_frameworks, canonical

    found = next(f for f in builtin_frameworks() if f.code == DEMO_FRAMEWORK)
    return ActiveFramework.model_validate(canonical(found))


def assess(case: dict[str, Any], roles: list[str]) -> None:
    """Decide a demo assessment's eligibility with the rule real assessments go through (`shared.contracts`)."""
    framework = demo_framework()
    rule = eligibility(framework, case["needs"], roles)
    case["framework"], case["framework_version"] = framework.code, framework.version
    case["eligible"], case["eligibility_reasons"] = rule.eligible, rule.reasons


def previous_case(seed: int, index: int, received_day: date, rng: random.Random) -> dict[str, Any]:
    """A "matched" family's earlier case, closed before any assessment."""
    opened = received_day - timedelta(days=rng.randrange(500, 900))
    return {
        "case_id": demo_uuid(seed, "demo-previous-case", index),
        "opened_at": at(opened, rng),
        "closed_on": opened + timedelta(days=rng.randrange(20, 60)),
        "outcome": rng.choice(("disengaged", "moved_away", "stepped_down")),
    }


def open_case(family: dict[str, Any], seed: int, decided_at: datetime, today: date, rng: random.Random) -> None:
    """The case the family's accepted referral opened, as far as its stage goes, and its outcomes profile."""
    stage = family["stage"]
    opened_on = decided_at.date()
    case: dict[str, Any] = {
        "case_id": demo_uuid(seed, "demo-case", family["index"]),
        "opened_at": decided_at + timedelta(minutes=2),
        "status": {"sustained": "closed"}.get(stage, stage),
        "assessed_on": None,
        "needs": None,
        "reviewed_on": None,
        "closed_on": None,
        "outcome": None,
        "worker": None,
    }
    if stage != "open":
        case["assigned_at"] = decided_at + timedelta(days=rng.randrange(1, 5))
    if stage in ENROLLED_STAGES:
        needs = sorted(set(family["needs"]) | set(rng.sample(ASSESSED_NEEDS, rng.randrange(1, 3))))[:4]
        # A practitioner enrols a family that meets the criteria: needs of the 2022 framework's minimum of
        # three, topped up in a fixed order (the eligibility itself is decided by the rule, in `assess`).
        needs += [n for n in ASSESSED_NEEDS if n not in needs][: max(0, 3 - len(needs))]
        case["needs"] = sorted(needs)
        case["assessed_on"] = min(opened_on + timedelta(days=rng.randrange(15, 40)), today - timedelta(days=1))
    if stage in ("review", "closed", "sustained"):
        case["reviewed_on"] = case["assessed_on"] + timedelta(days=rng.randrange(40, 80))
    if stage in ("closed", "sustained"):
        case["closed_on"] = case["assessed_on"] + timedelta(days=rng.randrange(150, 260))
        case["outcome"] = "needs_met" if stage == "sustained" or rng.random() < 0.7 else "disengaged"
    family["family_id"] = demo_uuid(seed, "demo-family", family["index"])
    family["case"] = case
    if case["needs"] is not None:
        assess(case, [p["role"] for p in family["people"]] + (["unborn"] if family["kind"] == "maternity" else []))
    if stage == "sustained":
        family["profile"] = "sustained"
    elif stage == "closed":
        family["profile"] = "claimable" if case["outcome"] == "needs_met" else "struggling"
    elif stage in ENROLLED_STAGES:
        family["profile"] = rng.choice(("claimable", "struggling"))


async def load(
    session: AsyncSession,
    plan: Sequence[dict[str, Any]],
    *,
    seed: int,
    practitioners: Sequence[int],
    chunk: int,
    report: Progress,
) -> dict[str, int]:
    """Insert the cases side of the demo families; how many families, people, cases and assessments were new."""
    from cases.seed import load_demo_families

    totals: dict[str, int] = {}
    for done, part in enumerate(chunks(plan, chunk)):
        counts = await load_demo_families(session, part, seed=seed, practitioners=practitioners)
        totals = {k: totals.get(k, 0) + v for k, v in counts.items()}
        report("cases", min((done + 1) * chunk, len(plan)), len(plan))
    return totals


async def case_events(
    session: AsyncSession, family_ids: Sequence[uuid.UUID] | None = None
) -> tuple[list[AssessmentCompleted], list[CaseClosed]]:
    """The `case.assessment_completed` and `case.closed` payloads (`shared.contracts`) of the assessed demo cases."""
    from cases.models import Assessment, Case

    query = select(Assessment, Case).join(Case, Case.id == Assessment.case_id).order_by(Case.family_id)
    if family_ids is not None:
        query = query.where(Case.family_id.in_(family_ids))
    assessed = (await session.execute(query)).all()
    people, expectant = await _assessed_people(session, {case.family_id for _, case in assessed})
    completed, closed = [], []
    for assessment, case in assessed:
        completed.append(
            AssessmentCompleted(
                case_id=case.id,
                family_id=case.family_id,
                hub=case.hub,
                framework=assessment.framework,
                framework_version=assessment.framework_version,
                needs=list(assessment.need_codes),
                assessed_on=assessment.assessed_on,
                eligible=assessment.eligible,
                people=people.get(case.family_id, []),
                expectant=case.family_id in expectant,
            )
        )
        if case.closed_on is not None:
            closed.append(
                CaseClosed(
                    case_id=case.id, family_id=case.family_id, closed_on=case.closed_on, outcome=case.outcome or "other"
                )
            )
    return completed, closed


async def _assessed_people(
    session: AsyncSession, families: set[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[AssessedPerson]], set[uuid.UUID]]:
    """The current members of these families, as an assessment names them; and which families expect a baby."""
    from cases.models import FamilyMember, Person

    members = (
        await session.execute(
            select(FamilyMember.family_id, FamilyMember.role, Person)
            .join(Person, Person.id == FamilyMember.person_id)
            .where(FamilyMember.family_id.in_(families), FamilyMember.left_on.is_(None))
            .order_by(FamilyMember.family_id, Person.id)
        )
    ).all()
    expectant = set(
        (
            await session.scalars(
                select(FamilyMember.family_id).where(
                    FamilyMember.family_id.in_(families), FamilyMember.left_on.is_(None), FamilyMember.role == "unborn"
                )
            )
        ).all()
    )
    people: dict[uuid.UUID, list[AssessedPerson]] = {}
    for family_id, role, person in members:
        people.setdefault(family_id, []).append(
            AssessedPerson(
                person_id=person.id,
                role=role,
                date_of_birth=person.date_of_birth,
                nhs_number=person.nhs_number,
                upn=person.upn,
            )
        )
    return people, expectant
