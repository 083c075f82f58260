"""Field types of the referrals API's request bodies: plain text without control characters, bounded lengths,
plausible dates. Shared by the intake and triage schemas."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

EDD_MAX_AHEAD = timedelta(weeks=45)
EDD_MAX_PAST = timedelta(weeks=6)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def utc_today() -> date:
    return datetime.now(UTC).date()


def plain_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def plausible_birth_date(value: date) -> date:
    if value > utc_today():
        raise ValueError("a date of birth cannot be in the future")
    if value.year < 1900:
        raise ValueError("a date of birth before 1900 is not plausible")
    return value


def under_five(value: date) -> date:
    today = utc_today()
    try:
        fifth_birthday = value.replace(year=value.year + 5)
    except ValueError:  # 29 February
        fifth_birthday = value.replace(year=value.year + 5, day=28)
    if fifth_birthday <= today:
        raise ValueError("children in a maternity referral are aged 0 to 4")
    return value


def aware_not_future(value: datetime) -> datetime:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    if value > datetime.now(UTC) + timedelta(minutes=5):
        raise ValueError("cannot be in the future")
    return value


def plausible_delivery_date(value: date) -> date:
    today = utc_today()
    if value > today + EDD_MAX_AHEAD:
        raise ValueError("the expected delivery date must be within 45 weeks")
    if value < today - EDD_MAX_PAST:
        raise ValueError("the expected delivery date is more than 6 weeks in the past")
    return value


Name = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(plain_text)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(plain_text)]
Address = Annotated[str, StringConstraints(min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=5000)]
DateOfBirth = Annotated[date, AfterValidator(plausible_birth_date)]
Percent = Annotated[float, Field(ge=0, le=100)]
NeedCode = Annotated[str, StringConstraints(max_length=64, pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ExternalReference = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/#-]*$")
]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, StringConstraints(max_length=30, pattern=r"^\+?[0-9 ()-]{6,29}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
