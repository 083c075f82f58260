"""Deterministic demo referrals: every status, across the three demo hubs, from maternity units and schools.

The same seed gives the same referrals (ids, people, identifiers, statuses). Times are laid out backwards
from `anchor` (by default 09:00 UTC yesterday), so the queue always shows some referrals within their
deadline and some breached. Seeding twice does nothing the second time.

Two entry points: `seed_demo`, a small stand-alone set whose people are invented here (for this service's tests),
and `load_demo_referrals`, the referrals of the platform demo (`earlyhelp seed --demo`), whose families are
drawn once by `earlyhelp.demo` so that they name the same people as the cases demo.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.gb import upn as upn_lib

from referrals.config import Settings
from referrals.intake.lawful_basis import lawful_basis_of
from referrals.intake.people import kind_details, people_of, person_row
from referrals.intake.repository import IntakeRepository
from referrals.intake.schemas import MaternityReferralCreate, ReferralCreate, SchoolReferralCreate
from referrals.intake.service import IntakeService
from referrals.models import STATUSES, Referral, ReferralPerson, StatusChange, platform
from referrals.triage.hubs import allocate_hub, district_to_hub
from referrals.triage.repository import ReferralRepository
from referrals.triage.schemas import DecisionCreate, WithdrawalCreate
from referrals.triage.service import TriageService
from referrals.triage.working_days import decision_due_at
from shared.audit import record_access
from shared.auth import Principal
from shared.db import copy_rows
from shared.identifiers import with_nhs_check_digit

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
        if number := with_nhs_check_digit(f"{rng.randrange(400_000_000, 999_999_999):09d}"):
            return number


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
    repo = IntakeRepository(session)
    if await repo.any_with_reference_prefix(DEMO_PREFIX):
        return False
    rng = random.Random(seed)
    # Yesterday morning, so that every derived time (consent, screening, decisions) is in the past whenever this runs.
    anchor = anchor or datetime.combine(datetime.now(UTC).date() - timedelta(days=1), time(9, 0), tzinfo=UTC)
    intake = IntakeService(repo, Settings())
    triage = TriageService(ReferralRepository(session))
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
        referral, _ = await intake.store(
            referrer,
            payload,
            people=people_of(payload, received.date()),
            needs=list(payload.needs),
            matches=None,
            now=received,
            referral_id=_uuid(rng),
        )
        step = received + timedelta(hours=2)
        if status != "received":
            await triage.start_screening(manager, referral.id, None, at=step)
        if status == "withdrawn":
            await triage.withdraw(
                manager,
                referral.id,
                WithdrawalCreate(reason="Family moved out of the area."),
                at=step + timedelta(hours=1),
            )
        elif status in DECISIONS:
            await triage.decide(
                manager,
                referral.id,
                DecisionCreate(decision=status, reason=DECISIONS[status]),
                at=step + timedelta(hours=1),
            )
            if status == "accepted":
                accepted.append(str(referral.id))
    return {"referrals_seeded": count, "accepted_referral_ids": accepted}


# --- the platform demo (`earlyhelp seed --demo`): families drawn by `earlyhelp.demo`, loaded in bulk -----------


def _demo_payload(family: dict[str, Any]) -> ReferralCreate:
    """The referral the family's referrer sent, validated as the API would validate it."""
    listed = [p for p in family["people"] if p.get("in_referral", True)]
    received: datetime = family["received_at"]

    def person(p: dict[str, Any], *, nhs: bool, where: bool = False) -> dict[str, Any]:
        out = {"given_name": p["given_name"], "family_name": p["family_name"], "date_of_birth": p["date_of_birth"]}
        if nhs:
            out["nhs_number"] = p["nhs_number"]
        if where:
            out |= {"postcode": family["postcode"], "address": family["address"]}
        return out

    first_parent = next(p for p in listed if p["role"] == "parent_carer")
    consent: dict[str, Any] = {"given": False}
    if family["consent_given"]:
        consent = {
            "given": True,
            "given_by": f"{first_parent['given_name']} {first_parent['family_name']}",
            "recorded_at": received - timedelta(hours=3),
            "method": family["consent_method"],
        }
    common: dict[str, Any] = {
        "external_reference": family["external_reference"],
        "reason": f"Demo referral: {family['reason']}",
        "safeguarding_concern": family["safeguarding_concern"],
        "lawful_basis": "consent" if family["consent_given"] else "public_task",
        "needs": family["needs"],
        "consent": consent,
    }
    if family["kind"] == "maternity":
        by_ref = {p["ref"]: p for p in listed}
        # Health records give the midwife everyone's NHS number.
        return MaternityReferralCreate.model_validate(
            common
            | {
                "referrer": {"name": "Demo Community Midwife", "role": "midwife"},
                "expectant_parent": person(by_ref["expectant_parent"], nhs=True, where=True),
                "other_parent": person(by_ref["other_parent"], nhs=True) if "other_parent" in by_ref else None,
                "children": [person(p, nhs=True) for p in listed if p["ref"].startswith("child_")],
                "expected_delivery_date": family["expected_delivery_date"],
                "gestation_weeks": family["gestation_weeks"],
                "vulnerabilities": family["vulnerabilities"],
            }
        )
    pupil = next(p for p in listed if p["ref"] == "pupil")
    # A school knows the pupil's UPN, not anyone's NHS number.
    return SchoolReferralCreate.model_validate(
        common
        | {
            "referrer": {"name": "Demo Designated Safeguarding Lead", "role": "DSL"},
            "school_urn": family["school_urn"],
            "pupil": person(pupil, nhs=False, where=True) | {"upn": pupil["upn"], "year_group": pupil["year_group"]},
            "parents": [person(p, nhs=False) for p in listed if p["ref"].startswith("parent_")],
            "attendance": family["attendance"],
            "suspensions_this_year": family["suspensions_this_year"],
            "permanently_excluded": False,
            "sen_status": family["sen_status"],
            "transition": family["transition"],
        }
    )


async def other_demo_present(session: AsyncSession, seed: int) -> bool:
    """Whether demo referrals of another seed (or of the small stand-alone demo) are here already."""
    ours = f"{DEMO_PREFIX}{seed}-"
    query = select(Referral.id).where(
        Referral.external_reference.startswith(DEMO_PREFIX, autoescape=True),
        ~Referral.external_reference.startswith(ours, autoescape=True),
    )
    return (await session.scalar(query.limit(1))) is not None


async def load_demo_referrals(session: AsyncSession, families: Sequence[dict[str, Any]]) -> int:
    """Insert the referrals of demo families (`earlyhelp.demo.demo_families`) in bulk; returns how many were new.

    The rows are what intake, screening, the decision and the case link would have written (the same derived
    values: hub allocation, decision deadline, kind details, people and their roles); referrals already present
    (same id) are skipped, and the new ones are written with COPY. No outbox events are written: the demo is
    history whose events were delivered (cases holds the demo cases already), and no partner system has heard of it.
    """
    settings = Settings()
    ids = [f["referral_id"] for f in families]
    present = set((await session.scalars(select(Referral.id).where(Referral.id.in_(ids)))).all()) if ids else set()
    referrals: list[dict[str, Any]] = []
    people_rows: list[dict[str, Any]] = []
    history_rows: list[dict[str, Any]] = []
    for family in (f for f in families if f["referral_id"] not in present):
        payload = _demo_payload(family)
        received: datetime = family["received_at"]
        people = people_of(payload, received.date())
        referral_id: uuid.UUID = family["referral_id"]
        hub = family["hub"]
        manager = f"demo-{hub}-0"
        primary = people[0].person
        allocation = allocate_hub(primary.postcode, default_hub=settings.default_hub)
        status = family["status"]
        decided = status in ("accepted", "signposted", "no_further_action", "stepped_up")
        reason = DECISIONS.get(status) or ("Family moved out of the area." if status == "withdrawn" else None)
        case = family["case"]
        referrals.append(
            {
                "id": referral_id,
                "kind": family["kind"],
                "status": status,
                "agency": family["agency"],
                "agency_type": family["agency_type"],
                "created_by": f"demo-{family['agency'].lower()}",
                "external_reference": payload.external_reference,
                "hub": allocation.hub,
                "hub_defaulted": allocation.defaulted,
                "postcode": primary.postcode,
                "address": primary.address,
                "safeguarding_concern": payload.safeguarding_concern,
                "needs": list(payload.needs),
                "reason": payload.reason,
                "referrer": payload.referrer.model_dump(mode="json", exclude_none=True),
                "consent": payload.consent.model_dump(mode="json"),
                "consent_given": payload.consent.given,
                "lawful_basis": lawful_basis_of(payload),
                "details": kind_details(payload),
                "expected_delivery_date": getattr(payload, "expected_delivery_date", None),
                "received_at": received,
                "decision_due_at": decision_due_at(received, settings.decision_working_days),
                "decided_at": family["decided_at"] if decided else None,
                "decided_by": manager if decided else None,
                "decision_outcome": status if decided else None,
                "decision_reason": reason if decided else None,
                "withdrawn_at": family["decided_at"] if status == "withdrawn" else None,
                "matching": "completed",
                "matching_attempts": 0,
                "matching_next_at": None,
                "family_id": family["family_id"] if case is not None else None,
                "case_id": case["case_id"] if case is not None else None,
                "updated_at": family["decided_at"] or family["screened_at"] or received,
            }
        )
        known = family["stage"] == "matched"  # its people are in the person index already
        by_ref = {p["ref"]: p for p in family["people"]}
        people_rows.extend(
            person_row(
                referral_id,
                i,
                p,
                row_id=uuid.uuid5(referral_id, p.ref),
                match_status="matched" if known else "no_match",
                matched_person_id=by_ref[p.ref]["person_id"] if known else None,
            )
            for i, p in enumerate(people)
        )
        partner = f"demo-{family['agency'].lower()}@{family['agency']}"
        history_rows.append(
            {
                "referral_id": referral_id,
                "from_status": None,
                "to_status": "received",
                "changed_at": received,
                "changed_by": partner,
                "reason": None,
            }
        )
        if family["screened_at"] is not None:
            history_rows.append(
                {
                    "referral_id": referral_id,
                    "from_status": "received",
                    "to_status": "screening",
                    "changed_at": family["screened_at"],
                    "changed_by": f"{manager}@LCC",
                    "reason": None,
                }
            )
        if status not in ("received", "screening"):
            history_rows.append(
                {
                    "referral_id": referral_id,
                    "from_status": "screening",
                    "to_status": status,
                    "changed_at": family["decided_at"],
                    "changed_by": f"{manager}@LCC",
                    "reason": reason,
                }
            )
    if not referrals:
        return 0
    await copy_rows(session, Referral.__table__, referrals)
    await copy_rows(session, ReferralPerson.__table__, people_rows)
    await copy_rows(session, StatusChange.__table__, history_rows)
    added = [r["id"] for r in referrals]
    await record_access(
        session,
        platform,
        actor="demo-seed",
        action="create",
        record_type="referral",
        record_ids=added,
        purpose="demo data",
    )
    return len(added)
