"""Identifiers in erasure and rectification events as hashes, not values: a service finds its copies of a person
that were never linked to the person index (a referral's child without a match) by comparing the hash of its own
identifiers (`identifier_hash_sql`), and the event in the outbox carries no NHS number or UPN."""

from __future__ import annotations

import hashlib

from sqlalchemy import ColumnElement, func, literal
from sqlalchemy.orm import InstrumentedAttribute


def identifier_hashes(*, nhs_number: str | None, upn: str | None) -> list[str]:
    pairs = (("nhs", nhs_number), ("upn", upn))
    return [hashlib.sha256(f"{kind}:{value}".encode()).hexdigest() for kind, value in pairs if value]


def identifier_hash_sql(
    kind: str, column: ColumnElement[str | None] | InstrumentedAttribute[str | None]
) -> ColumnElement[str]:
    """The same hash computed in PostgreSQL over a column (NULL stays NULL)."""
    return func.encode(func.sha256(func.convert_to(literal(f"{kind}:") + column, "UTF8")), "hex")
