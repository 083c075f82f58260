"""Response shapes of dataset imports."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.fields import MANY, Code, Count, Digest, Reason, ShortText


class RowError(BaseModel):
    line: Count = Field(description="CSV line number (the header is line 1)")
    column: ShortText
    reason: Reason


class ImportReport(BaseModel):
    import_id: uuid.UUID
    kind: Code
    source_agency: Code
    sha256: Digest
    duplicate_of: uuid.UUID | None = Field(
        default=None, description="The earlier import of this very file (kind, agency, content): nothing changed."
    )
    sharing_agreement: ShortText
    lawful_basis: Code
    special_category_condition: Code | None
    retain_until: date
    rows_total: Count
    rows_loaded: Count
    rows_updated: Count
    rows_unchanged: Count
    rows_rejected: Count
    errors: list[RowError] = Field(max_length=MANY)
    errors_truncated: bool = False
    imported_at: datetime | None = None


class DatasetSummary(BaseModel):
    kind: Code
    source_agency: Code
    records: Count
    imports: Count
    last_imported_at: datetime | None
    retain_until: date | None
