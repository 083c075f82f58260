"""Families in cases and in outcomes under the retention run, on a fixed clock: exactly the families due go, a held
family stays, and a person who also belongs to a family that is kept stays intact."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.retention import records
from tests.retention.test_retention_runs import _by_type, _run


async def test_cases_run_anonymises_families_whose_youngest_child_is_25(
    cases_client: httpx.AsyncClient, cases_sessions: async_sessionmaker[AsyncSession]
) -> None:
    from cases.models import Case, Family, FamilyMember, Person, retention

    async with cases_sessions() as session, session.begin():
        kept, kept_people = await records.family(session, children_born=[date(2008, 1, 1)], closed_on=date(2020, 1, 1))
        due, due_people = await records.family(
            session, children_born=[date(1998, 1, 1), date(2000, 3, 1)], closed_on=date(2019, 5, 1),
            extra_members=[kept_people[0]],  # the other family's parent lives here too
        )  # fmt: skip
        held, _ = await records.family(session, children_born=[date(1999, 1, 1)], closed_on=date(2018, 1, 1))
        still_open, _ = await records.family(session, children_born=[date(1990, 1, 1)], closed_on=None, open_case=True)
        childless, _ = await records.family(session, children_born=[], closed_on=date(2018, 6, 1))
        await session.execute(
            retention.legal_holds.insert().values(id=uuid.uuid4(), family_id=held, reason="court", placed_by="hm")
        )

    as_of = date(2025, 3, 1)  # the youngest of `due` turned 25 today; `childless` closed more than 6 years ago
    dry = await _run(cases_client, as_of=as_of, dry_run=True)
    expected = {str(due): "would go", str(childless): "would go", str(held): "held"}
    assert _by_type(dry, "cases.family") == expected
    item = next(i for i in dry["items"] if i["record_id"] == str(due))
    assert item["due_on"] == "2025-03-01" and "youngest child 25" in item["reason"]

    done = await _run(cases_client, as_of=as_of, dry_run=False)
    assert _by_type(done, "cases.family") == {str(due): "anonymised", str(childless): "anonymised", str(held): "held"}
    async with cases_sessions() as session:
        families = set((await session.execute(select(Family.id))).scalars())
        assert {kept, held, still_open} <= families and not {due, childless} & families
        assert await session.scalar(select(func.count()).select_from(Case).where(Case.family_id == due)) == 0
        erased = (await session.execute(select(Person).where(Person.id.in_(due_people)))).scalars().all()
        for person in erased:
            if person.id == kept_people[0]:
                assert person.given_name == "Zoë" and person.date_of_birth is not None  # in a kept family
            else:
                assert person.given_name == "[erased]" and person.date_of_birth is None and person.nhs_number is None
        members = await session.scalar(
            select(func.count()).select_from(FamilyMember).where(FamilyMember.family_id == kept)
        )
        assert members == len(kept_people)


async def test_outcomes_run_erases_families_past_the_audit_period(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession]
) -> None:
    from outcomes.models import AttendanceRecord, Enrolment, Person

    shared_child = uuid.uuid4()
    old, recent, open_family = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    only_old = uuid.uuid4()
    async with outcomes_sessions() as session, session.begin():
        await records.enrolment(session, family_id=old, people=[only_old, shared_child], closed_on=date(2016, 2, 1))
        await records.enrolment(session, family_id=recent, people=[shared_child], closed_on=date(2020, 1, 1),
                                phase="p2")  # fmt: skip
        await records.enrolment(session, family_id=open_family, people=[uuid.uuid4()], closed_on=None)

    as_of = date(2023, 2, 1)  # seven years after old's closure
    dry = await _run(outcomes_client, as_of=as_of, dry_run=True)
    assert _by_type(dry, "outcomes.family") == {str(old): "would go"}
    await _run(outcomes_client, as_of=as_of, dry_run=False)
    async with outcomes_sessions() as session:
        families = set((await session.execute(select(Enrolment.family_id))).scalars())
        assert families == {recent, open_family}
        people = set((await session.execute(select(Person.id))).scalars())
        assert only_old not in people and shared_child in people
        assert (
            await session.scalar(
                select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.person_id == only_old)
            )
            == 0
        )
        assert (
            await session.scalar(
                select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.person_id == shared_child)
            )
            == 2
        )
