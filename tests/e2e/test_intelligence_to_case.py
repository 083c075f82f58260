"""Family intelligence end to end, real processes wired by events as `earlyhelp up` wires them (issue 21):
partner datasets imported → a family not yet known identified for the north hub → its manager refers it → a
referral of kind `intelligence` appears in the north triage queue → consent recorded, accepted → a case opens on
that family. Another hub's manager gets 404 for the family; a partner system 403 everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack import HUB, Stack, eventually, log_tail, ok
from tests.support import auth, make_token
from tests.support.matching import wait_for_matching

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "datasets"
ANALYST = auth(make_token("analyst", sub="intel-analyst", agency="LCC", agency_type="council",
                          scope="intelligence:special_category"))  # fmt: skip
MANAGER = auth(make_token("hub_manager", sub="e2e-manager", agency="LCC", agency_type="council", hubs=[HUB]))
SOUTH = auth(make_token("hub_manager", sub="south-manager", agency="LCC", agency_type="council", hubs=["south"]))
PARTNER = auth(make_token("partner_system", sub="wyp", agency="WYP", agency_type="police"))


async def test_identified_family_referred_accepted_becomes_a_case(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.urls["intelligence"], timeout=120) as intelligence:
        for path in sorted(EXAMPLES.glob("*.csv")):
            params = {"kind": path.stem, "source_agency": f"E2E-{path.stem[:6].upper()}", "sharing_agreement": "DSA-1"}
            if path.stem == "health":
                params["special_category_condition"] = "9(2)(h)"
            ok(await intelligence.post("/v1/datasets", params=params, content=path.read_bytes(), headers=ANALYST))
        run = ok(await intelligence.post("/v1/linkage-runs", params={"as_of": "2026-12-01"}, headers=ANALYST), 201)
        assert run["diagnostics"]["identified"] >= 1, run
        [family] = ok(await intelligence.get("/v1/identified-families", headers=MANAGER))["items"]
        assert family["hub"] == HUB and family["need_count"] == 5
        # asked of the cases person index during the run: not yet known to early help, so offered
        assert (family["cases_check"], family["status"]) == ("not_known", "identified"), family
        assert run["diagnostics"]["cases_unchecked"] == 0, run["diagnostics"]
        assert (await intelligence.get(f"/v1/identified-families/{family['id']}", headers=SOUTH)).status_code == 404
        for method, path in (("GET", "/v1/identified-families"), ("GET", f"/v1/identified-families/{family['id']}"),
                             ("POST", f"/v1/identified-families/{family['id']}/decision"),
                             ("POST", "/v1/linkage-runs"), ("GET", "/v1/need-profile")):  # fmt: skip
            assert (await intelligence.request(method, path, json={}, headers=PARTNER)).status_code == 403, path
        decided = ok(
            await intelligence.post(
                f"/v1/identified-families/{family['id']}/decision", json={"decision": "refer"}, headers=MANAGER
            )
        )
        assert decided["status"] == "referred"

    async with httpx.AsyncClient(base_url=stack.urls["referrals"], timeout=30) as referrals:

        async def queue() -> list[dict[str, Any]]:
            page = ok(
                await referrals.get("/v1/referrals", params={"hub": HUB, "kind": "intelligence"}, headers=MANAGER)
            )
            return list(page["items"])

        try:
            [referral] = await eventually(queue, lambda items: len(items) == 1, what="intelligence referral in triage")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log_tail(stack)}") from exc
        assert referral["status"] == "received"
        rid = referral["id"]
        consent = {"given": True, "given_by": "Grace Okafor", "recorded_at": "2026-12-02T10:00:00Z", "method": "verbal"}
        ok(await referrals.put(f"/v1/referrals/{rid}/consent", json=consent, headers=MANAGER))
        await wait_for_matching(referrals, rid, MANAGER)
        accepted = ok(
            await referrals.post(
                f"/v1/referrals/{rid}/decision", json={"outcome": "accepted", "reason": "Data-led"}, headers=MANAGER
            )
        )
        assert accepted["status"] == "accepted"

        async def read() -> dict[str, Any]:
            result: dict[str, Any] = ok(await referrals.get(f"/v1/referrals/{rid}", headers=MANAGER))
            return result

        try:
            linked = await eventually(read, lambda r: bool(r["family_id"] and r["case_id"]), what="case opened")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log_tail(stack)}") from exc

    async with httpx.AsyncClient(base_url=stack.urls["cases"], timeout=30) as cases:
        opened = ok(await cases.get(f"/v1/cases/{linked['case_id']}", headers=MANAGER))
        family_record = ok(await cases.get(f"/v1/families/{linked['family_id']}", headers=MANAGER))
    assert opened["family_id"] == linked["family_id"] and family_record["hub"] == HUB
