"""The commissioning view (`GET /v1/need-profile`): need prevalence, the needs that occur together, by hub and
postcode district and over linkage runs — counts only, small counts suppressed so that no cell points at a
family. On made-up households whose needs the test chooses (`tests.intelligence.synthetic`)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.intelligence.conftest import AGENCY, ANALYST, PROTECTION, run_linkage
from tests.intelligence.synthetic import datasets, households
from tests.support import auth, make_token

NORTH = auth(make_token("hub_manager", sub="north-manager", agency="LCC", agency_type="council", hubs=["north"]))
PARTNER = auth(make_token("partner_system", agency="WYP", agency_type="police"))
ADMIN = auth(make_token("admin", sub="admin-1", agency="LCC", agency_type="council"))
THREE = ("education", "domestic_abuse", "financial_stability")


async def _import(client: httpx.AsyncClient, files: dict[str, bytes]) -> None:
    for kind, body in files.items():
        params = {"kind": kind, "source_agency": AGENCY[kind], **PROTECTION}
        response = await client.post(
            "/v1/datasets", params=params, content=body, headers={"Content-Type": "text/csv", **ANALYST}
        )
        assert response.status_code == 200 and response.json()["rows_rejected"] == 0, response.text


async def _profile(client: httpx.AsyncClient, headers: dict[str, str] = ANALYST, **params: str) -> dict[str, Any]:
    response = await client.get("/v1/need-profile", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_prevalence_combinations_areas_and_trend_with_small_counts_suppressed(
    intelligence_api: httpx.AsyncClient,
) -> None:
    first = households(0, 7, "LS7 3AB", *THREE)
    await _import(intelligence_api, datasets(first))
    await run_linkage(intelligence_api, "2026-12-01")
    later = households(7, 6, "LS11 5QP", "education", "financial_stability", "housing") + households(
        13, 2, "LS8 2EE", *THREE, "housing"
    )
    await _import(intelligence_api, datasets(first + later))
    run = await run_linkage(intelligence_api, "2026-12-15")
    assert run["diagnostics"]["identified"] == 15, run["diagnostics"]

    profile = await _profile(intelligence_api)
    assert (profile["as_of"], profile["families"], profile["statutory"]) == ("2026-12-15", 15, 0)
    assert profile["small_count_threshold"] == 5
    assert {n["need"]: n["families"] for n in profile["needs"]} == {
        "education": 15, "financial_stability": 15, "domestic_abuse": 9, "housing": 8,
    }  # fmt: skip
    # combinations 7, 6 and 2: the 2 is hidden, and the 6 with it (else 15 - 7 - 6 would give the 2 away)
    assert profile["combinations"] == [{"needs": sorted(THREE), "families": 7}]
    assert profile["by_area"] == [{"hub": "north", "postcode_district": "LS7", "families": 7}]
    assert profile["suppressed_cells"] == 4
    assert [(p["as_of"], p["families"]) for p in profile["over_time"]] == [("2026-12-01", 7), ("2026-12-15", 15)]
    assert {n["need"]: n["families"] for n in profile["over_time"][0]["needs"]} == dict.fromkeys(THREE, 7)

    north = await _profile(intelligence_api, hub="north")
    # north is LS7 (7) and LS8 (2): with the total 9 shown, showing LS7 would give LS8 away, so neither is
    assert (north["families"], north["by_area"], north["suppressed_cells"]) == (9, [], 5)
    small = await _profile(intelligence_api, postcode_district="ls8")
    assert (small["families"], small["needs"], small["combinations"], small["by_area"]) == (None, [], [], [])
    assert [(p["as_of"], p["families"]) for p in small["over_time"]] == [("2026-12-15", None)]
    # nothing in the answer names a family, a person or a record
    text = str(profile) + str(small)
    assert "Ashworth" not in text and "SYN-" not in text and "uprn" not in text


async def test_the_profile_is_for_analysts_and_admins(intelligence_api: httpx.AsyncClient) -> None:
    empty = await _profile(intelligence_api, ADMIN)
    assert (empty["families"], empty["over_time"], empty["framework"]) == (0, [], None)
    assert (await intelligence_api.get("/v1/need-profile", headers=NORTH)).status_code == 403
    assert (await intelligence_api.get("/v1/need-profile", headers=PARTNER)).status_code == 403
    bad = await intelligence_api.get("/v1/need-profile", params={"postcode_district": "X" * 9}, headers=ANALYST)
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"].endswith("postcode_district")
