"""The commissioning view through the gateway (issue 21): the `needProfile` field and the `GET /reports/need-profile`
report (offline HTML with inline SVG charts, checked in headless Chromium, or JSON) over the real outcomes and
intelligence services. Made-up households whose needs the test chooses, so that some counts are shown and some
are small enough to be suppressed; identified families carry what the cases person index says of them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.reports import CONTENT_SECURITY_POLICY
from gateway.reports.need_profile import CHARTS
from tests.conftest import template_name
from tests.gateway.conftest import UNREACHABLE, codes, gateway_client, gql
from tests.intelligence.conftest import AGENCY, PROTECTION
from tests.intelligence.synthetic import datasets, households
from tests.support import auth, make_token, services_up
from tests.support.chromium import dump_dom

pytestmark = pytest.mark.e2e

ANALYST = make_token("analyst", sub="gw-profile-analyst", agency="LCC", agency_type="council")
NORTH = make_token("hub_manager", sub="gw-profile-north", agency="LCC", agency_type="council", hubs=["north"])
PARTNER = make_token("partner_system", sub="gw-profile-wyp", agency="WYP", agency_type="police")
THREE = ("education", "domestic_abuse", "financial_stability")
HOUSEHOLDS = (
    households(100, 7, "LS7 3AB", *THREE)
    + households(107, 6, "LS11 5QP", "education", "financial_stability", "housing")
    + households(113, 2, "LS8 2EE", *THREE, "housing")
)
PROFILE = """
query($hub: String, $district: String) {
  needProfile(hubId: $hub, postcodeDistrict: $district) {
    framework hub asOf families statutory suppressedCells smallCountThreshold byArea
    needs { need families } combinations { needs families } overTime { asOf families needs { need families } }
  }
}
"""
FAMILIES = "{ identifiedFamilies(first: 50) { edges { node { id status casesCheck casesCheckedAt } } } }"


@pytest.fixture(scope="module")
async def urls(
    server_url: str, outcomes_db: str, intelligence_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, str]]:
    log_dir = tmp_path_factory.mktemp("gateway-need-profile")

    def env(urls: dict[str, str]) -> dict[str, str]:
        return {
            "INTELLIGENCE_OUTCOMES_URL": urls["outcomes"],
            "INTELLIGENCE_CASES_URL": UNREACHABLE,
            "INTELLIGENCE_SUBSCRIBERS": "[]",
        }

    names = ("outcomes", "intelligence")
    async with services_up(server_url, template_name, log_dir, names, env, timeout=120) as urls:
        async with httpx.AsyncClient(base_url=urls["intelligence"], timeout=120) as client:
            headers = auth(ANALYST)
            for kind, body in datasets(HOUSEHOLDS, prefix="GWP").items():
                params = {"kind": kind, "source_agency": AGENCY[kind], **PROTECTION}
                imported = await client.post("/v1/datasets", params=params, content=body, headers=headers)
                assert imported.status_code == 200, imported.text
            for as_of in ("2026-11-01", "2026-12-01"):
                run = await client.post("/v1/linkage-runs", params={"as_of": as_of}, headers=headers)
                assert run.status_code == 201, run.text
        yield urls


def _settings(urls: dict[str, str]) -> dict[str, str]:
    return {"outcomes_url": urls["outcomes"], "intelligence_url": urls["intelligence"]}


async def test_need_profile_field_with_trend_and_suppression(urls: dict[str, str]) -> None:
    async with gateway_client(**_settings(urls)) as gw:
        body = await gql(gw, PROFILE, {}, token=ANALYST)
        assert "errors" not in body, body
        profile = body["data"]["needProfile"]
        assert (profile["asOf"], profile["families"], profile["statutory"]) == ("2026-12-01", 15, 0)
        assert {n["need"]: n["families"] for n in profile["needs"]} == {
            "education": 15, "financial_stability": 15, "domestic_abuse": 9, "housing": 8,
        }  # fmt: skip
        assert profile["combinations"] == [{"needs": sorted(THREE), "families": 7}]
        assert profile["byArea"] == [{"hub": "north", "postcode_district": "LS7", "families": 7}]
        assert (profile["suppressedCells"], profile["smallCountThreshold"]) == (4, 5)
        assert [(p["asOf"], p["families"]) for p in profile["overTime"]] == [("2026-11-01", 15), ("2026-12-01", 15)]
        small = (await gql(gw, PROFILE, {"district": "LS8"}, token=ANALYST))["data"]["needProfile"]
        assert (small["families"], small["needs"], small["byArea"]) == (None, [], [])
        assert codes(await gql(gw, PROFILE, {}, token=NORTH)) == ["FORBIDDEN"]
        assert codes(await gql(gw, PROFILE, {}, token=PARTNER)) == ["FORBIDDEN"]
        # cases is not running here: every family is unchecked, never "not known"
        families = await gql(gw, FAMILIES, token=ANALYST)
        nodes = [e["node"] for e in families["data"]["identifiedFamilies"]["edges"]]
        assert len(nodes) == 15 and {(n["casesCheck"], n["casesCheckedAt"]) for n in nodes} == {("UNCHECKED", None)}


async def test_the_report_renders_its_charts_in_headless_chromium(urls: dict[str, str], tmp_path: Path) -> None:
    async with gateway_client(**_settings(urls)) as gw:
        response = await gw.get("/reports/need-profile", headers=auth(ANALYST))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"].startswith(CONTENT_SECURITY_POLICY)
        html = response.text
        assert "<script" not in html and "<link" not in html and not re.search(r'(src|href)="https?:', html)
        assert f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">' in html
        assert "fewer than 5" in html and "4 needs," in html.replace("\n", " ")
        assert "Ashworth" not in html and "GWP-" not in html and "LS7 3AB" not in html
        page = tmp_path / "need-profile.html"
        page.write_text(html)
        dom = dump_dom(page)
        assert dom.count("<svg") == len(CHARTS), dom[:2000]
        for chart in CHARTS:
            assert f'id="{chart}"' in dom
        assert "<title>education · families: 15</title>" in dom
        assert "<title>2026-11-01 · domestic_abuse: 9</title>" in dom
        assert "<title>LS7 · north: 7</title>" in dom

        as_json = await gw.get(
            "/reports/need-profile", params={"format": "json", "hub": "north"}, headers=auth(ANALYST)
        )
        assert as_json.status_code == 200 and as_json.headers["content-type"].startswith("application/json")
        assert (as_json.json()["hub"], as_json.json()["families"]) == ("north", 9)
        for token, status in ((NORTH, 403), (PARTNER, 403), ("not-a-jwt", 401)):
            refused = await gw.get("/reports/need-profile", headers=auth(token))
            assert refused.status_code == status and refused.headers["content-type"].startswith(
                "application/problem+json"
            )
        bad = await gw.get("/reports/need-profile", params={"format": "pdf"}, headers=auth(ANALYST))
        assert bad.status_code == 422
    async with gateway_client(**(_settings(urls) | {"intelligence_url": UNREACHABLE})) as gw:
        down = await gw.get("/reports/need-profile", headers=auth(ANALYST))
        assert down.status_code == 503 and down.json()["service"] == "intelligence"
