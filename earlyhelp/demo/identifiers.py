"""The demo's identifiers: record ids every service agrees on, synthetic NHS numbers and fictional UPNs."""

from __future__ import annotations

import uuid

from shared.identifiers import with_nhs_check_digit

MAX_FAMILIES = 60_000
"""NHS numbers are drawn without repeats from the 999 range: room for about this many families."""
PEOPLE_PER_FAMILY = 8
"""Person slots per family index (NHS numbers and UPNs are drawn from `index * PEOPLE_PER_FAMILY + position`)."""


def demo_uuid(seed: int, kind: str, *parts: object) -> uuid.UUID:
    """The id of a demo record; the same as `cases.seed.demo_id`, so every service agrees on it."""
    from cases.seed import demo_id

    return demo_id(seed, kind, *parts)


def nhs_number(serial: int) -> str:
    """A distinct NHS number in the synthetic 999 range (never issued to a patient) with a valid check digit.

    Slots `2k` and `2k + 1` differ only in the last body digit (weight 2), so at most one of them has the
    invalid check value 10; slot numbers are scattered by a bijection on [0, 500 000) so that neighbours in a
    family do not get neighbouring numbers.
    """
    if not 0 <= serial < 500_000:
        raise ValueError("the 999 range holds 500,000 demo NHS numbers")
    slot = (serial * 48_271) % 500_000
    for body in (999_000_000 + 2 * slot, 999_000_000 + 2 * slot + 1):
        if number := with_nhs_check_digit(str(body)):
            return number
    raise AssertionError("unreachable: two neighbouring bodies cannot both have check value 10")


def upn(serial: int) -> str:
    """A distinct UPN with a correct check letter, for a fictional school in local authority 801."""
    from stdnum.gb import upn as upn_lib

    body = f"801{(serial * 7_368_787) % 1_000_000_000:09d}"
    return str(upn_lib.calc_check_digit(body)) + body
