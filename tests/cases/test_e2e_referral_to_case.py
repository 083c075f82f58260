"""End to end, real processes: a school referral accepted in referrals becomes a case here, and back again."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import template_name
from tests.support import auth, make_token, referrals_and_cases
from tests.support.factories import upn as make_upn

pytestmark = pytest.mark.e2e

SCHOOL = auth(make_token("partner_system", sub="sys-school", agency="SCH-LS-001", agency_type="school"))
MANAGER = auth(
    make_token(
        "hub_manager", sub="e2e-manager", agency="LCC", agency_type="council", hubs=["north", "central", "south"]
    )
)


def school_referral(upn: str) -> dict[str, Any]:
    return {
        "external_reference": f"SCH-{uuid.uuid4().hex[:12]}",
        "referrer": {"name": "Mr Daniel Okafor", "role": "designated safeguarding lead"},
        "needs": ["education"],
        "reason": "Attendance has fallen below 80% this term.",
        "consent": {"given": True, "given_by": "Jo Smith", "method": "verbal",
                    "recorded_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
        "school_urn": "107950",
        "pupil": {"given_name": "Kai", "family_name": "Smith", "date_of_birth": "2014-03-02", "postcode": "LS10 1AB",
                  "upn": upn, "year_group": 6},
        "parents": [{"given_name": "Jo", "family_name": "Smith", "date_of_birth": "1985-07-01"}],
        "attendance": {"current_term_percent": 78.5, "last_three_terms_percent": [88.0, 91.2, 85.0],
                       "unauthorised_absence_sessions": 14},
        "suspensions_this_year": 1, "permanently_excluded": False, "sen_status": "sen_support", "transition": True,
    }  # fmt: skip


async def test_accepted_school_referral_becomes_a_case(
    server_url: str, referrals_db: str, cases_db: str, tmp_path: Path
) -> None:
    async with (
        referrals_and_cases(server_url, template_name, tmp_path) as urls,
        httpx.AsyncClient(timeout=10) as client,
    ):
        created = await client.post(
            f"{urls['referrals']}/v1/referrals/school",
            json=school_referral(make_upn(4242)),
            headers={**SCHOOL, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert created.status_code == 201, created.text
        referral_id = created.json()["id"]
        decided = await client.post(
            f"{urls['referrals']}/v1/referrals/{referral_id}/decision",
            json={"outcome": "accepted", "reason": "Wants help"},
            headers=MANAGER,
        )
        assert decided.status_code == 200, decided.text

        referral: dict[str, Any] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            referral = (await client.get(f"{urls['referrals']}/v1/referrals/{referral_id}", headers=MANAGER)).json()
            if referral.get("case_id"):
                break
            await asyncio.sleep(0.2)
        assert referral.get("case_id") and referral.get("family_id"), referral

        case = await client.get(f"{urls['cases']}/v1/cases/{referral['case_id']}", headers=MANAGER)
        assert case.status_code == 200, case.text
        assert case.json()["family_id"] == referral["family_id"]
        assert case.json()["referral_ids"] == [referral_id]
        family = (await client.get(f"{urls['cases']}/v1/families/{referral['family_id']}", headers=MANAGER)).json()
        people = {(m["role"], m["person"]["given_name"]) for m in family["members"]}
        assert people == {("child", "Kai"), ("parent_carer", "Jo")}
