"""The referrals side of the demo: each family's people and referral as drawn, and loading them into referrals.

Each demo family was referred once, by a maternity service (recent families only: an expected delivery date is
never long past) or a school; the referral names the people cases knows the family by.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from earlyhelp.demo.identifiers import PEOPLE_PER_FAMILY, demo_uuid, nhs_number, upn
from earlyhelp.demo.loading import Progress, chunks

TRIAGE_OUTCOMES = ("signposted", "no_further_action", "stepped_up", "withdrawn")
MATERNITY_AGENCIES = ("MAT-LTH", "MAT-BRAD")
SCHOOL_AGENCIES = (("SCH-LS-001", "107950"), ("SCH-LS-014", "108012"))
MATERNITY_NEEDS = ("health", "early_years", "housing", "domestic_abuse", "financial_stability")
SCHOOL_NEEDS = ("education", "family_relationships", "health", "crime", "financial_stability")
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


class OtherDemoPresent(Exception):
    """The databases hold demo data of another seed: the two would share NHS numbers and UPNs."""


def at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randrange(8, 17), rng.randrange(60)), tzinfo=UTC)


def postcode(rng: random.Random, hub: str) -> str:
    from referrals.triage.hubs import district_to_hub

    districts = sorted(d for d, h in district_to_hub().items() if h == hub)
    return f"{rng.choice(districts)} {rng.randrange(1, 10)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


def address(rng: random.Random, fake: Any) -> str:
    return f"{rng.randrange(1, 240)} {fake.last_name()} {rng.choice(STREETS)}, Leeds"


@dataclass
class People:
    """One family's people as they are drawn, each in its own identifier slot (`index * PEOPLE_PER_FAMILY + n`)."""

    seed: int
    index: int
    surname: str
    today: date
    rng: random.Random
    people: list[dict[str, Any]] = field(default_factory=list)

    def add(self, ref: str, role: str, given: str, born: date, **extra: Any) -> None:
        position = len(self.people)
        serial = self.index * PEOPLE_PER_FAMILY + position
        self.people.append(
            {
                "position": position,
                "ref": ref,
                "role": role,
                "given_name": given,
                "family_name": self.surname,
                "date_of_birth": born,
                "nhs_number": nhs_number(serial),
                "upn": extra.pop("upn", None),
                "person_id": demo_uuid(self.seed, "demo-person", self.index, position),
                **extra,
            }
        )

    def born(self, min_years: float, max_years: float) -> date:
        return self.today - timedelta(days=self.rng.randrange(int(min_years * 365) + 1, int(max_years * 365)))


def maternity(fake: Any, drawn: People) -> dict[str, Any]:
    """An expectant parent (perhaps with a partner and young children) and the maternity referral's details."""
    rng = drawn.rng
    mother_born = drawn.born(17, 40)
    drawn.add("expectant_parent", "parent_carer", fake.first_name_female(), mother_born)
    if rng.random() < 0.5:
        drawn.add("other_parent", "parent_carer", fake.first_name_male(), mother_born - timedelta(days=700))
    for n in range(rng.randrange(0, 3)):
        drawn.add(f"child_{n + 1}", "child", fake.first_name(), drawn.born(0.2, 4.5))
    return {
        "agency": MATERNITY_AGENCIES[drawn.index % 2],
        "agency_type": "maternity",
        "needs": sorted(rng.sample(MATERNITY_NEEDS, rng.randrange(1, 4))),
        "expected_delivery_date": drawn.today + timedelta(weeks=rng.randrange(4, 30)),
        "gestation_weeks": rng.randrange(10, 36),
        "vulnerabilities": sorted(rng.sample(VULNERABILITIES, rng.randrange(1, 3))),
    }


def school(fake: Any, drawn: People, days_ago: int, received_day: date) -> dict[str, Any]:
    """A pupil, their parents (and perhaps a sibling known to cases only) and the school referral's details."""
    rng, index = drawn.rng, drawn.index
    pupil_born = drawn.born(5, 16) - timedelta(days=days_ago)
    age = (
        received_day.year
        - pupil_born.year
        - ((received_day.month, received_day.day) < (pupil_born.month, pupil_born.day))
    )
    drawn.add(
        "pupil",
        "young_person" if age >= 13 else "child",
        fake.first_name(),
        pupil_born,
        upn=upn(index * PEOPLE_PER_FAMILY),
        year_group=min(max(age - 5, 0), 11),
    )
    parent_born = pupil_born - timedelta(days=365 * rng.randrange(20, 36))
    drawn.add("parent_1", "parent_carer", fake.first_name_female(), parent_born)
    if rng.random() < 0.4:
        drawn.add("parent_2", "parent_carer", fake.first_name_male(), parent_born - timedelta(days=400))
    if rng.random() < 0.5:  # a sibling at school too, not named in the referral but known to cases
        sibling_born = pupil_born + timedelta(days=rng.randrange(400, 1500))
        drawn.add(
            "sibling",
            "child",
            fake.first_name(),
            min(sibling_born, drawn.today - timedelta(days=900)),
            upn=upn(index * PEOPLE_PER_FAMILY + len(drawn.people)),
            in_referral=False,
        )
    agency, urn = SCHOOL_AGENCIES[index % 2]
    return {
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


def decision(
    stage: str, index: int, stage_count: int, received_at: datetime, rng: random.Random
) -> tuple[str, datetime | None, datetime | None]:
    """The referral's status for the family's stage, when it was screened and when it was decided."""
    triage = TRIAGE_OUTCOMES[(index // stage_count) % len(TRIAGE_OUTCOMES)] if stage == "triaged" else None
    status = {"received": "received", "screening": "screening", "matched": "screening"}.get(stage, triage or "accepted")
    screened_at = received_at + timedelta(hours=rng.randrange(1, 20)) if status != "received" else None
    decided_at = screened_at + timedelta(hours=rng.randrange(1, 30)) if screened_at and status != "screening" else None
    return status, screened_at, decided_at


async def load(
    session: AsyncSession, plan: Sequence[dict[str, Any]], *, seed: int, chunk: int, report: Progress
) -> int:
    """Insert the demo families' referrals; how many were new. Refused when demo data of another seed is here."""
    from referrals.seed import load_demo_referrals, other_demo_present

    if await other_demo_present(session, seed):
        raise OtherDemoPresent(
            f"the databases already hold demo data of another seed (or an older demo); seed {seed} would reuse"
            " its NHS numbers and UPNs: use that seed again, or start from empty databases"
        )
    added = 0
    for done, part in enumerate(chunks(plan, chunk)):
        added += await load_demo_referrals(session, part)
        report("referrals", min((done + 1) * chunk, len(plan)), len(plan))
    return added
