"""The columnar attendance import (pyarrow parse, bulk person resolution, binary COPY into the keyed table):
the same report and stored rows as the careful path, re-import changes nothing, and any doubt falls back."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from outcomes.observations import columnar
from tests.support import auth, make_token
from tests.support.factories import nhs_number_for, upn

ANALYST = {**auth(make_token("analyst", agency="LCC", agency_type="council")), "content-type": "text/csv"}
URL = "/v1/observations/import?kind=attendance&source_agency=SCH-LS-002"
HEADER = "upn,term_start,term_end,possible_sessions,attended_sessions,suspensions,permanently_excluded\n"
COLUMNS = HEADER.strip().split(",")
KAI, MIA = upn(2001, prefix="80133"), upn(2002, prefix="80133")
NHS = nhs_number_for(2003)


async def _enrol(sessions: async_sessionmaker[AsyncSession], kit: Any) -> tuple[str, str]:
    kai, mia = kit.person("child", "2015-01-01", upn=KAI), kit.person("child", "2016-02-02", upn=MIA)
    async with sessions() as session:
        await kit.enrol(session, kit.assessment(["education", "crime", "health"], [kai, mia]))
        await session.commit()
    return kai["person_id"], mia["person_id"]


async def _stored(sessions: async_sessionmaker[AsyncSession], pid: str) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT term_start::text, term_end::text, possible_sessions, attended_sessions, unauthorised_sessions,"
                " suspensions, permanently_excluded, source_agency, import_id::text FROM attendance_records"
                " WHERE person_id = :p ORDER BY term_start"
            ),
            {"p": pid},
        )
        return [tuple(r) for r in rows]


def _counts(report: dict[str, Any]) -> tuple[int, ...]:
    keys = ("rows_total", "rows_loaded", "rows_already_present", "rows_unknown_person", "rows_rejected")
    return tuple(report[k] for k in keys)


CLEAN = (
    HEADER
    + f"{KAI},2025-01-06,2025-03-28,100,95,0,false\n"
    + f"{KAI},2025-04-22,2025-07-18,100,90,2,true\n"
    + f"{MIA},2025-01-06,2025-03-28,120,100,,\n"  # optional columns empty: 0 and false
    + f"{MIA},2025-01-06,2025-03-28,120,50,1,no\n"  # the same pupil and term again: the first row wins
    + "Z999999999999,2025-01-06,2025-03-28,100,90,0,false\n"  # nobody known by this UPN
)


def test_a_clean_file_is_taken_by_the_columnar_path_and_a_doubtful_one_is_not() -> None:
    rows = columnar.parse_attendance(CLEAN.split("\n", 1)[1].encode(), COLUMNS)
    assert rows is not None and rows.rows == 5
    assert list(rows.attended) == [95, 90, 100, 50, 90] and list(rows.excluded) == [False, True, False, False, False]
    for bad in ("2025-02-30", "2025-1-06", " 2025-01-06", ""):
        line = f"{KAI},{bad},2025-03-28,100,95,0,false\n"
        assert columnar.parse_attendance(line.encode(), COLUMNS) is None, bad
    for line in (f"{KAI},2025-01-06,2025-03-28,100,101,0,false\n", f"{KAI},2025-01-06,2025-03-28,100,95,0,maybe\n",
                 f"{KAI.lower()},2025-01-06,2025-03-28,100,95,0,false\n", f"{KAI},2025-01-06,2025-03-28,100\n",
                 f"{KAI},2025-04-06,2025-03-28,100,95,0,false\n"):  # fmt: skip
        assert columnar.parse_attendance(line.encode(), COLUMNS) is None, line


async def test_clean_file_loads_as_the_careful_path_would_and_reimport_changes_nothing(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    kai, mia = await _enrol(outcomes_sessions, kit)
    response = await outcomes_client.post(URL, content=CLEAN, headers=ANALYST)
    assert response.status_code == 200, response.text
    report = response.json()
    assert _counts(report) == (5, 3, 1, 1, 0) and report["errors"] == []
    import_id = report["import_ids"][0]
    assert await _stored(outcomes_sessions, kai) == [
        ("2025-01-06", "2025-03-28", 100, 95, 0, 0, False, "SCH-LS-002", import_id),
        ("2025-04-22", "2025-07-18", 100, 90, 0, 2, True, "SCH-LS-002", import_id),
    ]
    assert await _stored(outcomes_sessions, mia) == [
        ("2025-01-06", "2025-03-28", 120, 100, 0, 0, False, "SCH-LS-002", import_id)
    ]

    again = (await outcomes_client.post(URL, content=CLEAN, headers=ANALYST)).json()
    assert _counts(again) == (5, 0, 4, 1, 0)
    assert [r[-1] for r in await _stored(outcomes_sessions, kai)] == [import_id, import_id]

    # next term's file: the stored terms count as present, the new one is loaded
    later = CLEAN + f"{MIA},2025-09-03,2025-12-19,110,100,0,false\n"
    third = (await outcomes_client.post(URL, content=later, headers=ANALYST)).json()
    assert _counts(third) == (6, 1, 4, 1, 0)
    assert [r[:2] for r in await _stored(outcomes_sessions, mia)] == [
        ("2025-01-06", "2025-03-28"),
        ("2025-09-03", "2025-12-19"),
    ]
    async with outcomes_sessions() as session:
        imports = (
            await session.execute(text("SELECT rows_loaded FROM observation_imports ORDER BY rows_loaded DESC"))
        ).all()
    assert [r[0] for r in imports] == [3, 1, 0]


async def test_a_bad_row_takes_the_careful_path_with_its_row_errors(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    kai, _ = await _enrol(outcomes_sessions, kit)
    body = CLEAN + f"{KAI},2025-09-03,2025-12-19,100,101,0,false\n"  # line 7: attended > possible
    report = (await outcomes_client.post(URL, content=body, headers=ANALYST)).json()
    assert _counts(report) == (6, 3, 1, 1, 1)
    assert [(e["line"], e["column"], e["reason"]) for e in report["errors"]] == [
        (7, "attended_sessions", "more than possible_sessions")
    ]
    assert len(await _stored(outcomes_sessions, kai)) == 2


async def test_nhs_numbers_resolve_people_too(
    outcomes_client: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession], kit: Any
) -> None:
    adult = kit.person("parent_carer", "1990-01-01", nhs_number=NHS)
    async with outcomes_sessions() as session:
        await kit.enrol(session, kit.assessment(["education", "crime", "health"], [adult]))
        await session.commit()
    body = f"nhs_number,term_start,term_end,possible_sessions,attended_sessions\n{NHS},2025-01-06,2025-03-28,10,9\n"
    report = (await outcomes_client.post(URL, content=body, headers=ANALYST)).json()
    assert _counts(report) == (1, 1, 0, 0, 0)
    assert [r[2:4] for r in await _stored(outcomes_sessions, adult["person_id"])] == [(10, 9)]
