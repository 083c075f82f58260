"""Deterministic demo data: hubs, teams, workers with known ids, and families with cases in every state.

`seed_demo(session, seed=…)` is a small fixed set (15 families) for service tests; `load_demo_families` loads
the cases side of the platform demo (`earlyhelp seed --demo`, families drawn by `earlyhelp.demo`). Both are
idempotent (fixed ids derived from the seed; rows that exist are left alone) and never commit: the caller owns
the transaction.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import (
    Assessment,
    Case,
    CaseReferral,
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
from cases.people import matching
from shared.db import copy_rows

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


def _staff(seed: int, practitioners: Sequence[int] = (1, 2, 3)) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each hub's team and workers: manager 0, the practitioners, school liaison 9 (token subjects `demo-<hub>-<n>`)."""
    teams, workers = [], []
    for hub in HUBS:
        team = demo_id(seed, "team", hub)
        teams.append({"id": team, "hub": hub, "name": f"{hub.title()} family support team"})
        workers.append({
            "id": worker_id(seed, hub, 0), "subject": worker_subject(hub, 0), "name": f"{hub.title()} Hub Manager",
            "agency": "LCC", "agency_type": "council", "hub": hub, "team_id": team, "role": "hub_manager",
            "caseload_cap": 5, "active": True,
        })  # fmt: skip
        for n in practitioners:
            rng = random.Random(f"{seed}:worker:{hub}:{n}")
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
    return teams, workers


async def _seed_staff(session: AsyncSession, seed: int, practitioners: Sequence[int] = (1, 2, 3)) -> None:
    teams, workers = _staff(seed, practitioners)
    await _insert(session, Hub, [{"code": code, "name": name} for code, (name, _) in HUBS.items()])
    await _insert(session, Team, teams)
    await _insert(session, Worker, workers)


async def seed_demo(session: AsyncSession, *, seed: int) -> dict[str, int]:
    """A small fixed demo for service tests: the hubs, their staff and 15 families, one per case state and hub.

    (`earlyhelp seed --demo` loads the platform demo instead: `load_demo_families`.) Returns how many of each exist.
    """
    rng = random.Random(seed)
    today = datetime.now(UTC).date()
    await _seed_staff(session, seed)

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


# --- the platform demo (`earlyhelp seed --demo`): families drawn by `earlyhelp.demo`, loaded in bulk -----------


def _needs(codes: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"code": c, "descriptors": [], "evidence": "Whole-family assessment with the family and partners"}
        for c in codes
    ]


async def load_demo_families(
    session: AsyncSession, families: Sequence[dict[str, Any]], *, seed: int, practitioners: Sequence[int] = (1, 2, 3)
) -> dict[str, int]:
    """Insert the cases side of demo families (`earlyhelp.demo.demo_families`) in bulk; counts of new rows.

    Families known to cases (from "matched" on) get their people, membership and cases: the case the accepted
    referral opened (linked to it), with its lead worker, assessment, plan, team around the family and review
    as far as the family's stage goes; a "matched" family has only an earlier case, closed before assessment.
    Rows have fixed ids; families already present are skipped whole, the new ones' rows are written with COPY.
    """
    await _seed_staff(session, seed, practitioners)
    ids = [f["family_id"] for f in families if f["family_id"] is not None]
    present = set((await session.scalars(select(Family.id).where(Family.id.in_(ids)))).all()) if ids else set()
    rows: dict[Any, list[dict[str, Any]]] = {
        m: []
        for m in (
            Person,
            Family,
            FamilyMember,
            Case,
            CaseReferral,
            LeadWorkerAssignment,
            Assessment,
            Plan,
            TeamAroundFamily,
            Review,
        )
    }
    for family in families:
        if family["family_id"] is None or family["family_id"] in present:
            continue
        index, hub, family_id = family["index"], family["hub"], family["family_id"]
        case, previous = family["case"], family["previous_case"]
        first = previous or case
        joined_on: date = first["opened_at"].date()
        rows[Family].append(
            {
                "id": family_id,
                "name": f"{family['family_name']} family",
                "hub": hub,
                "postcode": family["postcode"],
                "address": family["address"],
            }
        )
        for p in family["people"]:
            rows[Person].append(
                {
                    "id": p["person_id"],
                    "given_name": p["given_name"],
                    "family_name": p["family_name"],
                    "date_of_birth": p["date_of_birth"],
                    "nhs_number": p["nhs_number"],
                    "upn": p["upn"],
                    "postcode": family["postcode"],
                    "address": family["address"],
                    "given_key": matching.name_key(p["given_name"]),
                    "family_key": matching.name_key(p["family_name"]),
                }
            )
            rows[FamilyMember].append(
                {
                    "id": demo_id(seed, "demo-member", index, p["position"]),
                    "family_id": family_id,
                    "person_id": p["person_id"],
                    "role": p["role"],
                    "expected_on": None,
                    "joined_on": joined_on,
                }
            )
        if family.get("expected_delivery_date") and case is not None:
            rows[FamilyMember].append(
                {
                    "id": demo_id(seed, "demo-member", index, "unborn"),
                    "family_id": family_id,
                    "person_id": None,
                    "role": "unborn",
                    "expected_on": family["expected_delivery_date"],
                    "joined_on": joined_on,
                }
            )
        if previous is not None:
            rows[Case].append(
                {
                    "id": previous["case_id"],
                    "family_id": family_id,
                    "hub": hub,
                    "status": "closed",
                    "version": 1,
                    "reason": "Earlier referral",
                    "opened_by": worker_subject(hub, 0),
                    "opened_at": previous["opened_at"],
                    "referral_id": None,
                    "closed_on": previous["closed_on"],
                    "outcome": previous["outcome"],
                    "closure_reason": "Closed before a whole-family assessment",
                }
            )
        if case is None:
            continue
        case_id, closed_on = case["case_id"], case["closed_on"]
        closed_at = datetime.combine(closed_on, datetime.min.time(), tzinfo=UTC) if closed_on else None
        rows[Case].append(
            {
                "id": case_id,
                "family_id": family_id,
                "hub": hub,
                "status": case["status"],
                "version": 1,
                "reason": family["reason"],
                "opened_by": "event:referrals",
                "opened_at": case["opened_at"],
                "referral_id": family["referral_id"],
                "closed_on": closed_on,
                "outcome": case["outcome"],
                "closure_reason": {"needs_met": "Goals achieved", "disengaged": "Family stopped engaging"}.get(
                    case["outcome"] or ""
                ),
            }
        )
        rows[CaseReferral].append(
            {
                "referral_id": family["referral_id"],
                "case_id": case_id,
                "joined": False,
                "received_at": case["opened_at"],
            }
        )
        if case["worker"] is not None:
            rows[LeadWorkerAssignment].append(
                {
                    "id": demo_id(seed, "demo-assignment", index),
                    "case_id": case_id,
                    "worker_id": worker_id(seed, hub, case["worker"]),
                    "reason": "Allocated at triage",
                    "assigned_by": worker_subject(hub, 0),
                    "assigned_at": case["assigned_at"],
                    "cap_overridden": False,
                    "ended_at": closed_at,
                    "end_reason": "case closed" if closed_at else None,
                }
            )
        if case["assessed_on"] is None:
            continue
        needs, assessed_on = case["needs"], case["assessed_on"]
        lead = worker_subject(hub, case["worker"])
        rows[Assessment].append(
            {
                "id": demo_id(seed, "demo-assessment", index),
                "case_id": case_id,
                # decided by the demo plan with the eligibility rule of `shared.contracts` (earlyhelp.demo.cases.assess)
                "framework": case["framework"],
                "framework_version": case["framework_version"],
                "needs": _needs(needs),
                "need_codes": needs,
                "eligible": case["eligible"],
                "eligibility_reasons": case["eligibility_reasons"],
                "assessed_on": assessed_on,
                "assessed_by": lead,
            }
        )
        next_review = (case["reviewed_on"] or assessed_on) + timedelta(weeks=8)
        rows[Plan].append(
            {
                "id": demo_id(seed, "demo-plan", index),
                "case_id": case_id,
                "version": 1,
                "active": closed_on is None,
                "goals": [
                    {"need": n, "description": f"Progress on {n.replace('_', ' ')}", "target_date": None} for n in needs
                ],
                "actions": [],
                "team": [{"worker_id": str(worker_id(seed, hub, 9)), "role": "school liaison"}],
                "review_dates": [],
                "next_review_due": next_review,
                "change_summary": "First plan",
                "created_by": lead,
            }
        )
        rows[TeamAroundFamily].append(
            {
                "id": demo_id(seed, "demo-team-around", index),
                "case_id": case_id,
                "worker_id": worker_id(seed, hub, 9),
                "role": "school liaison",
            }
        )
        if case["reviewed_on"] is not None:
            rows[Review].append(
                {
                    "id": demo_id(seed, "demo-review", index),
                    "case_id": case_id,
                    "plan_version": 1,
                    "reviewed_on": case["reviewed_on"],
                    "summary": "Steady progress on the plan's goals",
                    "progress": [],
                    "next_review_due": None if closed_on else next_review,
                    "recorded_by": lead,
                }
            )
    counts = {}
    for model, label in (
        (Family, "families"),
        (Person, "people"),
        (FamilyMember, None),
        (Case, "cases"),
        (CaseReferral, None),
        (LeadWorkerAssignment, None),
        (Assessment, "assessments"),
        (Plan, None),
        (TeamAroundFamily, None),
        (Review, None),
    ):
        added = await copy_rows(session, model.__table__, rows[model])
        if label:
            counts[label] = added
    return counts
