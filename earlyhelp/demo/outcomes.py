"""The outcomes side of the demo: the assessed families enrolled the way real ones are, then their observations.

Outcomes learns about the demo families as it learns about real ones: from the `case.assessment_completed` and
`case.closed` payloads cases announces (`earlyhelp.demo.cases.case_events`), given to its own handlers; then it
gets three years of observations (`outcomes.seed.seed_demo`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from earlyhelp.demo.loading import Progress
from shared.contracts import AssessmentCompleted, CaseClosed


@dataclass(frozen=True)
class Enrolled:
    """What the outcomes load did: families enrolled now and before, closures recorded, families observed."""

    enrolled: int
    already: int
    closures: int
    observed: int


async def enrol(
    session: AsyncSession,
    plan: Sequence[dict[str, Any]],
    *,
    seed: int,
    completed: Sequence[AssessmentCompleted],
    closed: Sequence[CaseClosed],
    report: Progress,
) -> Enrolled:
    """Enrol the assessed families not enrolled yet (recording the closures of their cases), then observe them."""
    from outcomes.config import Settings
    from outcomes.enrolment.endpoints import close_family_case, enrol_family
    from outcomes.frameworks.service import load_builtin_frameworks
    from outcomes.models import Enrolment
    from outcomes.seed import seed_demo

    settings = Settings()
    await load_builtin_frameworks(session)  # as the service does on start, so the demo can be evaluated at once
    phase = Enrolment.programme_phase == settings.programme_phase
    enrolled: set[uuid.UUID] = set((await session.scalars(select(Enrolment.family_id).where(phase))).all())
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
    profiles = {f["family_id"]: f["profile"] for f in plan if f["family_id"] in new_ids and f["profile"]}
    observed = await seed_demo(
        session,
        seed=seed,
        family_ids=sorted(new_ids),
        settings=settings,
        profiles=profiles,
        until=datetime.now(UTC).date(),
    )
    report("observations", 1, 1)
    already = len(completed) - len(new)  # the assessed demo families enrolled by an earlier run
    return Enrolled(enrolled=len(new), already=already, closures=len(closures), observed=len(observed))
