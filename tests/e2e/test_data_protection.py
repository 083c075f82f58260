"""Data protection end to end, real processes wired by events as `earlyhelp up` wires them (issue 23): a legal hold
placed in cases reaches referrals and outcomes (their retention dry runs then keep the family), an erasure in cases
removes the person from the referral in referrals and leaves the other member, and a consent withdrawal in
referrals flags the case in cases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.stack import Stack, eventually, ok
from tests.e2e.test_referral_to_case import MANAGER, PARTNER, accepted_case
from tests.support import auth, make_token

pytestmark = pytest.mark.e2e
ADMIN = auth(make_token("admin", sub="e2e-dpo"))
FAR = "2070-01-01"


async def test_hold_erasure_and_consent_withdrawal_reach_the_other_services(stack: Stack) -> None:
    referral = await accepted_case(stack, "Haddad", 31)
    family_id, case_id, referral_id = referral["family_id"], referral["case_id"], referral["id"]
    async with (
        httpx.AsyncClient(base_url=stack.urls["cases"], timeout=30) as cases,
        httpx.AsyncClient(base_url=stack.urls["referrals"], timeout=30) as referrals,
    ):
        ok(
            await cases.post(f"/v1/families/{family_id}/legal-holds", json={"reason": "court order"}, headers=MANAGER),
            201,
        )

        async def referral_dry_run() -> dict[str, str]:
            report = ok(
                await referrals.post("/v1/admin/retention/run", json={"dry_run": True, "as_of": FAR}, headers=ADMIN)
            )
            return {i["record_id"]: i["outcome"] for i in report["items"] if i["record_type"].startswith("referrals.")}

        held = await eventually(referral_dry_run, lambda r: r.get(referral_id) == "held", what="hold in referrals")
        assert held[referral_id] == "held"

        # erasure of the pupil: refused while held, then it reaches referrals once the hold is released
        family = ok(await cases.get(f"/v1/families/{family_id}", headers=MANAGER))
        pupil = next(m["person"]["id"] for m in family["members"] if m["role"] == "child")
        erase = {"reason": "the young person asked; no overriding interest"}
        assert (await cases.post(f"/v1/people/{pupil}/erasure", json=erase, headers=ADMIN)).status_code == 409
        (hold,) = ok(await cases.get(f"/v1/families/{family_id}/legal-holds", headers=MANAGER))
        ok(
            await cases.post(
                f"/v1/families/{family_id}/legal-holds/{hold['id']}/release", json={"reason": "lifted"}, headers=MANAGER
            )
        )
        ok(await cases.post(f"/v1/people/{pupil}/erasure", json=erase, headers=ADMIN))

        async def people() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = ok(await referrals.get(f"/v1/referrals/{referral_id}", headers=MANAGER))[
                "people"
            ]
            return found

        left = await eventually(people, lambda ps: len(ps) == 1, what="erasure in referrals")
        assert [p["role"] for p in left] == ["parent_carer"]

        # consent withdrawn in referrals flags the case in cases
        ok(
            await referrals.post(
                f"/v1/referrals/{referral_id}/consent-withdrawal",
                json={"withdrawn_by": "parent", "method": "phone"},
                headers=PARTNER,
            ),
            201,
        )

        async def flags() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = ok(
                await cases.get(f"/v1/cases/{case_id}/consent-withdrawals", headers=MANAGER)
            )
            return found

        flagged = await eventually(flags, lambda f: len(f) == 1, what="consent flag in cases")
        assert flagged[0]["referral_id"] == referral_id
