"""`earlyhelp seed --demo`: one consistent synthetic dataset across the three services, loaded twice.

Fresh clones of the migrated templates get 40 demo families through `earlyhelp.demo.seed_all` (what the CLI
runs). The referrals name the same people as the cases families (names, dates of birth, NHS numbers, UPNs);
every assessed family is enrolled in outcomes with the same people; every stage is present; evaluated today,
some families are claimable and some are not; a second run changes no row anywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool
from stdnum.gb import upn as upn_lib

from earlyhelp.demo import PHASES, STAGES, OtherDemoPresent, demo_families, nhs_number, seed_all, upn
from shared.auth import Principal
from shared.db import async_url
from tests.conftest import template_name
from tests.support import clone_database

SEED = 5
FAMILIES = 40
SERVICES = ("referrals", "cases", "outcomes")


@asynccontextmanager
async def _connect(url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


async def _rows(url: str, sql: str) -> list[Any]:
    async with _connect(url) as conn:
        return list((await conn.execute(text(sql))).all())


async def _snapshot(urls: dict[str, str]) -> dict[str, Any]:
    """Every table's row count and content digest in every service database."""
    out: dict[str, Any] = {}
    for service, url in urls.items():
        async with _connect(url) as conn:
            tables = (
                await conn.scalars(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                        " AND tablename <> 'alembic_version' ORDER BY tablename"
                    )
                )
            ).all()
            for table in tables:
                out[f"{service}.{table}"] = (
                    await conn.execute(
                        text(
                            "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                            f' FROM "{table}" t'
                        )
                    )
                ).one()
    return out


async def _count(url: str, sql: str) -> int:
    return int((await _rows(url, sql))[0][0])


async def _summary_from_databases(urls: dict[str, str]) -> list[str]:
    """The first run's summary as the three databases tell it."""
    accepted = await _count(urls["referrals"], "SELECT count(*) FROM referrals WHERE status = 'accepted'")
    referrals = await _count(urls["referrals"], "SELECT count(*) FROM referrals")
    families = await _count(urls["cases"], "SELECT count(*) FROM families")
    people = await _count(urls["cases"], "SELECT count(*) FROM people")
    cases = await _count(urls["cases"], "SELECT count(*) FROM cases")
    assessments = await _count(urls["cases"], "SELECT count(*) FROM assessments")
    referred = await _count(
        urls["cases"], "SELECT count(DISTINCT c.family_id) FROM cases c JOIN case_referrals r ON r.case_id = c.id"
    )
    enrolled = await _count(urls["outcomes"], "SELECT count(DISTINCT family_id) FROM enrolments")
    closed = await _count(urls["outcomes"], "SELECT count(*) FROM enrolments WHERE closed_on IS NOT NULL")
    observed = await _count(
        urls["outcomes"],
        "SELECT count(DISTINCT e.family_id) FROM enrolments e JOIN enrolment_members m ON m.enrolment_id = e.id"
        " WHERE EXISTS (SELECT FROM attendance_records a WHERE a.person_id = m.person_id)"
        " OR EXISTS (SELECT FROM status_periods s WHERE s.person_id = m.person_id)"
        " OR EXISTS (SELECT FROM incidents i WHERE i.person_id = m.person_id OR i.family_id = e.family_id)",
    )
    return [
        f"demo: {FAMILIES} families (seed {SEED}), each referred once, {accepted} of the referrals accepted; "
        f"{families} families known to cases ({referred} through their accepted referral, {families - referred} from "
        f"an earlier case); {assessments} families assessed and so enrolled in outcomes ({closed} with their case "
        "closed)",
        f"referrals: {referrals} referrals added (0 already there)",
        f"cases: {families} families, {people} people, {cases} cases, {assessments} assessments added",
        f"outcomes: {enrolled} families enrolled (0 already), {closed} case closures recorded, observations for "
        f"{observed} families",
    ]


def test_identifiers_are_synthetic_valid_and_distinct() -> None:
    numbers = [nhs_number(i) for i in range(20_000)]
    assert len(set(numbers)) == len(numbers)
    for n in numbers[:2000]:
        assert n.startswith("999") and len(n) == 10
        check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(n[:9])) % 11
        assert int(n[9]) == (0 if check == 11 else check)
    upns = [upn(i) for i in range(20_000)]
    assert len(set(upns)) == len(upns)
    assert all(upn_lib.is_valid(u) for u in upns[:2000])


def test_families_are_deterministic_and_independent_of_how_many() -> None:
    today = datetime.now(UTC).date()
    first = demo_families(FAMILIES, seed=SEED, today=today)
    assert first == demo_families(FAMILIES, seed=SEED, today=today)
    fewer = demo_families(FAMILIES // 2, seed=SEED, today=today)
    strip = [{k: v for k, v in f.items() if k != "case"} for f in fewer]
    assert strip == [{k: v for k, v in f.items() if k != "case"} for f in first[: FAMILIES // 2]]
    other = demo_families(FAMILIES, seed=SEED + 1, today=today)
    assert [p["given_name"] for f in other for p in f["people"]] != [
        p["given_name"] for f in first for p in f["people"]
    ]
    # every stage in every hub
    assert {(f["stage"], f["hub"]) for f in first} >= {(s, h) for s in STAGES for h in ("north", "central", "south")}


async def test_demo_seed_is_consistent_across_services_and_idempotent(
    server_url: str, referrals_db: str, cases_db: str, outcomes_db: str
) -> None:
    async with AsyncExitStack() as stack:
        urls = {s: await stack.enter_async_context(clone_database(server_url, template_name(s))) for s in SERVICES}
        seen: list[tuple[str, int, int]] = []
        lines = await seed_all(
            server_url, families=FAMILIES, seed=SEED, urls=urls, chunk=16, progress=lambda *a: seen.append(a)
        )
        assert [phase for phase, done, total in seen if done == total] == list(PHASES), seen
        # Issue 22: the summary says what was created, in families, referrals, cases and enrolments, as the
        # databases count them; the enrolments progress counts the families enrolled.
        assert lines == await _summary_from_databases(urls), lines
        enrolled = next(total for phase, done, total in seen if phase == "enrolments" and done == total)
        assert lines[3].startswith(f"outcomes: {enrolled} families enrolled (0 already)"), lines
        before = await _snapshot(urls)

        # Referrals: every status; each referral's people are people of the family in cases, same identifiers.
        referrals = await _rows(
            urls["referrals"],
            "SELECT r.id, r.status, r.family_id, r.case_id, p.given_name, p.family_name, p.date_of_birth,"
            " p.nhs_number, p.upn, p.match_status, p.matched_person_id FROM referrals r"
            " JOIN referral_people p ON p.referral_id = r.id ORDER BY r.id, p.position",
        )
        assert {r.status for r in referrals} == {
            "received",
            "screening",
            "accepted",
            "signposted",
            "no_further_action",
            "stepped_up",
            "withdrawn",
        }
        people = await _rows(
            urls["cases"],
            "SELECT p.id, p.given_name, p.family_name, p.date_of_birth, p.nhs_number, p.upn, m.family_id"
            " FROM people p JOIN family_members m ON m.person_id = p.id",
        )
        by_name = {(p.given_name, p.family_name, p.date_of_birth): p for p in people}
        links = {
            r.referral_id: r
            for r in await _rows(
                urls["cases"],
                "SELECT cr.referral_id, c.id, c.family_id FROM case_referrals cr JOIN cases c ON c.id = cr.case_id",
            )
        }
        in_cases = 0
        for r in referrals:
            person = by_name.get((r.given_name, r.family_name, r.date_of_birth))
            if r.status == "accepted" or r.match_status == "matched":
                assert person is not None, r
            if person is None:
                assert r.match_status == "no_match", r
                continue
            in_cases += 1
            assert r.nhs_number in (None, person.nhs_number) and r.upn in (None, person.upn), (r, person)
            if r.match_status == "matched":
                assert r.matched_person_id == person.id
            if r.status == "accepted":
                assert (links[r.id].id, links[r.id].family_id) == (
                    r.case_id,
                    r.family_id,
                ) and r.family_id == person.family_id
        assert in_cases > len(referrals) // 2
        assert all(str(p.nhs_number).startswith("999") for p in people)
        assert any(r.nhs_number for r in referrals) and any(r.upn for r in referrals)

        # Cases: every state; open cases have no lead worker, the others have one of the demo workers.
        cases = await _rows(
            urls["cases"],
            "SELECT c.id, c.family_id, c.status, c.referral_id, w.subject, a.assessed_on FROM cases c"
            " LEFT JOIN lead_worker_assignments l ON l.case_id = c.id"
            " LEFT JOIN workers w ON w.id = l.worker_id LEFT JOIN assessments a ON a.case_id = c.id",
        )
        assert {c.status for c in cases} == {"open", "assessment", "plan", "review", "closed"}
        assert all((c.subject is None) == (c.status == "open" or c.referral_id is None) for c in cases), cases
        assert {c.subject for c in cases if c.subject} >= {"demo-north-1", "demo-central-1", "demo-south-1"}
        assessed = {c.family_id: c.id for c in cases if c.assessed_on is not None}
        assert len(assessed) == FAMILIES * 4 // len(STAGES)

        # Outcomes: exactly the assessed families, with the same case and people.
        enrolments = await _rows(
            urls["outcomes"],
            "SELECT e.family_id, e.case_id, e.closed_on, array_agg(m.person_id ORDER BY m.person_id) AS people"
            " FROM enrolments e JOIN enrolment_members m ON m.enrolment_id = e.id GROUP BY e.id",
        )
        assert {e.family_id: e.case_id for e in enrolments} == assessed
        members: dict[uuid.UUID, list[uuid.UUID]] = {}
        for p in sorted(people, key=lambda p: p.id):
            members.setdefault(p.family_id, []).append(p.id)
        assert all(e.people == members[e.family_id] for e in enrolments)
        assert any(e.closed_on for e in enrolments) and not all(e.closed_on for e in enrolments)

        # Evaluated today, some families are claimable and some are not.
        from outcomes.config import Settings
        from outcomes.evaluation.repository import EvaluationRepository, ProgressRepository
        from outcomes.evaluation.service import EvaluationService, ProgressService
        from outcomes.frameworks.repository import FrameworksRepository

        analyst = Principal(
            sub="a",
            roles=frozenset({"analyst"}),
            agency="LCC",
            agency_type="council",
            hubs=("north", "central", "south"),
        )
        from sqlalchemy.ext.asyncio import async_sessionmaker

        engine = create_async_engine(async_url(urls["outcomes"]), poolclass=NullPool)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                evaluation = EvaluationService(
                    EvaluationRepository(session), FrameworksRepository(session), settings=Settings()
                )
                await evaluation.evaluate(family_id=None, as_of=None, actor="test")
                progress = ProgressService(ProgressRepository(session), settings=Settings())
                results = await progress.progress(analyst, list(assessed), with_evidence=False)
                await session.rollback()
        finally:
            await engine.dispose()
        claimable = [p.claimable for p in results]
        assert len(claimable) == len(assessed) and any(claimable) and not all(claimable), [
            (p.closed_on, [(n.need, n.met, n.sustained, n.reason) for n in p.needs]) for p in results
        ][:6]

        # A second run adds nothing and changes nothing, in any table of any service.
        again = await seed_all(server_url, families=FAMILIES, seed=SEED, urls=urls)
        assert again[0] == lines[0], again
        assert again[1:] == [
            f"referrals: 0 referrals added ({FAMILIES} already there)",
            "cases: 0 families, 0 people, 0 cases, 0 assessments added",
            f"outcomes: 0 families enrolled ({enrolled} already), 0 case closures recorded,"
            " observations for 0 families",
        ], again
        assert await _snapshot(urls) == before
        # Another seed would reuse the NHS numbers and UPNs: refused, nothing written.
        with pytest.raises(OtherDemoPresent, match="another seed"):
            await seed_all(server_url, families=FAMILIES, seed=SEED + 1, urls=urls)
        assert await _snapshot(urls) == before
