"""One deterministic synthetic demo dataset of N families across the three services.

`demo_families(n, seed)` draws the families: each family's people (Faker `en_GB` names; NHS numbers from the
synthetic 999 range with a valid check digit; UPNs valid but fictional), its referral and, from "case open" on,
its case in the cases service. Family `i` depends only on the seed and `i` (its own random generator), so a
larger N adds families without changing the first ones. Stages rotate with the index, so every stage appears in
every hub from 30 families up:

| stage | referrals | cases | outcomes |
|---|---|---|---|
| received | received (within or past its deadline) | - | - |
| screening | screening | - | - |
| triaged | signposted, no further action, stepped up or withdrawn | - | - |
| matched | screening; its people matched to the person index | a family from an earlier closed case | - |
| open | accepted, linked to the case | open case, no lead worker yet | - |
| assessment | accepted | assessment in progress, lead worker | - |
| plan | accepted | assessed, active plan | enrolled, observations |
| review | accepted | plan reviewed | enrolled, observations |
| closed | accepted | closed | enrolled and closed, observations (some claimable, some not) |
| sustained | accepted | closed long ago | enrolled and closed, sustained progress |

A referral names the same people (names, dates of birth, NHS numbers, UPNs) as the family in cases. Each service
loads its part in bulk (`referrals.seed.load_demo_referrals`, `cases.seed.load_demo_families`); outcomes learns
about the families the way it learns about real ones — from `case.assessment_completed` and `case.closed`
payloads built from the cases data and given to the outcomes service's own handlers — then gets three years of
observations (`outcomes.seed.seed_demo`). Every row has a fixed id or natural key, so running twice changes nothing.
"""

from __future__ import annotations

import functools
import math
import random
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from earlyhelp.platform import CASES, OUTCOMES, REFERRALS, Part
from shared.contracts import ActiveFramework, AssessedPerson, AssessmentCompleted, CaseClosed, eligibility
from shared.db import async_url
from shared.identifiers import with_nhs_check_digit
from shared.migrate import with_database

STAGES = ("received", "screening", "triaged", "matched", "open", "assessment", "plan", "review", "closed", "sustained")
HUBS = ("north", "central", "south")
CASE_STAGES = ("open", "assessment", "plan", "review", "closed", "sustained")
ENROLLED_STAGES = ("plan", "review", "closed", "sustained")
TRIAGE_OUTCOMES = ("signposted", "no_further_action", "stepped_up", "withdrawn")
MAX_FAMILIES = 60_000
"""NHS numbers are drawn without repeats from the 999 range: room for about this many families."""
MATERNITY_AGENCIES = ("MAT-LTH", "MAT-BRAD")
SCHOOL_AGENCIES = (("SCH-LS-001", "107950"), ("SCH-LS-014", "108012"))
MATERNITY_NEEDS = ("health", "early_years", "housing", "domestic_abuse", "financial_stability")
SCHOOL_NEEDS = ("education", "family_relationships", "health", "crime", "financial_stability")
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
VULNERABILITIES = ("perinatal_mental_health", "substance_use", "domestic_abuse", "parent_under_20", "housing")
STREETS = ("Road", "Street", "Lane", "Avenue", "Grove", "Terrace", "Crescent", "Close", "Mount", "View")
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
REASONS = {
    "maternity": (
        "low mood and isolation in pregnancy",
        "rent arrears and overcrowding before the birth",
        "worries about a partner's drinking",
        "first baby, no family support nearby",
    ),
    "school": (
        "falling attendance and conflict at home",
        "late most mornings, parent unwell",
        "angry outbursts in class after a family bereavement",
        "rent arrears and overcrowding",
    ),
}
PEOPLE_PER_FAMILY = 8
"""Person slots per family index (NHS numbers and UPNs are drawn from `index * PEOPLE_PER_FAMILY + position`)."""
Progress = Callable[[str, int, int], None]
"""`progress(phase, done, total)`: called as each part is loaded (referrals, cases, enrolments, observations)."""
PHASES = ("referrals", "cases", "enrolments", "observations")


class OtherDemoPresent(Exception):
    """The databases hold demo data of another seed: the two would share NHS numbers and UPNs."""


def demo_uuid(seed: int, kind: str, *parts: object) -> uuid.UUID:
    """The id of a demo record; the same as `cases.seed.demo_id`, so every service agrees on it."""
    from cases.seed import demo_id

    return demo_id(seed, kind, *parts)


def nhs_number(serial: int) -> str:
    """A distinct NHS number in the synthetic 999 range (never issued to a patient) with a valid check digit.

    Slots `2k` and `2k + 1` differ only in the last body digit (weight 2), so at most one of them has the
    invalid check value 10; slot numbers are scattered by a bijection on [0, 500 000) so that neighbours in a
    family do not get neighbouring numbers.
    """
    if not 0 <= serial < 500_000:
        raise ValueError("the 999 range holds 500,000 demo NHS numbers")
    slot = (serial * 48_271) % 500_000
    for body in (999_000_000 + 2 * slot, 999_000_000 + 2 * slot + 1):
        if number := with_nhs_check_digit(str(body)):
            return number
    raise AssertionError("unreachable: two neighbouring bodies cannot both have check value 10")


def upn(serial: int) -> str:
    """A distinct UPN with a correct check letter, for a fictional school in local authority 801."""
    from stdnum.gb import upn as upn_lib

    body = f"801{(serial * 7_368_787) % 1_000_000_000:09d}"
    return str(upn_lib.calc_check_digit(body)) + body


def _postcode(rng: random.Random, hub: str) -> str:
    from referrals.triage.hubs import district_to_hub

    districts = sorted(d for d, h in district_to_hub().items() if h == hub)
    return f"{rng.choice(districts)} {rng.randrange(1, 10)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


DEMO_FRAMEWORK = "supporting-families-2022"


@functools.cache
def demo_framework() -> ActiveFramework:
    """The built-in framework the demo families are assessed against, as the outcomes service serves it."""
    from outcomes.frameworks.service import builtin_frameworks, canonical

    found = next(f for f in builtin_frameworks() if f.code == DEMO_FRAMEWORK)
    return ActiveFramework.model_validate(canonical(found))


def _assess(case: dict[str, Any], roles: list[str]) -> None:
    """Decide a demo assessment's eligibility with the rule real assessments go through (`shared.contracts`)."""
    framework = demo_framework()
    rule = eligibility(framework, case["needs"], roles)
    case["framework"], case["framework_version"] = framework.code, framework.version
    case["eligible"], case["eligibility_reasons"] = rule.eligible, rule.reasons


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randrange(8, 17), rng.randrange(60)), tzinfo=UTC)


def _family(seed: int, index: int, today: date, fake: Any) -> dict[str, Any]:
    fake.seed_instance(f"earlyhelp-demo:{seed}:{index}")
    rng: random.Random = fake.random
    stage = STAGES[index % len(STAGES)]
    hub = HUBS[index % len(HUBS)]
    recent = stage in ("received", "screening", "triaged", "matched", "open", "assessment")
    # Maternity referrals only for recent families (an expected delivery date is never long past); older ones
    # came from schools.
    kind = "maternity" if recent and index % 2 == 0 else "school"
    surname = fake.last_name()
    postcode = _postcode(rng, hub)
    address = f"{rng.randrange(1, 240)} {fake.last_name()} {rng.choice(STREETS)}, Leeds"
    # When the referral arrived: the open queue within the last fortnight (some past their deadline), the rest
    # earlier the further on the family is.
    days_ago = {
        "received": 0,
        "screening": 0,
        "triaged": 2,
        "matched": 0,
        "open": 12,
        "assessment": 35,
        "plan": 150,
        "review": 260,
        "closed": 560,
        "sustained": 760,
    }[stage]
    received_day = today - timedelta(days=1 + days_ago + rng.randrange(0, 12 if recent else 60))
    received_at = _at(received_day, rng)
    people: list[dict[str, Any]] = []

    def person(ref: str, role: str, given: str, born: date, **extra: Any) -> None:
        position = len(people)
        serial = index * PEOPLE_PER_FAMILY + position
        people.append(
            {
                "position": position,
                "ref": ref,
                "role": role,
                "given_name": given,
                "family_name": surname,
                "date_of_birth": born,
                "nhs_number": nhs_number(serial),
                "upn": extra.pop("upn", None),
                "person_id": demo_uuid(seed, "demo-person", index, position),
                **extra,
            }
        )

    def born(min_years: float, max_years: float) -> date:
        return today - timedelta(days=rng.randrange(int(min_years * 365) + 1, int(max_years * 365)))

    details: dict[str, Any]
    if kind == "maternity":
        mother_born = born(17, 40)
        person("expectant_parent", "parent_carer", fake.first_name_female(), mother_born)
        if rng.random() < 0.5:
            person("other_parent", "parent_carer", fake.first_name_male(), mother_born - timedelta(days=700))
        for n in range(rng.randrange(0, 3)):
            person(f"child_{n + 1}", "child", fake.first_name(), born(0.2, 4.5))
        agency = MATERNITY_AGENCIES[index % 2]
        details = {
            "agency": agency,
            "agency_type": "maternity",
            "needs": sorted(rng.sample(MATERNITY_NEEDS, rng.randrange(1, 4))),
            "expected_delivery_date": today + timedelta(weeks=rng.randrange(4, 30)),
            "gestation_weeks": rng.randrange(10, 36),
            "vulnerabilities": sorted(rng.sample(VULNERABILITIES, rng.randrange(1, 3))),
        }
    else:
        pupil_born = born(5, 16) - timedelta(days=days_ago)
        age = (
            received_day.year
            - pupil_born.year
            - ((received_day.month, received_day.day) < (pupil_born.month, pupil_born.day))
        )
        person(
            "pupil",
            "young_person" if age >= 13 else "child",
            fake.first_name(),
            pupil_born,
            upn=upn(index * PEOPLE_PER_FAMILY),
            year_group=min(max(age - 5, 0), 11),
        )
        parent_born = pupil_born - timedelta(days=365 * rng.randrange(20, 36))
        person("parent_1", "parent_carer", fake.first_name_female(), parent_born)
        if rng.random() < 0.4:
            person("parent_2", "parent_carer", fake.first_name_male(), parent_born - timedelta(days=400))
        if rng.random() < 0.5:  # a sibling at school too, not named in the referral but known to cases
            sibling_born = pupil_born + timedelta(days=rng.randrange(400, 1500))
            person(
                "sibling",
                "child",
                fake.first_name(),
                min(sibling_born, today - timedelta(days=900)),
                upn=upn(index * PEOPLE_PER_FAMILY + len(people)),
                in_referral=False,
            )
        agency, urn = SCHOOL_AGENCIES[index % 2]
        details = {
            "agency": agency,
            "agency_type": "school",
            "school_urn": urn,
            "needs": sorted(rng.sample(SCHOOL_NEEDS, rng.randrange(1, 4))),
            "attendance": {
                "current_term_percent": round(rng.uniform(55, 95), 1),
                "last_three_terms_percent": [round(rng.uniform(60, 98), 1) for _ in range(3)],
                "unauthorised_absence_sessions": rng.randrange(0, 40),
            },
            "suspensions_this_year": rng.randrange(0, 4),
            "sen_status": rng.choice(("none", "none", "sen_support", "ehcp")),
            "transition": rng.random() < 0.2,
        }
    triage = TRIAGE_OUTCOMES[(index // len(STAGES)) % len(TRIAGE_OUTCOMES)] if stage == "triaged" else None
    status = {"received": "received", "screening": "screening", "matched": "screening"}.get(stage, triage or "accepted")
    screened_at = received_at + timedelta(hours=rng.randrange(1, 20)) if status != "received" else None
    decided_at = screened_at + timedelta(hours=rng.randrange(1, 30)) if screened_at and status != "screening" else None
    family: dict[str, Any] = {
        "index": index,
        "stage": stage,
        "hub": hub,
        "kind": kind,
        "family_name": surname,
        "postcode": postcode,
        "address": address,
        "people": people,
        "status": status,
        "received_at": received_at,
        "screened_at": screened_at,
        "decided_at": decided_at,
        "referral_id": demo_uuid(seed, "demo-referral", index),
        "external_reference": f"DEMO-{seed}-{index:06d}",
        "reason": rng.choice(REASONS[kind]),
        "safeguarding_concern": status == "stepped_up",
        "consent_given": status == "accepted" or rng.random() < 0.6,
        "consent_method": rng.choice(("verbal", "written")),
        "family_id": None,
        "case": None,
        "previous_case": None,
        "profile": None,
        **details,
    }
    if stage == "matched":  # known to cases from an earlier episode that closed before any assessment
        opened = received_day - timedelta(days=rng.randrange(500, 900))
        family["family_id"] = demo_uuid(seed, "demo-family", index)
        family["previous_case"] = {
            "case_id": demo_uuid(seed, "demo-previous-case", index),
            "opened_at": _at(opened, rng),
            "closed_on": opened + timedelta(days=rng.randrange(20, 60)),
            "outcome": rng.choice(("disengaged", "moved_away", "stepped_down")),
        }
    if stage in CASE_STAGES:
        assert decided_at is not None
        opened_on = decided_at.date()
        case: dict[str, Any] = {
            "case_id": demo_uuid(seed, "demo-case", index),
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
            needs = sorted(set(details["needs"]) | set(rng.sample(ASSESSED_NEEDS, rng.randrange(1, 3))))[:4]
            # A practitioner enrols a family that meets the criteria: needs of the 2022 framework's minimum of
            # three, topped up in a fixed order (the eligibility itself is decided by the rule, in `_assess`).
            needs += [n for n in ASSESSED_NEEDS if n not in needs][: max(0, 3 - len(needs))]
            case["needs"] = sorted(needs)
            case["assessed_on"] = min(opened_on + timedelta(days=rng.randrange(15, 40)), today - timedelta(days=1))
        if stage in ("review", "closed", "sustained"):
            case["reviewed_on"] = case["assessed_on"] + timedelta(days=rng.randrange(40, 80))
        if stage in ("closed", "sustained"):
            case["closed_on"] = case["assessed_on"] + timedelta(days=rng.randrange(150, 260))
            case["outcome"] = "needs_met" if stage == "sustained" or rng.random() < 0.7 else "disengaged"
        family["family_id"] = demo_uuid(seed, "demo-family", index)
        family["case"] = case
        if case["needs"] is not None:
            _assess(case, [p["role"] for p in people] + (["unborn"] if kind == "maternity" else []))
        if stage == "sustained":
            family["profile"] = "sustained"
        elif stage == "closed":
            family["profile"] = "claimable" if case["outcome"] == "needs_met" else "struggling"
        elif stage in ENROLLED_STAGES:
            family["profile"] = rng.choice(("claimable", "struggling"))
    return family


def demo_families(count: int, *, seed: int, today: date | None = None) -> list[dict[str, Any]]:
    """The demo families: the same `seed` (and day) gives the same families; family `i` is independent of `count`.

    Lead workers are shared out round-robin within each hub among `practitioners(count)` practitioners.
    """
    from faker import Faker

    if not 0 <= count <= MAX_FAMILIES:
        raise ValueError(f"between 0 and {MAX_FAMILIES} demo families")
    today = today or datetime.now(UTC).date()
    fake = Faker("en_GB")
    families = [_family(seed, i, today, fake) for i in range(count)]
    numbers = practitioner_numbers(count)
    assigned = dict.fromkeys(HUBS, 0)
    for family in families:
        case = family["case"]
        if case is not None and family["stage"] != "open":
            case["worker"] = numbers[assigned[family["hub"]] % len(numbers)]
            assigned[family["hub"]] += 1
    return families


def practitioner_numbers(count: int) -> list[int]:
    """Practitioner numbers per hub (their tokens' subjects are `demo-<hub>-<n>`): 1 to 3, then 10, 11 and on as needed.

    Enough that nobody's caseload of open cases passes the cap of 12; 9 is the hub's school liaison, 0 its manager.
    """
    active = math.ceil(count * 3 / len(STAGES) / len(HUBS))  # assessment, plan and review cases per hub
    extra = max(0, math.ceil(active / 10) - 3)
    return [1, 2, 3, *range(10, 10 + extra)]


# --- loading -----------------------------------------------------------------------------------------------


def _url(server_url: str, part: Part, urls: Mapping[str, str] | None) -> str:
    return (urls or {}).get(part.name) or with_database(server_url, part.database)


@asynccontextmanager
async def _transaction(url: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(async_url(url), poolclass=NullPool, hide_parameters=True)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


async def _case_events(
    session: AsyncSession, family_ids: Sequence[uuid.UUID] | None = None
) -> tuple[list[AssessmentCompleted], list[CaseClosed]]:
    """The `case.assessment_completed` and `case.closed` payloads (`shared.contracts`) of the assessed demo cases."""
    from cases.models import Assessment, Case, FamilyMember, Person

    query = select(Assessment, Case).join(Case, Case.id == Assessment.case_id).order_by(Case.family_id)
    if family_ids is not None:
        query = query.where(Case.family_id.in_(family_ids))
    assessed = (await session.execute(query)).all()
    families = {case.family_id for _, case in assessed}
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
    people: dict[Any, list[AssessedPerson]] = {}
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


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [items]


async def seed_all(
    server_url: str,
    *,
    families: int,
    seed: int,
    progress: Progress | None = None,
    chunk: int = 1000,
    urls: Mapping[str, str] | None = None,
) -> list[str]:
    """Seed referrals, cases and outcomes consistently; one transaction per service. Returns summary lines.

    Each service's database is `server_url` with the service's database name, or `urls[service]` when given.
    """
    from cases.seed import load_demo_families
    from outcomes.config import Settings as OutcomesSettings
    from outcomes.enrolment.endpoints import close_family_case, enrol_family
    from outcomes.frameworks.service import load_builtin_frameworks
    from outcomes.models import Enrolment
    from outcomes.seed import seed_demo as seed_outcomes
    from referrals.seed import load_demo_referrals, other_demo_present

    report = progress or (lambda _phase, _done, _total: None)
    plan = demo_families(families, seed=seed)
    lines = []
    async with _transaction(_url(server_url, REFERRALS, urls)) as session:
        if await other_demo_present(session, seed):
            raise OtherDemoPresent(
                f"the databases already hold demo data of another seed (or an older demo); seed {seed} would reuse"
                " its NHS numbers and UPNs: use that seed again, or start from empty databases"
            )
        added = 0
        for done, part in enumerate(_chunks(plan, chunk)):
            added += await load_demo_referrals(session, part)
            report("referrals", min((done + 1) * chunk, len(plan)), len(plan))
        lines.append(f"referrals: {added} demo referrals added ({len(plan) - added} already present)")
    async with _transaction(_url(server_url, CASES, urls)) as session:
        totals: dict[str, int] = {}
        for done, part in enumerate(_chunks(plan, chunk)):
            counts = await load_demo_families(session, part, seed=seed, practitioners=practitioner_numbers(len(plan)))
            totals = {k: totals.get(k, 0) + v for k, v in counts.items()}
            report("cases", min((done + 1) * chunk, len(plan)), len(plan))
        assessed = [f["family_id"] for f in plan if f["case"] is not None and f["case"]["assessed_on"] is not None]
        completed, closed = await _case_events(session, assessed)
        known = sum(1 for f in plan if f["family_id"] is not None)
        lines.append(
            f"cases: {known} of the {len(plan)} demo families are known to cases (the others' referrals are not "
            "yet accepted); " + ", ".join(f"{n} {what} added" for what, n in totals.items())
        )
    settings = OutcomesSettings()
    async with _transaction(_url(server_url, OUTCOMES, urls)) as session:
        await load_builtin_frameworks(session)  # as the service does on start, so the demo can be evaluated at once
        enrolled = set(
            (
                await session.scalars(
                    select(Enrolment.family_id).where(Enrolment.programme_phase == settings.programme_phase)
                )
            ).all()
        )
        new = [d for d in completed if d.family_id not in enrolled]
        new_ids = {d.family_id for d in new}
        closures = [d for d in closed if d.family_id in new_ids]
        # One family at a time through the handlers of `case.assessment_completed` and `case.closed`; the
        # progress counts families enrolled (their closures are part of the same step).
        for n, data in enumerate(new, start=1):
            await enrol_family(session, settings, data.model_dump(mode="json"), actor="demo-seed")
            if n % 100 == 0:
                report("enrolments", n, len(new))
        for closure in closures:
            await close_family_case(session, settings, closure.model_dump(mode="json"), actor="demo-seed")
        report("enrolments", len(new), len(new))
        report("observations", 0, 1)
        profiles = {f["family_id"]: f["profile"] for f in plan if f["family_id"] is not None and f["profile"]}
        observed = await seed_outcomes(
            session,
            seed=seed,
            family_ids=sorted(new_ids),
            settings=settings,
            profiles={k: v for k, v in profiles.items() if k in new_ids},
            until=datetime.now(UTC).date(),
        )
        report("observations", 1, 1)
        lines.append(
            f"outcomes: {len(new)} assessed families enrolled ({len(enrolled)} already), {len(closures)} of them "
            f"with a closed case, observations for {len(observed)}"
        )
    return lines
