"""Shared set-up for the outcomes benchmarks: a migrated database on the embedded (or given) PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncpg

from shared.db import plain_url
from tests.support import migrated_database, pg_server_url

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES_DIR = ROOT / "services" / "outcomes"


async def fresh_outcomes_database(name: str) -> str:
    return await migrated_database(pg_server_url(), name, OUTCOMES_DIR)


async def seed_cohort(url: str, families: int, *, observations: bool) -> None:
    """`families` enrolled families (one adult, one school-age child each), with realistic observations."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute(
            """
            INSERT INTO people (id, date_of_birth, upn)
            SELECT md5('adult' || i)::uuid, DATE '1985-01-01' + (i % 3000), NULL FROM generate_series(1, $1) i
            UNION ALL
            SELECT md5('child' || i)::uuid, DATE '2012-09-01' + (i % 1500), 'B' || lpad(i::text, 11, '0') || 'X'
            FROM generate_series(1, $1) i;
            """,
            families,
        )
        await conn.execute(
            """
            INSERT INTO enrolments (id, family_id, case_id, hub, programme_phase, framework_code, framework_version,
                                    needs, eligible, start_date, assessed_on, closed_on)
            SELECT md5('enrol' || i)::uuid, md5('family' || i)::uuid, md5('case' || i)::uuid,
                   (ARRAY['north', 'central', 'south'])[1 + i % 3], '2022-2025', 'supporting-families-2022', '1',
                   ARRAY['crime', 'domestic_abuse', 'education', 'financial_stability', 'health'], true,
                   DATE '2024-01-08' + (i % 200), DATE '2024-01-08' + (i % 200),
                   CASE WHEN i % 2 = 0 THEN DATE '2024-10-01' + (i % 100) END
            FROM generate_series(1, $1) i;
            INSERT INTO enrolment_members (enrolment_id, person_id, role)
            SELECT md5('enrol' || i)::uuid, md5('adult' || i)::uuid, 'parent_carer' FROM generate_series(1, $1) i
            UNION ALL
            SELECT md5('enrol' || i)::uuid, md5('child' || i)::uuid, 'child' FROM generate_series(1, $1) i;
            """.replace("$1", str(int(families))),
        )
        if not observations:
            return
        imp = "00000000-0000-0000-0000-000000000001"
        await conn.execute(
            f"""
            INSERT INTO attendance_records (person_id, term_start, term_end, possible_sessions, attended_sessions,
                                            unauthorised_sessions, suspensions, permanently_excluded,
                                            source_agency, import_id)
            SELECT md5('child' || i)::uuid, t.s, t.e, 120, 100 + (i * 7 + t.n) % 21, 0, (i + t.n) % 7 / 5, false,
                   'SCH', '{imp}'
            FROM generate_series(1, {families}) i
            CROSS JOIN (VALUES (1, DATE '2024-01-08', DATE '2024-03-28'), (2, DATE '2024-04-15', DATE '2024-07-19'),
                               (3, DATE '2024-09-04', DATE '2024-12-20'), (4, DATE '2025-01-06', DATE '2025-04-04'),
                               (5, DATE '2025-04-22', DATE '2025-07-18')) AS t(n, s, e);
            INSERT INTO incidents (kind, person_id, family_id, occurred_on, reference, source_agency, import_id)
            SELECT (ARRAY['offence', 'asb', 'domestic_abuse_incident'])[1 + (i + k) % 3], md5('adult' || i)::uuid,
                   NULL, DATE '2023-08-01' + ((i * 13 + k * 97) % 540), 'r' || k, 'POL', '{imp}'
            FROM generate_series(1, {families}) i CROSS JOIN generate_series(1, 4) k
            WHERE (i + k) % 3 <> 0;
            INSERT INTO status_periods (kind, person_id, status, period_start, period_end, source_agency, import_id)
            SELECT 'employment', md5('adult' || i)::uuid, 'employed', DATE '2024-02-01' + (i % 400),
                   CASE WHEN i % 4 = 0 THEN DATE '2024-02-01' + (i % 400) + 100 END, 'DWP', '{imp}'
            FROM generate_series(1, {families}) i;
            INSERT INTO practitioner_assessments (family_id, need, met, evidence, assessed_on, source_agency, import_id)
            SELECT md5('family' || i)::uuid, 'health', i % 5 <> 0, 'review', DATE '2024-09-01' + (i % 90), 'LCC',
                   '{imp}'
            FROM generate_series(1, {families}) i;
            """
        )
        # Settle the seeded tables before anything is timed: without this, autovacuum and the checkpoint that
        # writing them triggers run during the measured statements, whichever they are.
        await conn.execute("VACUUM ANALYZE")
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]
