"""The rules of loading observations: a CSV file or a JSON batch is staged, every row checked in SQL, and the
good rows merged; the report counts and lists the rest."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import structlog

from outcomes.config import Settings
from outcomes.observations import importing
from outcomes.observations.repository import ObservationsRepository
from outcomes.observations.schemas import ImportReport, KindReport, ObservationBatch, RowError
from shared.auth import Principal
from shared.errors import UnprocessableContent, field_error

log = structlog.get_logger("outcomes.observations")

COLUMNAR_MAX_BYTES = 512 * 1024 * 1024
"""An attendance upload up to this size is read whole and tried on the columnar path; a larger one is staged."""
COPY_CHUNK_ROWS = 100_000
BULK_ROWS = 50_000
"""From this many staged rows an import resolves people with hash joins (see `tune_for_bulk_merge`)."""


class _Phases:
    """Seconds spent in each phase of an import, for its log line."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._last = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = round(now - self._last, 3)
        self._last = now


class _Totals:
    def __init__(self) -> None:
        self.reports: list[KindReport] = []
        self.errors: list[RowError] = []
        self.truncated = False

    def report(self) -> ImportReport:
        return ImportReport(
            import_ids=[r.import_id for r in self.reports],
            rows_total=sum(r.rows_total for r in self.reports),
            rows_loaded=sum(r.rows_loaded for r in self.reports),
            rows_already_present=sum(r.rows_already_present for r in self.reports),
            rows_unknown_person=sum(r.rows_unknown_person for r in self.reports),
            rows_rejected=sum(r.rows_rejected for r in self.reports),
            errors=sorted(self.errors, key=lambda e: (e.line, e.column)),
            errors_truncated=self.truncated,
            by_kind=self.reports,
        )


def _source_agency(requested: str | None, principal: Principal) -> str:
    return requested or principal.agency or principal.sub


async def _read_header(body: AsyncIterator[bytes]) -> tuple[str, bytes]:
    buffer = b""
    async for chunk in body:
        buffer += chunk
        if b"\n" in buffer:
            break
        if len(buffer) > 64 * 1024:
            raise UnprocessableContent(
                "The CSV header line is longer than 64 KiB", errors=[field_error("#line/1", "header line too long")]
            )
    if not buffer.strip():
        raise UnprocessableContent("The CSV upload is empty", errors=[field_error("#line/1", "no header row")])
    head, _, rest = buffer.partition(b"\n")
    try:
        header = head.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise UnprocessableContent("The CSV header is not UTF-8", errors=[field_error("#line/1", "not UTF-8")]) from exc
    return header, rest


async def _buffered(first: bytes, body: AsyncIterator[bytes], limit: int) -> tuple[bytes, bool]:
    """The upload's bytes after the header, read until the end (True) or past `limit` bytes (False)."""
    parts, size = [first], len(first)
    async for chunk in body:
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(parts), False
    return b"".join(parts), True


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


def _header_columns(header: str, shape: str) -> list[str]:
    names = [n.strip().lower() for n in next(csv.reader(io.StringIO(header)))]
    allowed = importing.COLUMNS[shape]
    errors = []
    for i, name in enumerate(names):
        if name not in allowed:
            errors.append(
                field_error(
                    f"#line/1/column/{i + 1}", f"unknown column {name!r}; expected some of " + ", ".join(allowed)
                )
            )
        elif names.index(name) != i:
            errors.append(field_error(f"#line/1/column/{i + 1}", f"column {name!r} appears twice"))
    for required in importing.REQUIRED[shape]:
        if required not in names:
            errors.append(field_error("#line/1", f"missing required column {required!r}"))
    if shape != "practitioner_assessment" and not set(names) & {"person_id", "nhs_number", "upn", "family_id"}:
        errors.append(field_error("#line/1", "a column naming the person (person_id, nhs_number or upn) is required"))
    if errors:
        raise UnprocessableContent(f"The CSV header has {len(errors)} problem(s)", errors=errors)
    return names


def _index_of(rows: Sequence[tuple[int, Any]]) -> Callable[[Any], int]:
    """A staged row's place in the JSON batch, from its line in the staging table (1 for the first row)."""
    index_of = {i + 1: index for i, (index, _) in enumerate(rows)}
    return lambda n: index_of[int(n)]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ObservationsService:
    def __init__(self, repo: ObservationsRepository, *, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings

    async def import_csv(
        self, *, kind: str, body: AsyncIterator[bytes], source_agency: str | None, principal: Principal
    ) -> ImportReport:
        """Stream a CSV upload into a staging table with COPY, check every row in SQL and merge the good ones."""
        if kind not in importing.OBSERVATION_KINDS:
            raise UnprocessableContent(
                f"Unknown observation kind {kind!r}",
                errors=[field_error("#query/kind", "one of " + ", ".join(importing.OBSERVATION_KINDS))],
            )
        shape = importing.shape_of(kind)
        header, rest = await _read_header(body)
        columns = _header_columns(header, shape)
        source = _source_agency(source_agency, principal)
        if kind == "attendance":
            rest, complete = await _buffered(rest, body, COLUMNAR_MAX_BYTES)
            if complete:
                body = _nothing()
                report = await self._import_columnar(rest, columns, source_agency=source, principal=principal)
                if report is not None:
                    return report
        staging = await self.repo.create_staging(kind, importing.COLUMNS[shape])

        async def remaining() -> AsyncIterator[bytes]:
            if rest:
                yield rest
            async for chunk in body:
                yield chunk

        total = await self.repo.copy_csv(staging, columns, remaining())
        if total >= BULK_ROWS:
            await self.repo.tune_for_bulk_merge()
        totals = _Totals()
        await self._check_and_merge(
            kind=kind,
            fmt="csv",
            staging=staging,
            total=total,
            source_agency=source,
            principal=principal,
            line_of=lambda n: int(n) + 1,
            totals=totals,
            present=columns,
        )
        return totals.report()

    async def _import_columnar(
        self, data: bytes, columns: Sequence[str], *, source_agency: str, principal: Principal
    ) -> ImportReport | None:
        """The fast load of an attendance file (`columnar`): None when it cannot vouch for every row or a row
        conflicts, and then nothing of it is stored and the careful path runs."""
        # imported on first use: pyarrow and numpy would add ~50 MB to every idle outcomes process
        import numpy as np
        import pyarrow.compute as pc

        from outcomes.observations import columnar

        timer = _Phases()
        rows = await asyncio.to_thread(columnar.parse_attendance, data, columns)  # CPU-bound: off the event loop
        timer.mark("parse")
        if rows is None or not source_agency:
            return None
        await self.repo.lock_attendance()
        people = await self.repo.resolve_people(rows.identifier, pc.unique(rows.keys).to_pylist())
        timer.mark("people")
        if people is None:
            return None
        known, ids = people
        order = sorted(range(len(ids)), key=ids.__getitem__)  # people in id order: rows in the index's order
        known, ids = [known[i] for i in order], [ids[i] for i in order]
        resolved = await asyncio.to_thread(columnar.resolve, rows, known, [i.bytes for i in ids])
        terms = [(int(a), int(b)) for a, b in resolved.terms]
        stored = np.asarray(await self.repo.stored_attendance(ids, terms), dtype=np.int64)
        load = await asyncio.to_thread(columnar.rows_to_load, resolved, stored)
        timer.mark("keys")
        import_id = uuid.uuid4()
        chunks = columnar.copy_stream(
            rows, resolved.pid, load, source_agency=source_agency, import_id=import_id.bytes, chunk_rows=COPY_CHUNK_ROWS
        )
        loaded = await self.repo.copy_attendance(chunks) if load.size else 0
        timer.mark("copy")
        if loaded is None:
            return None
        matched = int(resolved.found.sum())
        report = KindReport(
            kind="attendance",
            import_id=import_id,
            rows_total=rows.rows,
            rows_loaded=loaded,
            rows_already_present=matched - loaded,
            rows_unknown_person=rows.rows - matched,
            rows_rejected=0,
        )
        totals = _Totals()
        await self._record(report, fmt="csv", source_agency=source_agency, principal=principal, errors=[])
        log.info("attendance_loaded", path="columnar", rows=rows.rows, loaded=loaded, seconds=timer.phases)
        totals.reports.append(report)
        return totals.report()

    async def import_batch(self, batch: ObservationBatch, principal: Principal) -> ImportReport:
        """Load a JSON batch: the same staging, checks and merge as a CSV import, one import per kind."""
        by_kind: dict[str, list[tuple[int, Any]]] = {}
        for index, row in enumerate(batch.rows):
            by_kind.setdefault(row.kind, []).append((index, row))
        totals = _Totals()
        for kind, rows in by_kind.items():
            columns = importing.COLUMNS[importing.shape_of(kind)]
            staging = await self.repo.create_staging(kind, ("source_index", *columns))
            records = [(str(index), *(_text(getattr(row, c, None)) for c in columns)) for index, row in rows]
            total = await self.repo.copy_records(staging, ("source_index", *columns), records)
            await self._check_and_merge(
                kind=kind,
                fmt="json",
                staging=staging,
                total=total,
                source_agency=_source_agency(batch.source_agency, principal),
                principal=principal,
                line_of=_index_of(rows),
                totals=totals,
            )
        return totals.report()

    async def _check_and_merge(
        self,
        *,
        kind: str,
        fmt: str,
        staging: str,
        total: int,
        source_agency: str,
        principal: Principal,
        line_of: Callable[[Any], int],
        totals: _Totals,
        present: Sequence[str] | None = None,
    ) -> None:
        """Merge the good staged rows, then (only when some were bad) list the bad ones with their errors.

        The merge checks every row once and counts the bad ones, so a clean file is scanned once and the
        per-column error lists are built only when there are bad rows, and only for them.
        """
        repo = self.repo
        import_id = uuid.uuid4()
        merged = await repo.merge_staged(
            kind, staging, source_agency=source_agency, import_id=import_id, present=present
        )
        rejected = int(merged.rejected)
        bad = await repo.staged_errors(kind, staging, self.settings.import_error_limit) if rejected else []
        errors = [
            RowError(line=line_of(row.line), column=err.split("\t", 1)[0], reason=err.split("\t", 1)[1])
            for row in bad
            for err in row.errs
        ]
        await repo.drop_staging(staging)
        report = KindReport(
            kind=kind,
            import_id=import_id,
            rows_total=total,
            rows_loaded=int(merged.loaded),
            rows_already_present=int(merged.matched) - int(merged.loaded),
            rows_unknown_person=int(merged.valid) - int(merged.matched),
            rows_rejected=rejected,
        )
        await self._record(report, fmt=fmt, source_agency=source_agency, principal=principal, errors=errors)
        totals.reports.append(report)
        totals.errors.extend(errors)
        totals.truncated = totals.truncated or rejected > len(bad)

    async def _record(
        self, report: KindReport, *, fmt: str, source_agency: str, principal: Principal, errors: list[RowError]
    ) -> None:
        """The import's row in observation_imports, and its audit entry."""
        await self.repo.add_import(
            id=report.import_id,
            kind=report.kind,
            fmt=fmt,
            source_agency=source_agency,
            loaded_by=principal.actor,
            rows_total=report.rows_total,
            rows_loaded=report.rows_loaded,
            rows_already_present=report.rows_already_present,
            rows_unknown_person=report.rows_unknown_person,
            rows_rejected=report.rows_rejected,
            errors=[e.model_dump() for e in errors],
        )
        await self.repo.audit(
            principal,
            "create",
            "observation_import",
            [report.import_id],
            f"load {report.kind} observations",
            details={"rows_loaded": report.rows_loaded},
        )
