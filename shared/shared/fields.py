"""The bounds of every service's API fields, as one vocabulary of field types (OWASP API4:2023, resource
consumption: every string, integer and array of an OpenAPI document has a limit — `.spectral.yaml`).

On a request body or parameter the bound is a rule: a longer value is a 422 problem naming the field. On a response
model it documents what the service can answer, and pydantic checks it when the answer is built, so each response
bound is at least the bound of every way the value is written (the request that stores it, the event or import
that carries it, the token that names the actor). The database columns are `text` without a length: the API is
where the length is decided.

Lengths (characters):
- `Code` 64: identifiers of the domain's vocabularies — hubs, statuses, need codes, framework codes, roles, kinds;
- `Name` 100: a person's given or family name, a family's, a worker's, a hub's;
- `ShortText` 200: a label, an agency name, a referrer's role, an external reference;
- `Address` 500: a postal address on one line;
- `Reason` 2000: why a decision was taken (reasons, summaries, explanations);
- `LongText` 5000: a referral's reason and triage notes;
- `Note` 20000: a practitioner's case note, an assessment narrative;
- `Actor` 320: who did something, `sub@agency` of the token (`shared.auth` bounds `sub` to 255 and `agency` to 64);
- `Cursor` 500: an opaque page cursor (`shared.pagination`);
- `Digest` 128: a hex digest (SHA-256 is 64).

Counts are `Count` (0 to 2^31-1, `int32`); lists take `Field(max_length=...)` with `PAGE_ITEMS` (a page, at most
the largest `limit`), `FEW` (a short list: needs, reasons, event types) or `MANY` (a record's history, a report's
rows).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

INT32_MAX = 2**31 - 1

CODE_LENGTH = 64
NAME_LENGTH = 100
SHORT_TEXT_LENGTH = 200
ADDRESS_LENGTH = 500
REASON_LENGTH = 2000
LONG_TEXT_LENGTH = 5000
NOTE_LENGTH = 20000
SUBJECT_LENGTH = 255
AGENCY_LENGTH = 64
ACTOR_LENGTH = SUBJECT_LENGTH + 1 + AGENCY_LENGTH
CURSOR_LENGTH = 500
DIGEST_LENGTH = 128
URL_LENGTH = 2083
DOCUMENT_LENGTH = 2**30
"""A whole document as text — a CSV import or export, an HTML report: 1 GiB, the default import body limit."""
IDS_LENGTH = 100 * 37
"""A query parameter of at most 100 comma-separated UUIDs (or codes)."""

PAGE_ITEMS = 100
"""The most items a page holds: every list endpoint's `limit` is at most this."""
FEW = 100
"""A short list: a referral's needs, an assessment's reasons, a webhook's event types."""
MANY = 10000
"""A record's history, a report's rows or errors: long, but not without end."""
REPORT_ROWS = 1_000_000
"""The rows of a report that is not paged (e.g. referrals' triage figures, one row per decision): its bound is
this platform's scale (a council's decisions over the retention period), and a report past it needs paging."""

Code = Annotated[str, StringConstraints(max_length=CODE_LENGTH)]
Name = Annotated[str, StringConstraints(max_length=NAME_LENGTH)]
ShortText = Annotated[str, StringConstraints(max_length=SHORT_TEXT_LENGTH)]
Address = Annotated[str, StringConstraints(max_length=ADDRESS_LENGTH)]
Reason = Annotated[str, StringConstraints(max_length=REASON_LENGTH)]
LongText = Annotated[str, StringConstraints(max_length=LONG_TEXT_LENGTH)]
Note = Annotated[str, StringConstraints(max_length=NOTE_LENGTH)]
Actor = Annotated[str, StringConstraints(max_length=ACTOR_LENGTH)]
Cursor = Annotated[str, StringConstraints(max_length=CURSOR_LENGTH)]
Digest = Annotated[str, StringConstraints(max_length=DIGEST_LENGTH)]
Url = Annotated[str, StringConstraints(max_length=URL_LENGTH)]
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
