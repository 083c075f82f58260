"""Test data: valid identifiers (python-stdnum and `shared.identifiers` compute the check digits), people and the
REST bodies of referrals. One module, so that every suite and benchmark makes them the same way.

* `nhs_number()` — a fresh NHS number (modulus 11) for this process; `nhs_number_for(n)` — the same one for `n`.
* `upn(n, prefix=…)` — a valid Unique Pupil Number (check letter) whose digits are `prefix` then `n`.
* `person()`, `consent()`, `maternity_payload()`, `school_payload()` — request bodies of the referrals API.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from stdnum.gb import upn as upn_lib

from shared.identifiers import with_nhs_check_digit

NHS_STRIDE = 7_000_000
"""Added to a number with no valid check digit (one in eleven): a stride, not +1, so `nhs_number_for(n)` and
`nhs_number_for(n + 1)` never land on the same number."""
_serial = itertools.count(100_000_001)


def nhs_number_for(n: int, *, base: int = 400_000_000) -> str:
    """The valid NHS number derived from `n` (the same for the same `n`)."""
    candidate = base + n
    while True:
        if number := with_nhs_check_digit(f"{candidate % 1_000_000_000:09d}"):
            return number
        candidate += NHS_STRIDE


def nhs_number() -> str:
    """A fresh valid NHS number (a process-wide counter)."""
    while True:
        if number := with_nhs_check_digit(f"{next(_serial) % 1_000_000_000:09d}"):
            return number


def bad_check_digit(number: str) -> str:
    """`number` with a wrong check digit."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def upn(n: int = 1, *, prefix: str = "8012") -> str:
    """A valid UPN: its check letter, then `prefix` and `n` padded to twelve digits."""
    digits = prefix + f"{n:0{12 - len(prefix)}d}"
    return str(upn_lib.calc_check_digit(digits)) + digits


def today() -> date:
    return datetime.now(UTC).date()


def person(given: str = "Zoë", family: str = "O'Neill", born: date = date(1996, 5, 17), **extra: Any) -> dict[str, Any]:
    """A person as a referral names them (`given_name`, `family_name`, `date_of_birth`, plus `extra`)."""
    return {"given_name": given, "family_name": family, "date_of_birth": born.isoformat(), **extra}


def consent(given: bool = True) -> dict[str, Any]:
    if not given:
        return {"given": False}
    return {
        "given": True,
        "given_by": "Zoë O'Neill",
        "recorded_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "method": "verbal",
    }


def maternity_payload(**overrides: Any) -> dict[str, Any]:
    """A valid `POST /v1/referrals/maternity` body (a fresh external reference and NHS number each call)."""
    body: dict[str, Any] = {
        "external_reference": f"MAT-{uuid.uuid4().hex[:12]}",
        "referrer": {"name": "Midwife Asha Patel", "role": "community midwife", "email": "asha.patel@nhs.example"},
        "needs": ["health", "early_years"],
        "reason": "Low mood in pregnancy; housing is overcrowded.",
        "consent": consent(),
        "safeguarding_concern": False,
        "lawful_basis": "consent",
        "expectant_parent": person(nhs_number=nhs_number(), postcode="LS6 1AA", address="1 Hyde Park Rd, Leeds"),
        "other_parent": person("Thanh", "Nguyễn", date(1994, 2, 1)),
        "expected_delivery_date": (today() + timedelta(weeks=12)).isoformat(),
        "gestation_weeks": 28,
        "vulnerabilities": ["perinatal_mental_health", "housing"],
        "children": [person("Mia", "O'Neill", today() - timedelta(days=700))],
    }
    body.update(copy.deepcopy(overrides))
    return _basis_follows_consent(body, overrides)


def school_payload(**overrides: Any) -> dict[str, Any]:
    """A valid `POST /v1/referrals/school` body (a fresh external reference each call)."""
    body: dict[str, Any] = {
        "external_reference": f"SCH-{uuid.uuid4().hex[:12]}",
        "referrer": {"name": "Mr Daniel Okafor", "role": "designated safeguarding lead"},
        "needs": ["education"],
        "reason": "Attendance has fallen below 80% this term.",
        "consent": consent(),
        "school_urn": "107950",
        "pupil": {
            **person("Kai", "Smith", date(2014, 3, 2), postcode="LS10 1AB"),
            "upn": upn(1001),
            "year_group": 6,
        },
        "parents": [person("Jo", "Smith", date(1985, 7, 1))],
        "attendance": {
            "current_term_percent": 78.5,
            "last_three_terms_percent": [88.0, 91.2, 85.0],
            "unauthorised_absence_sessions": 14,
        },
        "suspensions_this_year": 1,
        "permanently_excluded": False,
        "sen_status": "sen_support",
        "transition": True,
    }
    body.update(copy.deepcopy(overrides))
    return _basis_follows_consent(body, overrides)


def partner_payload(**overrides: Any) -> dict[str, Any]:
    """A valid `POST /v1/referrals/partner` body: a police referral of a mother and her son after a domestic abuse
    incident (add `operation_encompass` for the notification)."""
    body: dict[str, Any] = {
        "external_reference": f"WYP-{uuid.uuid4().hex[:12]}",
        "referrer": {"name": "PC Sam Hughes", "role": "domestic abuse officer"},
        "needs": ["domestic_abuse"],
        "reason": "Police attended a domestic incident at the home; the mother asked for support.",
        "consent": consent(),
        "service": "Safeguarding hub",
        "people": [
            {**person("Lena", "Baker", date(1990, 4, 2), postcode="LS8 2QD"), "role": "parent_carer"},
            {**person("Oscar", "Baker", date(2016, 9, 12)), "role": "child", "upn": upn(2001)},
        ],
    }
    body.update(copy.deepcopy(overrides))
    return _basis_follows_consent(body, overrides)


def operation_encompass(**overrides: Any) -> dict[str, Any]:
    """The notification part of a police Operation Encompass referral."""
    return {
        "incident_at": (datetime.now(UTC) - timedelta(hours=10)).isoformat(),
        "police_reference": "WYP-13-2026-0456",
        "child_present": True,
        "school_urns": ["107950"],
        **overrides,
    }


def _basis_follows_consent(body: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Without consent a referral is shared on public task, unless the test chose the basis itself."""
    if "lawful_basis" not in overrides and body.get("lawful_basis") == "consent" and not body["consent"]["given"]:
        body["lawful_basis"] = "public_task"
    return body
