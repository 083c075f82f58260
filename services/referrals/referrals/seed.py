"""Deterministic demo referrals: every status, across the three demo hubs, from maternity units and schools.

The same seed gives the same referrals (ids, people, identifiers, statuses). Times are laid out backwards
from `anchor` (by default 09:00 UTC yesterday), so the queue always shows some referrals within their
deadline and some breached. Seeding twice does nothing the second time.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.gb import upn as upn_lib

from referrals import service
from referrals.config import Settings
from referrals.hubs import district_to_hub
from referrals.models import STATUSES
from referrals.repository import ReferralRepository
from referrals.schemas import (
    DecisionCreate,
    MaternityReferralCreate,
    ReferralCreate,
    SchoolReferralCreate,
    WithdrawalCreate,
)
from referrals.service import people_of
from shared.auth import Principal

DEMO_PREFIX = "DEMO-"
HUBS = ("north", "central", "south")
GIVEN = ("Zoë", "Amira", "Olivia", "Thanh", "Siân", "Grace", "Aleksandra", "Chloe", "Fatima", "Niamh", "Ruby")
PARTNER_GIVEN = ("Liam", "Dariusz", "Kwame", "Jordan", "Tomasz", "Aidan", "Mohammed", "Connor")
CHILD_GIVEN = ("Mia", "Noah", "Isla", "Leo", "Aria", "Yusuf", "Freya", "Oscar", "Maja", "Theo")
FAMILY = ("O'Neill", "Nguyễn", "Smith", "Kowalski", "Okafor", "Hussain", "Brown", "Ó Súilleabháin", "Patel", "Walsh")
MATERNITY_AGENCIES = (("MAT-LTH", "maternity"), ("MAT-BRAD", "maternity"))
SCHOOL_AGENCIES = (("SCH-LS-001", "school", "107950"), ("SCH-LS-014", "school", "108012"))
VULNERABILITIES = ("perinatal_mental_health", "substance_use", "domestic_abuse", "parent_under_20", "housing")
MATERNITY_NEEDS = ("health", "early_years", "housing", "domestic_abuse", "financial_stability")
SCHOOL_NEEDS = ("education", "family_relationships", "health", "crime", "financial_stability")
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
DECISIONS = {
    "accepted": "Family agrees to early help; allocated for whole-family assessment.",
    "signposted": "Needs met by universal services; signposted to the family hub's parenting group.",
    "no_further_action": "Already supported by a lead practitioner; no further action.",
    "stepped_up": "Safeguarding concern: stepped up to children's social care the same day.",
}


def _nhs_number(rng: random.Random) -> str:
    while True:
        base = f"{rng.randrange(400_000_000, 999_999_999):09d}"
        check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(base)) % 11
        if check == 11:
            check = 0
        if check != 10:
            return base + str(check)


def _upn(rng: random.Random) -> str:
    body = f"801{rng.randrange(2000, 7000):04d}{rng.randrange(10, 25):02d}{rng.randrange(0, 1000):03d}"
    return str(upn_lib.calc_check_digit(body)) + body


def _postcode(rng: random.Random, hub: str) -> str:
    districts = sorted(d for d, h in district_to_hub().items() if h == hub)
    district = rng.choice(districts)
    return f"{district} {rng.randrange(1, 10)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _person(rng: random.Random, given: str, family: str, born: date, **extra: Any) -> dict[str, Any]:
    return {"given_name": given, "family_name": family, "date_of_birth": born.isoformat(), **extra}


def _consent(rng: random.Random, given: bool, at: datetime, by: str) -> dict[str, Any]:
    if not given:
        return {"given": False}
    return {"given": True, "given_by": by, "recorded_at": at.isoformat(), "method": rng.choice(("verbal", "written"))}


def _payload(rng: random.Random, i: int, status: str, hub: str, received: datetime) -> tuple[ReferralCreate, str, str]:
    today = received.date()
    family = rng.choice(FAMILY)
    postcode = _postcode(rng, hub)
    address = (
        f"{rng.randrange(1, 200)} {rng.choice(('Hyde Park Road', 'Tong Road', 'Dewsbury Road', 'Harehills Lane'))}"
    )
    consent_given = status == "accepted" or rng.random() < 0.6
    safeguarding = status == "stepped_up"
    common: dict[str, Any] = {
        "external_reference": f"{DEMO_PREFIX}{i:04d}",
        "reason": "Demo referral: "
        + rng.choice(
            (
                "low mood and isolation in pregnancy",
                "falling attendance and conflict at home",
                "rent arrears and overcrowding",
                "worries about a parent's drinking",
            )
        ),
        "safeguarding_concern": safeguarding,
        "lawful_basis": "consent" if consent_given else "public_task",
    }
    if i % 2 == 0:
        agency, agency_type = MATERNITY_AGENCIES[i % len(MATERNITY_AGENCIES)]
        parent_given = rng.choice(GIVEN)
        mother_born = date(today.year - rng.randrange(17, 40), rng.randrange(1, 13), rng.randrange(1, 28))
        children = [
            _person(rng, rng.choice(CHILD_GIVEN), family, today - timedelta(days=rng.randrange(60, 1700)))
            for _ in range(rng.randrange(0, 3))
        ]
        payload: ReferralCreate = MaternityReferralCreate.model_validate(
            common
            | {
                "referrer": {"name": "Demo Community Midwife", "role": "midwife"},
                "needs": sorted(rng.sample(MATERNITY_NEEDS, rng.randrange(1, 4))),
                "consent": _consent(rng, consent_given, received - timedelta(hours=3), f"{parent_given} {family}"),
                "expectant_parent": _person(
                    rng,
                    parent_given,
                    family,
                    mother_born,
                    nhs_number=_nhs_number(rng),
                    postcode=postcode,
                    address=address,
                ),
                "other_parent": _person(rng, rng.choice(PARTNER_GIVEN), family, mother_born - timedelta(days=700))
                if rng.random() < 0.5
                else None,
                "expected_delivery_date": (today + timedelta(weeks=rng.randrange(4, 30))).isoformat(),
                "gestation_weeks": rng.randrange(10, 36),
                "vulnerabilities": sorted(rng.sample(VULNERABILITIES, rng.randrange(1, 3))),
                "children": children,
            }
        )
        return payload, agency, agency_type
    agency, agency_type, urn = SCHOOL_AGENCIES[i % len(SCHOOL_AGENCIES)]
    pupil_born = date(today.year - rng.randrange(5, 16), rng.randrange(1, 13), rng.randrange(1, 28))
    parent_given = rng.choice(GIVEN)
    payload = SchoolReferralCreate.model_validate(
        common
        | {
            "referrer": {"name": "Demo Designated Safeguarding Lead", "role": "DSL"},
            "needs": sorted(rng.sample(SCHOOL_NEEDS, rng.randrange(1, 4))),
            "consent": _consent(rng, consent_given, received - timedelta(hours=5), f"{parent_given} {family}"),
            "school_urn": urn,
            "pupil": _person(
                rng,
                rng.choice(CHILD_GIVEN),
                family,
                pupil_born,
                postcode=postcode,
                address=address,
                upn=_upn(rng),
                year_group=min(max(today.year - pupil_born.year - 5, 0), 11),
            ),
            "parents": [_person(rng, parent_given, family, pupil_born - timedelta(days=365 * 28))],
            "attendance": {
                "current_term_percent": round(rng.uniform(55, 95), 1),
                "last_three_terms_percent": [round(rng.uniform(60, 98), 1) for _ in range(3)],
                "unauthorised_absence_sessions": rng.randrange(0, 40),
            },
            "suspensions_this_year": rng.randrange(0, 4),
            "permanently_excluded": False,
            "sen_status": rng.choice(("none", "none", "sen_support", "ehcp")),
            "transition": rng.random() < 0.2,
        }
    )
    return payload, agency, agency_type


async def seed_demo(
    session: AsyncSession, *, seed: int = 2026, count: int = 42, anchor: datetime | None = None
) -> dict[str, Any] | bool:
    """Create `count` demo referrals in every status across the three hubs; False if already seeded."""
    repo = ReferralRepository(session)
    if await repo.any_with_reference_prefix(DEMO_PREFIX):
        return False
    rng = random.Random(seed)
    # Yesterday morning, so that every derived time (consent, screening, decisions) is in the past whenever this runs.
    anchor = anchor or datetime.combine(datetime.now(UTC).date() - timedelta(days=1), time(9, 0), tzinfo=UTC)
    settings = Settings()
    manager = Principal(sub="demo-hub-manager", roles=frozenset({"admin"}), agency="LCC", agency_type="council")
    accepted: list[str] = []
    for i in range(count):
        status = STATUSES[i % len(STATUSES)]
        hub = HUBS[i % len(HUBS)]
        received = anchor - timedelta(days=(count - i) % 12, hours=rng.randrange(0, 8))
        payload, agency, agency_type = _payload(rng, i, status, hub, received)
        referrer = Principal(
            sub=f"demo-{agency.lower()}", roles=frozenset({"partner_system"}), agency=agency, agency_type=agency_type
        )
        referral, _ = await service.store_new_referral(
            repo=repo,
            principal=referrer,
            payload=payload,
            people=people_of(payload, received.date()),
            needs=list(payload.needs),
            matches=None,
            now=received,
            settings=settings,
            referral_id=_uuid(rng),
        )
        step = received + timedelta(hours=2)
        if status != "received":
            await service.start_screening(repo=repo, principal=manager, referral_id=referral.id, note=None, at=step)
        if status == "withdrawn":
            await service.withdraw(
                repo=repo,
                principal=manager,
                referral_id=referral.id,
                withdrawal=WithdrawalCreate(reason="Family moved out of the area."),
                at=step + timedelta(hours=1),
            )
        elif status in DECISIONS:
            await service.decide(
                repo=repo,
                principal=manager,
                referral_id=referral.id,
                decision=DecisionCreate(outcome=status, reason=DECISIONS[status]),
                at=step + timedelta(hours=1),
            )
            if status == "accepted":
                accepted.append(str(referral.id))
    return {"referrals_seeded": count, "accepted_referral_ids": accepted}
