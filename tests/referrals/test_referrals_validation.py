"""Validation: every bad field is a 422 problem whose pointer names the field; never a 500."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.referrals.conftest import (
    TODAY,
    bad_check_digit,
    create_maternity,
    create_school,
    maternity_payload,
    nhs_number,
    partner,
    person,
    school_payload,
)


def _pointers(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["pointer"] for e in response.json()["errors"]]


MATERNITY_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "bad NHS check digit",
        {"expectant_parent": person(nhs_number=bad_check_digit(nhs_number()))},
        "/expectant_parent/nhs_number",
    ),
    ("NHS number too short", {"expectant_parent": person(nhs_number="123456789")}, "/expectant_parent/nhs_number"),
    ("bad postcode", {"expectant_parent": person(postcode="LS99 ZZZZ")}, "/expectant_parent/postcode"),
    (
        "birth in the future",
        {"expectant_parent": person(born=TODAY + timedelta(days=1))},
        "/expectant_parent/date_of_birth",
    ),
    (
        "EDD beyond 45 weeks",
        {"expected_delivery_date": (TODAY + timedelta(weeks=46)).isoformat()},
        "/expected_delivery_date",
    ),
    ("EDD long past", {"expected_delivery_date": (TODAY - timedelta(weeks=10)).isoformat()}, "/expected_delivery_date"),
    ("gestation over 45", {"gestation_weeks": 46}, "/gestation_weeks"),
    ("unknown vulnerability", {"vulnerabilities": ["bad_luck"]}, "/vulnerabilities/0"),
    ("child aged five", {"children": [person(born=TODAY.replace(year=TODAY.year - 6))]}, "/children/0/date_of_birth"),
    ("name too long", {"expectant_parent": person(given="A" * 101)}, "/expectant_parent/given_name"),
    ("blank name", {"expectant_parent": person(given="   ")}, "/expectant_parent/given_name"),
    ("control character in name", {"expectant_parent": person(given="Zo\x00e")}, "/expectant_parent/given_name"),
    ("unknown field", {"favourite_colour": "blue"}, "/favourite_colour"),
    ("consent given without who", {"consent": {"given": True}}, "/consent"),
    ("consent method not listed", {"consent": {"given": False, "method": "telepathy"}}, "/consent/method"),
    ("bad lawful basis", {"lawful_basis": "because"}, "/lawful_basis"),
    ("missing reason", {"reason": ""}, "/reason"),
    ("bad referrer email", {"referrer": {"name": "A", "email": "not-an-email"}}, "/referrer/email"),
    ("unknown need", {"needs": ["health", "wizardry"]}, "/needs/1"),
    ("malformed need", {"needs": ["Health!"]}, "/needs/0"),
    ("external reference with spaces", {"external_reference": "has spaces"}, "/external_reference"),
]


@pytest.mark.parametrize(("case", "overrides", "pointer"), MATERNITY_CASES, ids=[c[0] for c in MATERNITY_CASES])
async def test_maternity_validation(
    client: httpx.AsyncClient, case: str, overrides: dict[str, Any], pointer: str
) -> None:
    response = await create_maternity(client, **overrides)
    assert pointer in _pointers(response), response.json()


SCHOOL_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("bad UPN check letter", {"pupil": {**person(), "upn": "A801200001001", "year_group": 6}}, "/pupil/upn"),
    ("URN not six digits", {"school_urn": "12345"}, "/school_urn"),
    ("URN letters", {"school_urn": "ABC123"}, "/school_urn"),
    ("attendance over 100", {"attendance": {"current_term_percent": 100.5}}, "/attendance/current_term_percent"),
    (
        "negative attendance",
        {"attendance": {"current_term_percent": 90, "last_three_terms_percent": [-1]}},
        "/attendance/last_three_terms_percent/0",
    ),
    (
        "four past terms",
        {"attendance": {"current_term_percent": 90, "last_three_terms_percent": [1, 2, 3, 4]}},
        "/attendance/last_three_terms_percent",
    ),
    ("SEN status not listed", {"sen_status": "some"}, "/sen_status"),
    ("year group 20", {"pupil": {**person(), "upn": "H801200001001", "year_group": 20}}, "/pupil/year_group"),
    ("negative suspensions", {"suspensions_this_year": -1}, "/suspensions_this_year"),
]


@pytest.mark.parametrize(("case", "overrides", "pointer"), SCHOOL_CASES, ids=[c[0] for c in SCHOOL_CASES])
async def test_school_validation(client: httpx.AsyncClient, case: str, overrides: dict[str, Any], pointer: str) -> None:
    response = await create_school(client, **overrides)
    assert pointer in _pointers(response), response.json()


async def test_at_most_twenty_people(client: httpx.AsyncClient) -> None:
    children = [person("Kid", "Many", TODAY - timedelta(days=100 + i)) for i in range(18)]
    ok = await create_maternity(client, children=children)  # 2 parents + 18 children = 20
    assert ok.status_code == 201, ok.text
    too_many = await create_maternity(client, children=[*children, person("One", "More", TODAY - timedelta(days=50))])
    assert "/children" in _pointers(too_many)
    assert "at most 20" in too_many.json()["detail"]


async def test_identifiers_are_normalised(client: httpx.AsyncClient) -> None:
    number = nhs_number()
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    response = await create_maternity(client, expectant_parent=person(nhs_number=spaced, postcode="ls6 1aa"))
    assert response.status_code == 201, response.text
    parent = response.json()["people"][0]
    assert parent["nhs_number"] == number
    assert parent["postcode"] == "LS6 1AA"


async def test_malformed_json_and_wrong_types_are_422_not_500(client: httpx.AsyncClient) -> None:
    headers = {**partner(), "Idempotency-Key": "k-malformed", "content-type": "application/json"}
    broken = await client.post("/v1/referrals/maternity", content=b'{"external_reference": ', headers=headers)
    assert broken.status_code == 422
    wrong = maternity_payload(children="none", safeguarding_concern="perhaps")
    response = await client.post("/v1/referrals/maternity", json=wrong, headers=headers)
    assert {"/children", "/safeguarding_concern"} <= set(_pointers(response))
    school = school_payload(attendance=None)
    response = await client.post(
        "/v1/referrals/school", json=school, headers={**headers, "Idempotency-Key": "k2-school"}
    )
    assert "/attendance" in _pointers(response)


async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient) -> None:
    huge = maternity_payload(reason="x" * (1024 * 1024 + 10))
    response = await client.post(
        "/v1/referrals/maternity", json=huge, headers={**partner(), "Idempotency-Key": "huge-body"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_idempotency_key_must_be_printable(client: httpx.AsyncClient) -> None:
    response = await create_maternity(client, key="x" * 300)
    assert response.status_code == 400


@pytest.mark.parametrize("key", ["abc", "x" * 129, "key with spaces", "key/with/slash"])
async def test_a_malformed_idempotency_key_is_a_400_as_the_table_says(client: httpx.AsyncClient, key: str) -> None:
    """The partner guide's table: a malformed key is a 400 — 8 to 128 letters, digits, `-`, `_`, `.`, `:`."""
    response = await create_maternity(client, key=key)
    assert response.status_code == 400, response.text
    assert "8 to 128" in response.json()["detail"]


async def test_a_uuid_and_a_record_reference_are_good_keys(client: httpx.AsyncClient) -> None:
    for key in (str(uuid.uuid4()), "MIS:referral.2026-0042_a"):
        response = await create_maternity(client, key=key)
        assert response.status_code == 201, (key, response.text)
