"""The seven partner dataset kinds: their columns, types and allowed values (the one place they are defined;
`docs/guides/data-team.md` documents the same table and a test checks the two agree)."""

from __future__ import annotations

from dataclasses import dataclass

PERSON_COLUMNS = (
    "record_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "postcode",
    "address_line",
    "uprn",
    "nhs_number",
    "upn",
)
"""Every kind has these; `record_id` (the partner's own id of the row) is required, the identifiers optional."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """text, date, percent, count, bool or enum."""
    required: bool = True
    values: tuple[str, ...] = ()
    """The allowed values of an enum column."""


@dataclass(frozen=True)
class Kind:
    name: str
    columns: tuple[Column, ...]
    event_date: str
    """The column dating the row (the evidence date of the needs it shows)."""
    special_category: bool = False
    """UK GDPR Article 9 data: its own permission and an Article 9 condition on the import."""

    @property
    def column_names(self) -> tuple[str, ...]:
        return (*PERSON_COLUMNS, *(c.name for c in self.columns))


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "school_census",
            (
                Column("school_urn", "urn"),
                Column("term_end", "date"),
                Column("attendance_percent", "percent"),
                Column("suspensions", "count", required=False),
                Column("permanently_excluded", "bool", required=False),
            ),
            event_date="term_end",
        ),
        Kind(
            "police_incident",
            (
                Column("incident_date", "date"),
                Column("incident_type", "enum", values=("offence", "asb", "domestic_abuse")),
                Column("role", "enum", values=("suspect", "victim", "involved")),
                Column("incident_reference", "text", required=False),
            ),
            event_date="incident_date",
        ),
        Kind(
            "housing",
            (
                Column("status", "enum", values=("homeless", "at_risk", "temporary_accommodation", "rent_arrears")),
                Column("status_date", "date"),
            ),
            event_date="status_date",
        ),
        Kind(
            "worklessness",
            (Column("benefit", "enum", values=("out_of_work", "in_work", "none")), Column("since", "date")),
            event_date="since",
        ),
        Kind(
            "health",
            (Column("service", "enum", values=("substance_misuse", "mental_health")), Column("since", "date")),
            event_date="since",
            special_category=True,
        ),
        Kind(
            "neet",
            (Column("status", "enum", values=("neet", "eet", "unknown")), Column("status_date", "date")),
            event_date="status_date",
        ),
        Kind(
            "social_care",
            (Column("status", "enum", values=("cin", "cp", "cla", "closed")), Column("since", "date")),
            event_date="since",
        ),
    )
}
