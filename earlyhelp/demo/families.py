"""The demo families as drawn: each family's stage, hub, people, referral and case.

Family `i` depends only on the seed and `i` (its own random generator), so a larger N adds families without
changing the first ones. Stages rotate with the index, so every stage appears in every hub from 30 families up.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from earlyhelp.demo import cases, referrals
from earlyhelp.demo.identifiers import MAX_FAMILIES, demo_uuid

STAGES = ("received", "screening", "triaged", "matched", "open", "assessment", "plan", "review", "closed", "sustained")
HUBS = ("north", "central", "south")
RECENT_STAGES = ("received", "screening", "triaged", "matched", "open", "assessment")
DAYS_AGO = {
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
}
"""When the referral arrived: the open queue within the last fortnight (some past their deadline), the rest
earlier the further on the family is."""


def _family(seed: int, index: int, today: date, fake: Any) -> dict[str, Any]:
    fake.seed_instance(f"earlyhelp-demo:{seed}:{index}")
    rng: random.Random = fake.random
    stage = STAGES[index % len(STAGES)]
    hub = HUBS[index % len(HUBS)]
    recent = stage in RECENT_STAGES
    kind = "maternity" if recent and index % 2 == 0 else "school"
    surname = fake.last_name()
    postcode = referrals.postcode(rng, hub)
    address = referrals.address(rng, fake)
    days_ago = DAYS_AGO[stage]
    received_day = today - timedelta(days=1 + days_ago + rng.randrange(0, 12 if recent else 60))
    received_at = referrals.at(received_day, rng)
    drawn = referrals.People(seed, index, surname, today, rng)
    if kind == "maternity":
        details = referrals.maternity(fake, drawn)
    else:
        details = referrals.school(fake, drawn, days_ago, received_day)
    status, screened_at, decided_at = referrals.decision(stage, index, len(STAGES), received_at, rng)
    family: dict[str, Any] = {
        "index": index,
        "stage": stage,
        "hub": hub,
        "kind": kind,
        "family_name": surname,
        "postcode": postcode,
        "address": address,
        "people": drawn.people,
        "status": status,
        "received_at": received_at,
        "screened_at": screened_at,
        "decided_at": decided_at,
        "referral_id": demo_uuid(seed, "demo-referral", index),
        "external_reference": f"DEMO-{seed}-{index:06d}",
        "reason": rng.choice(referrals.REASONS[kind]),
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
        family["family_id"] = demo_uuid(seed, "demo-family", index)
        family["previous_case"] = cases.previous_case(seed, index, received_day, rng)
    if stage in cases.CASE_STAGES:
        assert decided_at is not None
        cases.open_case(family, seed, decided_at, today, rng)
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
