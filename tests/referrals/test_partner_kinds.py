"""Issue 22: a partner system may submit only the referral kinds its agency type allows."""

from __future__ import annotations

import httpx

from tests.referrals.conftest import SCHOOL, create_maternity, create_school, partner
from tests.support import auth, make_token


async def test_a_partner_submits_only_its_agency_types_kinds(client: httpx.AsyncClient) -> None:
    maternity, school = partner(), partner(**SCHOOL)
    crossed = await create_school(client, headers=maternity)
    assert crossed.status_code == 403, crossed.text
    assert "maternity agency's system may submit maternity referrals, not a school" in crossed.json()["detail"]
    assert (await create_maternity(client, headers=school)).status_code == 403
    police = partner(agency="WYP", agency_type="police")
    assert (await create_school(client, headers=police)).status_code == 403
    assert (await create_maternity(client, headers=police)).status_code == 403

    assert (await create_maternity(client, headers=maternity)).status_code == 201
    assert (await create_school(client, headers=school)).status_code == 201
    practitioner = auth(make_token("practitioner", agency="LCC", agency_type="council"))
    assert (await create_school(client, headers=practitioner)).status_code == 201
