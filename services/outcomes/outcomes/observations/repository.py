"""Every query of observation loading: staging tables, COPY, the checked merge (its SQL is in `importing`)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any

import asyncpg
from sqlalchemy import Row, func, select, text
from sqlalchemy.exc import DBAPIError

from outcomes.models import ObservationImport
from outcomes.observations import importing
from outcomes.repository import Repository
from shared.errors import UnprocessableContent, field_error

MALFORMED_CSV = (
    asyncpg.DataError,
    asyncpg.PostgresSyntaxError,
    asyncpg.InvalidTextRepresentationError,
    asyncpg.CharacterNotInRepertoireError,
    asyncpg.UntranslatableCharacterError,
)
"""What COPY raises for a file it cannot read as CSV: the upload's fault, a 422 naming the line."""


def _copied(status: str) -> int:
    """The row count of a `COPY n` command status."""
    return int(status.rsplit(" ", 1)[-1])


class _Doubtful(Exception):
    """The fast load could not vouch for some row: roll it back (see `ObservationsRepository.merge_staged`)."""


def _malformed(exc: Exception) -> UnprocessableContent:
    where = str(getattr(exc, "context", "") or getattr(exc, "where", "") or "")
    found = re.search(r"line (\d+)", where)
    line = int(found.group(1)) + 1 if found else None
    return UnprocessableContent(
        "The CSV file is malformed" + (f" at line {line}" if line else "") + f": {exc.args[0] if exc.args else exc}",
        errors=[field_error(f"#line/{line}" if line else "/", str(exc.args[0] if exc.args else exc))],
        line=line,
    )


class ObservationsRepository(Repository):
    async def create_staging(self, kind: str, columns: Sequence[str]) -> str:
        name = f"stg_{uuid.uuid4().hex}"
        cols = ", ".join(f"{c} text" for c in columns)
        await self.session.execute(text(f"CREATE TEMP TABLE {name} ({cols}) ON COMMIT DROP"))
        return name

    async def copy_csv(self, staging: str, columns: Sequence[str], source: AsyncIterable[bytes]) -> int:
        """COPY the rows into staging; returns how many rows were staged (from COPY's own status)."""
        driver = await self._driver()
        try:
            status = await driver.copy_to_table(staging, source=source, columns=list(columns), format="csv")
        except MALFORMED_CSV as exc:
            raise _malformed(exc) from exc
        return _copied(status)

    async def copy_records(self, staging: str, columns: Sequence[str], records: Sequence[tuple[Any, ...]]) -> int:
        driver = await self._driver()
        return _copied(await driver.copy_records_to_table(staging, records=records, columns=list(columns)))

    async def tune_for_bulk_merge(self) -> None:
        """Hash joins for a large staged file (this transaction only).

        The staging table has no statistics (ANALYZE of a million rows costs more than it saves), so the planner
        guesses the checked rows' count and, from the non-unique identifier indexes, picks sort-merge joins that
        spill to disk. Resolving people by hashing the (small) people table is right for any large file.
        """
        await self.session.execute(text("SET LOCAL enable_mergejoin = off"))
        await self.session.execute(text("SET LOCAL enable_nestloop = off"))
        # The attendance merge sorts the good rows by the natural key: in memory rather than on disk.
        await self.session.execute(text("SET LOCAL work_mem = '256MB'"))

    async def staged_errors(self, kind: str, staging: str, limit: int) -> Sequence[Row[Any]]:
        return (await self.session.execute(text(importing.errors_sql(kind, staging, limit)))).all()

    async def merge_staged(
        self,
        kind: str,
        staging: str,
        *,
        source_agency: str,
        import_id: uuid.UUID,
        present: Sequence[str] | None = None,
    ) -> Row[Any]:
        """Load the staged rows of `kind`: the fast statement when it vouches for every row, else the careful
        one (see `importing`)."""
        params: dict[str, Any] = {"source_agency": source_agency, "import_id": import_id}
        if importing.shape_of(kind) in ("incident", "status"):
            params["kind"] = kind
        if kind == "attendance":
            # Concurrent attendance merges queue here: each one's anti-join must see the rows of those before it.
            await self.session.execute(select(func.pg_advisory_xact_lock(importing.ATTENDANCE_MERGE_LOCK)))
        fast = importing.fast_merge_sql(kind, staging, present)
        if fast is not None:
            await self.session.execute(text("SET LOCAL DateStyle = 'ISO, YMD'"))
            try:
                async with self.session.begin_nested():
                    merged = (await self.session.execute(text(fast), params)).one()
                    if merged.doubtful:
                        raise _Doubtful
                return merged
            except _Doubtful:
                pass  # rolled back to the savepoint; the careful statement decides
            except DBAPIError as exc:
                if not isinstance(getattr(exc.orig, "__cause__", None), asyncpg.DataError):
                    raise
                # a value no cast could read (SQLSTATE class 22): the careful statement says which
        return (await self.session.execute(text(importing.merge_sql(kind, staging, present)), params)).one()

    async def lock_attendance(self) -> None:
        """Queue behind other attendance loads (this transaction): each one's view of the stored keys must
        include the rows of those before it."""
        await self.session.execute(select(func.pg_advisory_xact_lock(importing.ATTENDANCE_MERGE_LOCK)))

    async def resolve_people(self, identifier: str, values: Sequence[str]) -> tuple[list[str], list[uuid.UUID]] | None:
        """The people named by `values` of `identifier` (upn, nhs_number or person_id): the values found and
        their people's ids, in one query. None when two people share a value (for the careful path to judge)."""
        column = {"upn": "p.upn", "nhs_number": "p.nhs_number", "person_id": "p.id"}[identifier]
        key = "u.key::uuid" if identifier == "person_id" else "u.key"
        driver = await self._driver()
        rows = await driver.fetch(
            f"SELECT u.key, p.id FROM unnest($1::text[]) AS u(key) JOIN people p ON {column} = {key}", list(values)
        )
        keys = [r["key"] for r in rows]
        if len(set(keys)) != len(keys):
            return None
        return keys, [r["id"] for r in rows]

    async def stored_attendance(self, people: Sequence[uuid.UUID], terms: Sequence[tuple[int, int]]) -> list[int]:
        """Which of these people's terms are stored, as `person position * len(terms) + term position` (the
        keys of `columnar.Resolved`); terms as (start, end) in days since 1970. One array back, not a row each."""
        if not people or not terms:
            return []
        driver = await self._driver()
        keys = await driver.fetchval(
            """
            SELECT array_agg((u.i - 1) * $4 + (t.j - 1))
            FROM unnest($1::uuid[]) WITH ORDINALITY AS u(pid, i)
            JOIN attendance_records a ON a.person_id = u.pid
            JOIN unnest($2::int[], $3::int[]) WITH ORDINALITY AS t(s, e, j)
              ON a.term_start = DATE '1970-01-01' + t.s AND a.term_end = DATE '1970-01-01' + t.e""",
            list(people),
            [t[0] for t in terms],
            [t[1] for t in terms],
            len(terms),
        )
        return list(keys or [])

    async def copy_attendance(self, chunks: Iterable[bytes]) -> int | None:
        """One binary COPY of the rows straight into attendance_records, in a savepoint. None when a row
        conflicts with a stored one (a load the lock did not order, say) or breaks a check: the COPY is rolled
        back and the caller takes the careful path."""
        from outcomes.observations.columnar import COPY_COLUMNS  # pyarrow: imported on first use (idle RSS)

        driver = await self._driver()

        async def source() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        try:
            async with self.session.begin_nested():
                status = await driver.copy_to_table(
                    "attendance_records", source=source(), columns=list(COPY_COLUMNS), format="binary"
                )
        except (asyncpg.UniqueViolationError, asyncpg.CheckViolationError, asyncpg.DataError):
            return None
        return _copied(status)

    async def drop_staging(self, staging: str) -> None:
        await self.session.execute(text(f"DROP TABLE IF EXISTS {staging}"))

    async def add_import(self, **values: Any) -> None:
        self.session.add(ObservationImport(**values))
        await self.session.flush()
