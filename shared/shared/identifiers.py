"""Validation and normalisation of the identifiers this domain uses.

NHS numbers and UPNs use python-stdnum (`gb.nhs`, `gb.upn`); postcodes follow the UK format; a school URN
is a six-digit number (100000 to 999999).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.gb import nhs, upn

_POSTCODE = re.compile(r"^(GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-HJKMNPR-Y]? ?[0-9][ABD-HJLNP-UW-Z]{2})$")
_URN = re.compile(r"^[1-9][0-9]{5}$")


def _reason(exc: StdnumError) -> str:
    return str(getattr(exc, "message", exc)).lower()


def normalise_nhs_number(value: str) -> str:
    """Ten digits, check digit verified (modulus 11). Spaces and dashes are ignored."""
    try:
        return str(nhs.validate(value))
    except StdnumError as exc:
        raise ValueError(f"not a valid NHS number ({_reason(exc)})") from exc


def with_nhs_check_digit(body: str) -> str | None:
    """The NHS number made of a 9-digit `body` and its modulus-11 check digit, or None for a body that has none
    (remainder 10). For synthetic test and demo numbers: python-stdnum validates NHS numbers but does not make them."""
    check = 11 - sum(int(digit) * (10 - i) for i, digit in enumerate(body)) % 11
    if check == 10:
        return None
    return body + str(check % 11)


def normalise_upn(value: str) -> str:
    """A 13-character Unique Pupil Number with a valid check letter."""
    try:
        return str(upn.validate(value))
    except StdnumError as exc:
        raise ValueError(f"not a valid UPN ({_reason(exc)})") from exc


def normalise_postcode(value: str) -> str:
    """Upper case with one space before the inward code: `ls1 4ab` → `LS1 4AB`."""
    compact = re.sub(r"\s+", "", value).upper()
    if not 5 <= len(compact) <= 7 or not _POSTCODE.match(compact):
        raise ValueError("not a valid UK postcode")
    return f"{compact[:-3]} {compact[-3:]}"


def postcode_district(postcode: str) -> str:
    """The outward code of a normalised postcode: `LS1 4AB` → `LS1`."""
    return normalise_postcode(postcode).split(" ")[0]


def normalise_urn(value: str | int) -> str:
    text = str(value).strip()
    if not _URN.match(text):
        raise ValueError("a school URN is six digits")
    return text


# The length bounds leave room for the spaces and dashes people type (and are what the OpenAPI documents declare).
NHSNumber = Annotated[str, StringConstraints(max_length=16), AfterValidator(normalise_nhs_number)]
UPN = Annotated[str, StringConstraints(max_length=16), AfterValidator(normalise_upn)]
Postcode = Annotated[str, StringConstraints(max_length=16), AfterValidator(normalise_postcode)]
SchoolURN = Annotated[str, StringConstraints(max_length=16), AfterValidator(normalise_urn)]
