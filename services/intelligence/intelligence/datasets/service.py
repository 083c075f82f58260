"""The rules of importing a partner dataset: the data protection record it needs, the file spooled to disk
while its digest is taken, every row checked, the good rows merged by natural key, and the report."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import IO

from intelligence.config import Settings
from intelligence.datasets import parsing
from intelligence.datasets.kinds import KINDS, Kind
from intelligence.datasets.repository import DatasetsRepository
from intelligence.datasets.schemas import DatasetSummary, ImportReport, RowError
from intelligence.models import DatasetImport
from shared.auth import Principal
from shared.errors import Forbidden, UnprocessableContent, field_error

HEALTH_SCOPE = "intelligence:special_category"
"""The permission (token scope) that lets an analyst import special category (health) data."""
_ARTICLE_6 = re.compile(r"^6\(1\)\([a-f]\)$")
_ARTICLE_9 = re.compile(r"^9\(2\)\([a-j]\)$")
SPOOL_IN_MEMORY = 8 * 1024 * 1024


def kind_of(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise UnprocessableContent(
            f"Unknown dataset kind {name!r}", errors=[field_error("#query/kind", "one of " + ", ".join(KINDS))]
        )
    return kind


def check_protection(
    kind: Kind, principal: Principal, lawful_basis: str, special_category_condition: str | None
) -> None:
    """Article 6 basis on every import; for special category data, the permission and an Article 9 condition."""
    errors = []
    if not _ARTICLE_6.match(lawful_basis):
        errors.append(field_error("#query/lawful_basis", "a UK GDPR Article 6 basis such as 6(1)(e)"))
    if kind.special_category:
        if HEALTH_SCOPE not in principal.scopes and not principal.has_role("admin"):
            raise Forbidden(f"Importing {kind.name} data (special category) needs the permission {HEALTH_SCOPE!r}")
        if not special_category_condition or not _ARTICLE_9.match(special_category_condition):
            errors.append(
                field_error("#query/special_category_condition", "required for health data: an Article 9(2) condition")
            )
    elif special_category_condition:
        errors.append(
            field_error("#query/special_category_condition", f"only for special category data, not {kind.name}")
        )
    if errors:
        raise UnprocessableContent("The import's data protection record is incomplete", errors=errors)


async def _spool(body: AsyncIterator[bytes]) -> tuple[IO[bytes], str]:
    """The upload on disk (beyond a few MiB) and its SHA-256."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (closed by the caller)
    digest = hashlib.sha256()
    async for chunk in body:
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    return spool, digest.hexdigest()


def _parse(spool: IO[bytes], kind: Kind, error_limit: int) -> parsing.Parsed:
    text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
    try:
        return parsing.parse(text, kind, error_limit=error_limit)
    finally:
        text.detach()


def _report(record: DatasetImport, *, duplicate_of: uuid.UUID | None = None, truncated: bool = False) -> ImportReport:
    return ImportReport(
        import_id=record.id,
        kind=record.kind,
        source_agency=record.source_agency,
        sha256=record.sha256,
        duplicate_of=duplicate_of,
        sharing_agreement=record.sharing_agreement,
        lawful_basis=record.lawful_basis,
        special_category_condition=record.special_category_condition,
        retain_until=record.retain_until,
        rows_total=record.rows_total,
        rows_loaded=0 if duplicate_of else record.rows_loaded,
        rows_updated=0 if duplicate_of else record.rows_updated,
        rows_unchanged=record.rows_total - record.rows_rejected if duplicate_of else record.rows_unchanged,
        rows_rejected=record.rows_rejected,
        errors=[RowError.model_validate(e) for e in record.errors],
        errors_truncated=truncated,
        imported_at=record.imported_at,
    )


class DatasetsService:
    def __init__(self, repo: DatasetsRepository, *, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings

    async def import_csv(
        self,
        *,
        kind: Kind,
        body: AsyncIterator[bytes],
        source_agency: str,
        sharing_agreement: str,
        lawful_basis: str,
        special_category_condition: str | None,
        retention_days: int | None,
        principal: Principal,
    ) -> ImportReport:
        spool, sha256 = await _spool(body)
        with spool:
            earlier = await self.repo.earlier_import(kind.name, source_agency, sha256)
            if earlier is not None:
                await self.repo.audit(
                    principal, "import", "dataset_import", [earlier.id], f"re-import {kind.name} (unchanged file)"
                )
                return _report(earlier, duplicate_of=earlier.id)
            try:
                parsed = await asyncio.to_thread(_parse, spool, kind, self.settings.import_error_limit)
            except parsing.HeaderProblem as exc:
                raise UnprocessableContent(
                    str(exc), errors=[field_error(f"#line/1/{p.column}", p.reason) for p in exc.problems]
                ) from exc
            except UnicodeDecodeError as exc:
                raise UnprocessableContent(
                    "The CSV file is not UTF-8", errors=[field_error("/", f"not UTF-8 at byte {exc.start}")]
                ) from exc
        import_id = uuid.uuid4()
        retain_until = date.today() + timedelta(days=retention_days or self.settings.default_retention_days)
        record = DatasetImport(
            id=import_id,
            kind=kind.name,
            source_agency=source_agency,
            sha256=sha256,
            sharing_agreement=sharing_agreement,
            lawful_basis=lawful_basis,
            special_category_condition=special_category_condition,
            retain_until=retain_until,
            rows_total=parsed.rows_total,
            rows_loaded=0,
            rows_updated=0,
            rows_unchanged=0,
            rows_rejected=parsed.rows_rejected,
            errors=[{"line": p.line, "column": p.column, "reason": p.reason} for p in parsed.problems],
            imported_by=principal.actor,
            imported_at=datetime.now(UTC),
        )
        await self.repo.add_import(record)
        staging = await self.repo.stage(parsed.rows)
        inserted, updated = await self.repo.merge(
            staging, kind=kind.name, source_agency=source_agency, import_id=import_id, retain_until=retain_until
        )
        record.rows_loaded, record.rows_updated = inserted, updated
        record.rows_unchanged = len(parsed.rows) - inserted - updated
        await self.repo.add_import(record)
        await self.repo.audit(
            principal,
            "import",
            "dataset_import",
            [import_id],
            f"import {kind.name} from {source_agency}",
            details={"rows_loaded": inserted, "rows_updated": updated, "lawful_basis": lawful_basis},
        )
        return _report(
            record, truncated=parsed.rows_rejected > 0 and len(parsed.problems) >= self.settings.import_error_limit
        )

    async def summary(self) -> list[DatasetSummary]:
        return [DatasetSummary.model_validate(row, from_attributes=True) for row in await self.repo.summary()]
