"""The import's row checks on awkward values: the cheap tests and the exact patterns must agree.

Each value's verdict is written out by hand; `good_expr` (used by the merge) must say "good" exactly when
`errors_expr` (used for the error report) lists nothing, and the fast attendance statement must never load a
row they refuse.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from outcomes.observations import importing
from outcomes.observations.repository import ObservationsRepository

COLUMNS = importing.COLUMNS["attendance"]
GOOD = {
    "person_id": None,
    "nhs_number": None,
    "upn": "B00000000001X",
    "term_start": "2025-01-06",
    "term_end": "2025-03-28",
    "possible_sessions": "100",
    "attended_sessions": "90",
    "unauthorised_sessions": "4",
    "suspensions": "0",
    "permanently_excluded": "false",
}
CASES: list[tuple[dict[str, str | None], set[str]]] = [
    ({}, set()),
    ({"upn": " b00000000001x "}, set()),  # trimmed and upper-cased
    ({"upn": "B0000000001X"}, {"upn"}),  # 12 characters
    ({"upn": "100000000001X"}, {"upn"}),  # starts with a digit
    ({"upn": "B00000000001-"}, {"upn"}),
    ({"upn": None, "nhs_number": "943 476 5919"}, set()),
    ({"upn": None, "nhs_number": "943-476-5919"}, set()),
    ({"upn": None, "nhs_number": "94347659190"}, {"nhs_number"}),
    ({"upn": None, "nhs_number": "943476591"}, {"nhs_number"}),
    ({"upn": None, "person_id": "not-a-uuid"}, {"person_id"}),
    ({"upn": None}, {"person_id"}),
    ({"term_start": "2025-1-06"}, {"term_start"}),
    ({"term_start": "2025-02-30"}, {"term_start"}),
    ({"term_start": "06/01/2025"}, {"term_start"}),
    ({"term_start": "2025-01-06 "}, {"term_start"}),
    ({"term_end": "2025-01-05"}, {"term_end"}),  # before term_start
    ({"term_end": "2025-01-06"}, set()),  # a one-day term
    ({"possible_sessions": " 100 "}, set()),
    ({"possible_sessions": "+100"}, {"possible_sessions"}),
    ({"possible_sessions": "1_000"}, {"possible_sessions"}),
    ({"possible_sessions": "0x1F"}, {"possible_sessions"}),
    ({"possible_sessions": "-1"}, {"possible_sessions"}),
    ({"possible_sessions": "1234567890"}, {"possible_sessions"}),
    ({"possible_sessions": ""}, {"possible_sessions"}),
    ({"possible_sessions": None}, {"possible_sessions"}),
    ({"attended_sessions": "101"}, {"attended_sessions"}),
    ({"attended_sessions": "100", "unauthorised_sessions": "0"}, set()),
    ({"unauthorised_sessions": "10"}, set()),  # exactly the sessions missed
    ({"unauthorised_sessions": "11"}, {"unauthorised_sessions"}),
    ({"unauthorised_sessions": None}, set()),
    ({"suspensions": "two"}, {"suspensions"}),
    ({"permanently_excluded": " Yes "}, set()),
    ({"permanently_excluded": "maybe"}, {"permanently_excluded"}),
    ({"attended_sessions": "x", "term_end": "2024-01-01", "upn": "?"}, {"attended_sessions", "term_end", "upn"}),
]


async def test_cheap_checks_agree_with_the_error_list(outcomes_sessions: async_sessionmaker[AsyncSession]) -> None:
    async with outcomes_sessions() as session:
        cols = ", ".join(f"{c} text" for c in COLUMNS)
        await session.execute(text(f"CREATE TEMP TABLE stg_checks (line int, {cols}) ON COMMIT DROP"))
        for line, (change, _) in enumerate(CASES):
            row = {**GOOD, **change, "line": line}
            await session.execute(
                text(
                    f"INSERT INTO stg_checks (line, {', '.join(COLUMNS)}) "
                    f"VALUES (:line, {', '.join(':' + c for c in COLUMNS)})"
                ),
                row,
            )
        rows = (
            await session.execute(
                text(
                    f"SELECT s.line, {importing.errors_expr('attendance')} AS errs, "
                    f"{importing.good_expr('attendance')} AS good FROM stg_checks s ORDER BY s.line"
                )
            )
        ).all()
    assert len(rows) == len(CASES)
    for row, (change, expected) in zip(rows, CASES, strict=True):
        columns = {e.split("\t", 1)[0] for e in row.errs}
        assert columns == expected, (change, row.errs)
        assert row.good is (not expected), (change, row.good)


# Values the careful checks accept but the fast statement leaves to them (it reads numbers and flags only in
# their plain spelling): these rows must still load, through the careful statement.
NOT_CANONICAL = [{"possible_sessions": " 100 "}, {"permanently_excluded": " Yes "}]


async def _fast_verdict(session: AsyncSession, row: dict[str, str | None]) -> str:
    """What the fast statement makes of one staged row: "loaded", "doubtful" or "cast failed"."""
    await session.execute(text("SET LOCAL DateStyle = 'ISO, YMD'"))
    cols = ", ".join(f"{c} text" for c in COLUMNS)
    await session.execute(text(f"CREATE TEMP TABLE stg_fast ({cols}) ON COMMIT DROP"))
    await session.execute(
        text(f"INSERT INTO stg_fast ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"), row
    )
    sql = importing.fast_merge_sql("attendance", "stg_fast")
    assert sql is not None
    savepoint = await session.begin_nested()
    try:
        merged = (await session.execute(text(sql), {"source_agency": "SCH", "import_id": uuid.uuid4()})).one()
    except DBAPIError:
        return "cast failed"
    finally:
        await savepoint.rollback()  # each row is tried on its own
        await session.execute(text("DROP TABLE stg_fast"))
    if merged.doubtful:
        return "doubtful"
    assert (merged.rejected, merged.valid, merged.matched, merged.loaded) == (0, 1, 1, 1)
    return "loaded"


async def test_the_fast_statement_never_loads_a_row_the_careful_checks_refuse(
    outcomes_sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with outcomes_sessions() as session:
        await session.execute(
            text("INSERT INTO people (id, upn, nhs_number) VALUES (:id, 'B00000000001X', '9434765919')"),
            {"id": uuid.uuid4()},
        )
        for change, expected in CASES:
            verdict = await _fast_verdict(session, {**GOOD, **change})
            if expected:
                assert verdict in ("doubtful", "cast failed"), change
            elif change in NOT_CANONICAL:
                assert verdict == "doubtful", change
            else:
                assert verdict == "loaded", change
        await session.rollback()


async def test_rows_the_fast_statement_doubts_still_load_through_the_careful_one(
    outcomes_sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with outcomes_sessions() as session:
        repo = ObservationsRepository(session)
        await session.execute(
            text("INSERT INTO people (id, upn, nhs_number) VALUES (:id, 'B00000000001X', '9434765919')"),
            {"id": uuid.uuid4()},
        )
        staging = await repo.create_staging("attendance", COLUMNS)
        terms = [("2024-01-08", "2024-03-28"), ("2024-04-15", "2024-07-19")]
        rows = [
            {**GOOD, **change, "term_start": start, "term_end": end}
            for change, (start, end) in zip(NOT_CANONICAL, terms, strict=True)
        ]
        await repo.copy_records(staging, COLUMNS, [tuple(r[c] for c in COLUMNS) for r in rows])
        merged = await repo.merge_staged("attendance", staging, source_agency="SCH", import_id=uuid.uuid4())
        assert (merged.rejected, merged.valid, merged.matched, merged.loaded) == (0, 2, 2, 2)
        stored = (
            await session.execute(
                text("SELECT possible_sessions, permanently_excluded FROM attendance_records ORDER BY term_start")
            )
        ).all()
        assert [tuple(r) for r in stored] == [(100, False), (100, True)]
        await session.rollback()
