"""Every query of dataset imports: the earlier import of a file, staging by COPY, the merge, the summary."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, text

from intelligence.datasets.parsing import STAGED_COLUMNS
from intelligence.models import DatasetImport, PartnerRecord
from intelligence.repository import Repository

_STAGING_TYPES = {"date_of_birth": "date", "event_date": "date", "attributes": "jsonb"}
_PERSON = ("given_name", "family_name", "date_of_birth", "postcode", "address_line", "uprn", "nhs_number", "upn")


class DatasetsRepository(Repository):
    async def earlier_import(self, kind: str, source_agency: str, sha256: str) -> DatasetImport | None:
        return (
            await self.session.execute(
                select(DatasetImport)
                .where(
                    DatasetImport.kind == kind,
                    DatasetImport.source_agency == source_agency,
                    DatasetImport.sha256 == sha256,
                )
                .order_by(DatasetImport.imported_at)
                .limit(1)
            )
        ).scalar_one_or_none()

    async def stage(self, rows: Sequence[tuple[Any, ...]]) -> str:
        name = f"stg_{uuid.uuid4().hex}"
        cols = ", ".join(f"{c} {_STAGING_TYPES.get(c, 'text')}" for c in STAGED_COLUMNS)
        await self.session.execute(text(f"CREATE TEMP TABLE {name} ({cols}) ON COMMIT DROP"))
        if rows:
            driver = await self._driver()
            await driver.copy_records_to_table(name, records=rows, columns=list(STAGED_COLUMNS))
        return name

    async def merge(
        self, staging: str, *, kind: str, source_agency: str, import_id: uuid.UUID, retain_until: date
    ) -> tuple[int, int]:
        """Insert new records and update changed ones (by natural key); an unchanged row is not touched.
        Returns (inserted, updated)."""
        person = ", ".join(_PERSON)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*_PERSON, "event_date", "attributes", "row_hash"))
        sql = f"""
            WITH merged AS (
                INSERT INTO partner_records (kind, source_agency, record_id, {person}, event_date, attributes,
                                             row_hash, import_id, retain_until)
                SELECT :kind, :agency, record_id, {person}, event_date, attributes, row_hash, :import_id, :retain
                FROM {staging}
                ON CONFLICT ON CONSTRAINT uq_partner_records_natural_key DO UPDATE
                   SET {updates}, import_id = EXCLUDED.import_id, retain_until = EXCLUDED.retain_until
                 WHERE partner_records.row_hash <> EXCLUDED.row_hash
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
            FROM merged
        """
        params = {
            "kind": kind,
            "agency": source_agency,
            "import_id": import_id,
            "retain": retain_until,
        }
        row = (await self.session.execute(text(sql), params)).one()
        await self.session.execute(text(f"DROP TABLE IF EXISTS {staging}"))
        return int(row.inserted), int(row.updated)

    async def add_import(self, record: DatasetImport) -> None:
        self.session.add(record)
        await self.session.flush()

    async def summary(self) -> Sequence[Any]:
        imports = (
            select(
                DatasetImport.kind,
                DatasetImport.source_agency,
                func.count().label("imports"),
                func.max(DatasetImport.imported_at).label("last_imported_at"),
            )
            .group_by(DatasetImport.kind, DatasetImport.source_agency)
            .subquery()
        )
        records = (
            select(
                PartnerRecord.kind,
                PartnerRecord.source_agency,
                func.count().label("records"),
                func.max(PartnerRecord.retain_until).label("retain_until"),
            )
            .group_by(PartnerRecord.kind, PartnerRecord.source_agency)
            .subquery()
        )
        query = (
            select(
                imports.c.kind,
                imports.c.source_agency,
                imports.c.imports,
                imports.c.last_imported_at,
                func.coalesce(records.c.records, 0).label("records"),
                records.c.retain_until,
            )
            .outerjoin(
                records,
                (records.c.kind == imports.c.kind) & (records.c.source_agency == imports.c.source_agency),
            )
            .order_by(imports.c.kind, imports.c.source_agency)
        )
        return (await self.session.execute(query)).all()

    async def delete_expired(self, today: date) -> int:
        """Delete the raw rows past their retention date (derived needs keep their evidence references)."""
        result = await self.session.execute(delete(PartnerRecord).where(PartnerRecord.retain_until < today))
        return int(getattr(result, "rowcount", 0) or 0)
