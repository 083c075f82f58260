"""Deterministic demo data: hubs, teams, workers with known ids, and families with cases in every state.

`seed_demo(session, seed=…)` is idempotent (fixed ids derived from the seed; rows that exist are left alone)
and never commits: the caller owns the transaction.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cases import matching
from cases.models import (
    Assessment,
    Case,
    Family,
    FamilyMember,
    Hub,
    LeadWorkerAssignment,
    Person,
    Plan,
    Review,
    Team,
    TeamAroundFamily,
    Worker,
)

DEMO_NAMESPACE = uuid.UUID("6f1c3c52-9a8e-4c1e-9a59-2f1d3e0c0a40")
HUBS = {"north": ("North Early Help Hub", "LS7"), "central": ("Central Early Help Hub", "LS1"),
        "south": ("South Early Help Hub", "LS10")}  # fmt: skip
STATES = ("open", "assessment", "plan", "review", "closed")
GIVEN = ("Olivia", "Amelia", "Isla", "Ava", "Mia", "Noah", "Oliver", "George", "Leo", "Arthur", "Muhammad", "Freya")
FAMILY = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Khan", "Patel", "Davies", "Evans", "Walker")
NEEDS = ("education", "early_years", "health", "family_relationships", "crime", "domestic_abuse", "housing",
         "financial_stability")  # fmt: skip


def demo_id(seed: int, kind: str, *parts: object) -> uuid.UUID:
    """A stable id for a demo record, so that other services' demo data can refer to it."""
    return uuid.uuid5(DEMO_NAMESPACE, ":".join([str(seed), kind, *map(str, parts)]))


def worker_id(seed: int, hub: str, n: int) -> uuid.UUID:
    return demo_id(seed, "worker", hub, n)


def worker_subject(hub: str, n: int) -> str:
    """The `sub` of a demo worker's token (`earlyhelp dev-token --sub demo-north-1 …`)."""
    return f"demo-{hub}-{n}"


async def _insert(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(model).on_conflict_do_nothing(), rows)


def _upn(rng: random.Random) -> str:
    from stdnum.gb import upn

    digits = f"801{rng.randint(0, 99999999):09d}"
    return str(upn.calc_check_digit(digits)) + digits


async def seed_demo(session: AsyncSession, *, seed: int) -> dict[str, int]:
    """Create (once) the demo hubs, teams, workers, people, families and cases. Returns how many of each exist."""
    rng = random.Random(seed)
    today = datetime.now(UTC).date()
    await _insert(session, Hub, [{"code": code, "name": name} for code, (name, _) in HUBS.items()])
    teams, workers = [], []
    for hub in HUBS:
        team = demo_id(seed, "team", hub)
        teams.append({"id": team, "hub": hub, "name": f"{hub.title()} family support team"})
        workers.append({
            "id": worker_id(seed, hub, 0), "subject": worker_subject(hub, 0), "name": f"{hub.title()} Hub Manager",
            "agency": "LCC", "agency_type": "council", "hub": hub, "team_id": team, "role": "hub_manager",
            "caseload_cap": 5, "active": True,
        })  # fmt: skip
        for n in range(1, 4):
            workers.append({
                "id": worker_id(seed, hub, n), "subject": worker_subject(hub, n),
                "name": f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}", "agency": "LCC", "agency_type": "council",
                "hub": hub, "team_id": team, "role": "practitioner", "caseload_cap": 12, "active": True,
            })  # fmt: skip
        workers.append({
            "id": worker_id(seed, hub, 9), "subject": worker_subject(hub, 9), "name": f"{hub.title()} School Liaison",
            "agency": "SCH-LS-001", "agency_type": "school", "hub": hub, "team_id": None,
            "role": "partner_practitioner", "caseload_cap": 4, "active": True,
        })  # fmt: skip
    await _insert(session, Team, teams)
    await _insert(session, Worker, workers)

    people, families, members, cases, assignments, assessments, plans, reviews, team_rows = ([] for _ in range(9))
    for hub, (_, district) in HUBS.items():
        for index, state in enumerate(STATES):
            family_id = demo_id(seed, "family", hub, index)
            case_id = demo_id(seed, "case", hub, index)
            surname = rng.choice(FAMILY)
            postcode = (
                f"{district} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXY')}{rng.choice('ABDEFGHJLNPQRSTUWXY')}"
            )
            families.append({"id": family_id, "name": f"{surname} family", "hub": hub, "postcode": postcode,
                             "address": f"{rng.randint(1, 200)} Demo Street, Leeds"})  # fmt: skip
            household = [("parent_carer", today - timedelta(days=rng.randint(22, 45) * 365), None),
                         ("child", today - timedelta(days=rng.randint(5, 11) * 365), _upn(rng)),
                         ("young_person", today - timedelta(days=rng.randint(12, 16) * 365), _upn(rng))]  # fmt: skip
            for n, (role, dob, upn) in enumerate(household):
                person_id = demo_id(seed, "person", hub, index, n)
                given = rng.choice(GIVEN)
                people.append({
                    "id": person_id, "given_name": given, "family_name": surname, "date_of_birth": dob,
                    "upn": upn, "postcode": postcode, "given_key": matching.name_key(given),
                    "family_key": matching.name_key(surname),
                })  # fmt: skip
                member_id = demo_id(seed, "member", hub, index, n)
                members.append({"id": member_id, "family_id": family_id, "person_id": person_id, "role": role,
                                "joined_on": today - timedelta(days=120)})  # fmt: skip
            closed = state == "closed"
            cases.append({
                "id": case_id, "family_id": family_id, "hub": hub, "status": state, "version": 1,
                "reason": "demo referral", "opened_by": "demo-seed",
                "opened_at": datetime.now(UTC) - timedelta(days=100),
                "closed_on": today - timedelta(days=5) if closed else None,
                "outcome": "needs_met" if closed else None, "closure_reason": "goals achieved" if closed else None,
            })  # fmt: skip
            if state != "open":
                assignments.append({
                    "id": demo_id(seed, "assignment", hub, index), "case_id": case_id,
                    "worker_id": worker_id(seed, hub, 1 + index % 3), "reason": "demo allocation",
                    "assigned_by": worker_subject(hub, 0), "cap_overridden": False,
                    "ended_at": datetime.now(UTC) - timedelta(days=5) if closed else None,
                    "end_reason": "case closed" if closed else None,
                })  # fmt: skip
            if state in ("plan", "review", "closed"):
                needs = rng.sample(NEEDS, 3)
                assessments.append({
                    "id": demo_id(seed, "assessment", hub, index), "case_id": case_id,
                    "framework": "supporting-families-2022", "framework_version": "1",
                    "needs": [{"code": n, "descriptors": [], "evidence": "demo"} for n in needs], "need_codes": needs,
                    "eligible": True, "eligibility_reasons": ["3 distinct need(s) identified", "dependent children"],
                    "assessed_on": today - timedelta(days=80), "assessed_by": "demo-seed",
                })  # fmt: skip
                plans.append({
                    "id": demo_id(seed, "plan", hub, index), "case_id": case_id, "version": 1, "active": True,
                    "goals": [{"need": n, "description": f"progress on {n}", "target_date": None} for n in needs],
                    "actions": [], "team": [{"worker_id": str(worker_id(seed, hub, 9)), "role": "school liaison"}],
                    "review_dates": [], "next_review_due": today + timedelta(weeks=6), "change_summary": "demo plan",
                    "created_by": "demo-seed",
                })  # fmt: skip
                team_rows.append({"id": demo_id(seed, "team-around", hub, index), "case_id": case_id,
                                  "worker_id": worker_id(seed, hub, 9), "role": "school liaison"})  # fmt: skip
            if state in ("review", "closed"):
                reviews.append({
                    "id": demo_id(seed, "review", hub, index), "case_id": case_id, "plan_version": 1,
                    "reviewed_on": today - timedelta(days=20), "summary": "steady progress", "progress": [],
                    "next_review_due": today + timedelta(weeks=6), "recorded_by": "demo-seed",
                })  # fmt: skip
    for model, rows in ((Person, people), (Family, families), (FamilyMember, members), (Case, cases),
                        (LeadWorkerAssignment, assignments), (Assessment, assessments), (Plan, plans),
                        (TeamAroundFamily, team_rows), (Review, reviews)):  # fmt: skip
        await _insert(session, model, rows)
    return {
        "hubs": len((await session.scalars(select(Hub.code))).all()),
        "workers": len((await session.scalars(select(Worker.id))).all()),
        "families": len((await session.scalars(select(Family.id))).all()),
        "cases": len((await session.scalars(select(Case.id))).all()),
    }
