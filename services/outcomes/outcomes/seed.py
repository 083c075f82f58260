"""Deterministic demo observations for enrolled demo families.

Enrolments come through the event contract (`case.assessment_completed`, sent by the demo seeding of cases);
`seed_demo` then generates three years of observations around each family's start date (18 months either
side) so that, evaluated today, some families are claimable, some are not, and some have sustained progress.
The same seed always produces the same observations, and running it twice changes nothing (natural keys).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from outcomes.config import Settings
from outcomes.models import Enrolment, EnrolmentMember, Person
from outcomes.observations.repository import ObservationsRepository
from outcomes.observations.schemas import ObservationBatch
from outcomes.observations.service import ObservationsService
from shared.auth import Principal

SEEDER = Principal(sub="demo-seed", roles=frozenset({"admin"}), agency="DEMO")
PROFILES = ("claimable", "struggling", "sustained")
BATCH_ROWS = 10_000  # the most an `ObservationBatch` holds


def _terms(start: date, until: date | None = None) -> list[tuple[date, date]]:
    """School terms from 18 months before to 18 months after `start` (only those ended by `until`)."""
    out = []
    for year in range(start.year - 2, start.year + 3):
        for (sm, sd), (em, ed) in (((1, 6), (3, 28)), ((4, 22), (7, 18)), ((9, 3), (12, 19))):
            t = (date(year, sm, sd), date(year, em, ed))
            if start - timedelta(days=548) <= t[0] <= start + timedelta(days=548) and (until is None or t[1] <= until):
                out.append(t)
    return out


def _rows_for(
    rng: random.Random, profile: str, enrolment: Enrolment, members: Sequence[Any], until: date | None = None
) -> list[dict[str, Any]]:
    """Observations of one family; with `until`, none dated after it (nothing is observed in the future)."""
    start = enrolment.start_date
    good = profile != "struggling"
    rows: list[dict[str, Any]] = []
    for m in members:
        pid = str(m.person_id)
        if m.role in ("child", "young_person"):
            for term_start, term_end in _terms(start, until):
                possible = rng.randint(110, 130)
                rate = rng.uniform(0.93, 0.99) if (good and term_start >= start) else rng.uniform(0.70, 0.88)
                rows.append(
                    {
                        "kind": "attendance",
                        "person_id": pid,
                        "term_start": term_start.isoformat(),
                        "term_end": term_end.isoformat(),
                        "possible_sessions": possible,
                        "attended_sessions": int(possible * rate),
                        "suspensions": 0 if good else rng.randint(0, 2),
                    }
                )
        else:
            for i in range(rng.randint(2, 4)):  # offending before the start
                on = start - timedelta(days=rng.randint(1, 170))
                rows.append({"kind": "offence", "person_id": pid, "occurred_on": on.isoformat(), "reference": f"b{i}"})
            for i in range(0 if good else rng.randint(2, 4)):
                on = start + timedelta(days=rng.randint(0, 170))
                rows.append({"kind": "offence", "person_id": pid, "occurred_on": on.isoformat(), "reference": f"a{i}"})
            job_start = start + timedelta(days=rng.randint(20, 60) if good else rng.randint(200, 400))
            rows.append(
                {
                    "kind": "employment",
                    "person_id": pid,
                    "status": "employed",
                    "period_start": job_start.isoformat(),
                    "period_end": None,
                }
            )
            rows.append(
                {
                    "kind": "housing",
                    "person_id": pid,
                    "status": "secure" if good else "temporary",
                    "period_start": (start - timedelta(days=30)).isoformat(),
                    "period_end": None,
                }
            )
    for need in enrolment.needs:
        rows.append(
            {
                "kind": "practitioner_assessment",
                "family_id": str(enrolment.family_id),
                "need": need,
                "met": good,
                "assessed_on": (start + timedelta(days=150)).isoformat(),
                "evidence": "Review with family and partners: goals achieved" if good else "Goals not yet met",
            }
        )
    if until is not None:
        rows = [
            r
            for r in rows
            if (r.get("occurred_on") or r.get("period_start") or r.get("assessed_on") or "") <= str(until)
        ]
    return rows


async def seed_demo(
    session: AsyncSession,
    *,
    seed: int,
    family_ids: Sequence[uuid.UUID],
    settings: Settings | None = None,
    profiles: Mapping[uuid.UUID, str] | None = None,
    until: date | None = None,
) -> dict[str, str]:
    """Generate observations for the given enrolled families; returns each family's profile.

    A family's profile is `profiles[family_id]` when given, else drawn from the seed; its observations depend only
    on the seed and the family, so seeding a few families or many gives each the same rows. With `until`, nothing
    is dated after it. Observations already present are left alone (natural keys).
    """
    settings = settings or Settings()
    enrolments = (
        await session.scalars(
            select(Enrolment)
            .where(Enrolment.family_id.in_(family_ids), Enrolment.programme_phase == settings.programme_phase)
            .order_by(Enrolment.family_id)
        )
    ).all()
    members = (
        await session.execute(
            select(EnrolmentMember.enrolment_id, EnrolmentMember.person_id, EnrolmentMember.role)
            .join(Person, Person.id == EnrolmentMember.person_id)
            .where(EnrolmentMember.enrolment_id.in_([e.id for e in enrolments]))
            .order_by(EnrolmentMember.person_id)
        )
    ).all()
    by_enrolment: dict[uuid.UUID, list[Any]] = {}
    for member in members:
        by_enrolment.setdefault(member.enrolment_id, []).append(member)
    chosen: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for enrolment in enrolments:
        rng = random.Random(f"{seed}:observations:{enrolment.family_id}")
        drawn = PROFILES[rng.randrange(len(PROFILES))]
        profile = profiles.get(enrolment.family_id, drawn) if profiles is not None else drawn
        chosen[str(enrolment.family_id)] = profile
        rows.extend(_rows_for(rng, profile, enrolment, by_enrolment.get(enrolment.id, []), until))
    observations = ObservationsService(ObservationsRepository(session), settings=settings)
    for i in range(0, len(rows), BATCH_ROWS):
        batch = ObservationBatch.model_validate({"source_agency": "DEMO", "rows": rows[i : i + BATCH_ROWS]})
        await observations.import_batch(batch, SEEDER)
    return chosen
