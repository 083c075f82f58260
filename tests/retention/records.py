"""Records written straight into a service's tables with the dates a retention test needs (the APIs stamp now)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


async def referral(
    session: AsyncSession,
    *,
    status: str,
    decided_on: date | None,
    family_id: uuid.UUID | None = None,
    nhs_number: str = "9991196943",
) -> uuid.UUID:
    from referrals.models import Referral, ReferralPerson, StatusChange

    rid = uuid.uuid4()
    decided = status not in ("received", "screening", "withdrawn")
    received = at(decided_on or date(2020, 1, 1))
    session.add(
        Referral(
            id=rid,
            kind="maternity",
            status=status,
            agency="MAT1",
            agency_type="maternity",
            created_by="test",
            external_reference=f"R-{rid.hex[:10]}",
            hub="north",
            hub_defaulted=False,
            postcode="LS6 1AA",
            address="1 Hyde Park Rd",
            safeguarding_concern=False,
            needs=["health"],
            reason="Low mood in pregnancy",
            referrer={"name": "Midwife"},
            consent={"given": True},
            consent_given=True,
            lawful_basis="consent",
            details={},
            received_at=received,
            decision_due_at=received,
            decided_at=at(decided_on) if decided and decided_on else None,
            decided_by="manager" if decided else None,
            decision_outcome=status if decided else None,
            decision_reason="test" if decided else None,
            withdrawn_at=at(decided_on) if status == "withdrawn" and decided_on else None,
            matching="completed",
            family_id=family_id,
        )
    )
    await session.flush()
    session.add(
        ReferralPerson(
            id=uuid.uuid4(),
            referral_id=rid,
            position=0,
            ref="p1",
            role="parent_carer",
            given_name="Zoë",
            family_name="O'Neill",
            date_of_birth=date(1996, 5, 17),
            nhs_number=nhs_number,
            match_status="no_match",
        )
    )
    session.add(StatusChange(referral_id=rid, to_status=status, changed_at=received, changed_by="test"))
    await session.flush()
    return rid


async def family(
    session: AsyncSession,
    *,
    children_born: list[date],
    closed_on: date | None,
    open_case: bool = False,
    extra_members: list[uuid.UUID] = (),  # type: ignore[assignment]
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A family in cases (hub `north`) with a parent, the children and one case; returns its id and its people."""
    from cases.models import Case, Family, FamilyMember, Hub, Person

    if await session.get(Hub, "north") is None:
        session.add(Hub(code="north", name="North"))
        await session.flush()
    fid = uuid.uuid4()
    session.add(Family(id=fid, name="O'Neill", hub="north", postcode="LS6 1AA"))
    people: list[tuple[uuid.UUID, str]] = []
    parent = Person(id=uuid.uuid4(), given_name="Zoë", family_name="O'Neill", given_key="ZO", family_key="ONL",
                    date_of_birth=date(1980, 5, 17), nhs_number=None)  # fmt: skip
    session.add(parent)
    people.append((parent.id, "parent_carer"))
    for i, born in enumerate(children_born):
        child = Person(id=uuid.uuid4(), given_name=f"Child{i}", family_name="O'Neill", given_key="CH",
                       family_key="ONL", date_of_birth=born)  # fmt: skip
        session.add(child)
        people.append((child.id, "child"))
    await session.flush()
    for pid in extra_members:
        people.append((pid, "other_adult"))
    for pid, role in people:
        session.add(FamilyMember(family_id=fid, person_id=pid, role=role, joined_on=date(2010, 1, 1)))
    status: dict[str, Any] = (
        {"status": "open"} if open_case else {"status": "closed", "closed_on": closed_on, "outcome": "needs_met"}
    )
    session.add(Case(family_id=fid, hub="north", opened_by="test", **status))
    await session.flush()
    return fid, [pid for pid, _ in people]


async def enrolment(
    session: AsyncSession, *, family_id: uuid.UUID, people: list[uuid.UUID], closed_on: date | None, phase: str = "p1"
) -> uuid.UUID:
    """An enrolment in outcomes with its members (created as people when new) and a term of attendance each."""
    from outcomes.models import AttendanceRecord, Enrolment, EnrolmentMember, Person

    for pid in people:
        if await session.get(Person, pid) is None:
            session.add(Person(id=pid, date_of_birth=date(2012, 1, 1)))
    eid = uuid.uuid4()
    session.add(
        Enrolment(
            id=eid,
            family_id=family_id,
            case_id=uuid.uuid4(),
            programme_phase=phase,
            framework_code="families-first",
            framework_version="1",
            needs=["education"],
            eligible=True,
            start_date=date(2014, 1, 1),
            assessed_on=date(2014, 1, 1),
            closed_on=closed_on,
        )
    )
    await session.flush()
    for pid in people:
        session.add(EnrolmentMember(enrolment_id=eid, person_id=pid, role="child"))
        session.add(
            AttendanceRecord(
                person_id=pid,
                term_start=date(2014, 1, 6) if phase == "p1" else date(2015, 1, 6),
                term_end=date(2014, 3, 28) if phase == "p1" else date(2015, 3, 27),
                possible_sessions=100,
                attended_sessions=90,
                unauthorised_sessions=5,
                suspensions=0,
                permanently_excluded=False,
                source_agency="SCH",
                import_id=uuid.uuid4(),
            )
        )
    await session.flush()
    return eid
