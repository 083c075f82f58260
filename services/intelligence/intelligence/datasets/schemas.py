"""Response shapes of dataset imports."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field


class RowError(BaseModel):
    line: int = Field(description="CSV line number (the header is line 1)")
    column: str
    reason: str


class ImportReport(BaseModel):
    import_id: uuid.UUID
    kind: str
    source_agency: str
    sha256: str
    duplicate_of: uuid.UUID | None = Field(
        default=None, description="The earlier import of this very file (kind, agency, content): nothing changed."
    )
    sharing_agreement: str
    lawful_basis: str
    special_category_condition: str | None
    retain_until: date
    rows_total: int
    rows_loaded: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    errors: list[RowError]
    errors_truncated: bool = False
    imported_at: datetime | None = None


class DatasetSummary(BaseModel):
    kind: str
    source_agency: str
    records: int
    imports: int
    last_imported_at: datetime | None
    retain_until: date | None
