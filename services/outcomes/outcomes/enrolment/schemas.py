"""The payloads of the events enrolment consumes, as docs/contracts.md gives them.

Defined here until `shared.contracts` carries them. A payload without its family, case or date is refused; a
person without a readable id is skipped, and a date of birth, NHS number or UPN that does not validate is
left unknown rather than refusing the family's enrolment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidatorFunctionWrapHandler, WrapValidator

from shared.identifiers import normalise_nhs_number, normalise_upn


def _or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """The parsed value, or None where it does not parse."""
    try:
        return handler(value)
    except ValueError:
        return None


def _identifier(normalise: Callable[[str], str]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        try:
            return normalise(str(value)) if value else None
        except ValueError:
            return None

    return check


def _empty_is_none(value: Any) -> Any:
    return value or None


Lenient = WrapValidator(_or_none)
MaybeDate = Annotated[date | None, BeforeValidator(_empty_is_none), Lenient]
MaybeUUID = Annotated[uuid.UUID | None, BeforeValidator(_empty_is_none), Lenient]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AssessedPerson(_Payload):
    person_id: MaybeUUID = None
    role: str | None = None
    date_of_birth: MaybeDate = None
    nhs_number: Annotated[str | None, BeforeValidator(_identifier(normalise_nhs_number))] = None
    upn: Annotated[str | None, BeforeValidator(_identifier(normalise_upn))] = None


class AssessmentCompleted(_Payload):
    """`case.assessment_completed`: a family's needs as assessed, and its people."""

    case_id: uuid.UUID
    family_id: uuid.UUID
    assessed_on: date
    hub: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    needs: list[str] | None = None
    eligible: bool | None = True
    """Absent means eligible; null means not."""
    people: list[AssessedPerson] | None = None


class CaseClosed(_Payload):
    """`case.closed`: the case of a family ended (the sustainment clock starts)."""

    case_id: uuid.UUID
    family_id: uuid.UUID
    closed_on: date
    outcome: str | None = None
