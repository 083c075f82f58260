"""Issue 22: the hub postcode mapping is the council's data, loaded by an admin (REST or `earlyhelp hubs load`),
audited, and used by the very next referral — no restart; a Liverpool `L8 0SY` goes to the hub covering L8. Its hub
names must be hubs the cases service serves (asked over HTTP, the real cases app on this test's transaction): an
unknown one is a 422 naming it, and when cases does not answer the load is a 503 and nothing is stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from earlyhelp.cli import app as cli
from referrals.models import Referral, platform
from tests.referrals.conftest import POLICE, admin, create_partner, dead_url, hub_manager, partner, person
from tests.support import serve_asgi
from tests.support.factories import partner_payload

REPO = Path(__file__).resolve().parents[2]
LIVERPOOL = REPO / "examples" / "hub-mapping" / "liverpool.json"
LEEDS = REPO / "examples" / "hub-mapping" / "leeds.json"
referrals_table = Referral.__table__


CASES_HUBS = ("north", "central", "south")


@pytest.fixture(autouse=True)
async def cases_serving_hubs(client: httpx.AsyncClient, cases_client: httpx.AsyncClient) -> AsyncIterator[str]:
    """The cases service, serving the hubs north, central and south, where the referrals app asks for them."""
    for code in CASES_HUBS:
        put = await cases_client.put(f"/v1/hubs/{code}", json={"name": code.title()}, headers=admin())
        assert put.status_code == 200, put.text
    settings = client.app.state.settings  # type: ignore[attr-defined]
    before = settings.cases_url
    async with serve_asgi(cases_client.app) as url:  # type: ignore[attr-defined]
        settings.cases_url = url
        try:
            yield url
        finally:
            settings.cases_url = before


def hubs_of(path: Path) -> dict[str, list[str]]:
    return {hub: ds for hub, ds in json.loads(path.read_text()).items() if not hub.startswith("_")}


def family_at(postcode: str) -> list[dict[str, Any]]:
    return [
        {**person("Lena", "Baker", postcode=postcode), "role": "parent_carer"},
        {**person("Oscar", "Baker"), "role": "child"},
    ]


async def test_the_leeds_mapping_is_in_force_until_a_council_loads_its_own(client: httpx.AsyncClient) -> None:
    from referrals.triage.hubs import district_to_hub

    mapping = await client.get("/v1/admin/hub-mapping", headers=admin())
    assert mapping.status_code == 200, mapping.text
    body = mapping.json()
    assert body["hubs"] == {hub: sorted(ds) for hub, ds in sorted(hubs_of(LEEDS).items())}
    assert body["districts"] == len(district_to_hub()) and body["default_hub"] == "central"
    # the example beside the package's demo mapping is the same mapping
    assert {d: h for h, ds in hubs_of(LEEDS).items() for d in ds} == district_to_hub()

    before = await create_partner(client, people=family_at("L8 0SY"))
    assert (before.json()["hub"], before.json()["hub_defaulted"]) == ("central", True)

    loaded = await client.put("/v1/admin/hub-mapping", json={"hubs": hubs_of(LIVERPOOL)}, headers=admin())
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["hubs"]["central"][:3] == ["L1", "L14", "L15"] and loaded.json()["updated_by"]
    liverpool = await create_partner(client, people=family_at("L8 0SY"))
    assert (liverpool.json()["hub"], liverpool.json()["hub_defaulted"]) == ("central", False)
    north = await create_partner(client, people=family_at("l4 4ew"))
    assert (north.json()["hub"], north.json()["hub_defaulted"]) == ("north", False)
    leeds = await create_partner(client, people=family_at("LS6 1AA"))  # no longer mapped: default hub, flagged
    assert (leeds.json()["hub"], leeds.json()["hub_defaulted"]) == ("central", True)


async def test_the_mapped_hub_is_in_the_row_the_event_and_the_replayed_response(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The insert statement allocates the hub (no lookup of its own): what it decided is what the response, the
    stored row, the `referral.received` event and a replay under the same Idempotency-Key all say."""
    body = partner_payload(people=family_at("LS6 1AA"))
    headers = {**partner(**POLICE), "Idempotency-Key": "hub-mapped-0001"}
    first = await client.post("/v1/referrals/partner", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert (first.json()["hub"], first.json()["hub_defaulted"]) == ("north", False)
    replay = await client.post("/v1/referrals/partner", json=body, headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true", replay.text
    assert replay.json() == first.json()
    unmapped = await create_partner(client, people=family_at("L8 0SY"))
    assert (unmapped.json()["hub"], unmapped.json()["hub_defaulted"]) == ("central", True)
    async with referrals_sessions() as session:
        stored = {
            str(row.id): (row.hub, row.hub_defaulted)
            for row in await session.execute(
                select(referrals_table.c.id, referrals_table.c.hub, referrals_table.c.hub_defaulted)
            )
        }
        events = dict(
            (row.subject, (row.data["hub"], row.data["hub_defaulted"]))
            for row in await session.execute(
                select(platform.outbox_events.c.subject, platform.outbox_events.c.data).where(
                    platform.outbox_events.c.type == "referral.received"
                )
            )
        )
    for response, hub in ((first, ("north", False)), (unmapped, ("central", True))):
        assert stored[response.json()["id"]] == hub
        assert events[response.json()["id"]] == hub


async def test_only_admins_read_or_load_the_mapping_and_loads_are_audited(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    for caller in (hub_manager("north"), partner(**POLICE)):
        assert (await client.get("/v1/admin/hub-mapping", headers=caller)).status_code == 403
        put = await client.put("/v1/admin/hub-mapping", json={"hubs": {"north": ["L8"]}}, headers=caller)
        assert put.status_code == 403
    assert (await client.get("/v1/admin/hub-mapping")).status_code == 401
    loaded = await client.put("/v1/admin/hub-mapping", json={"hubs": {"north": ["l8", "L9 "]}}, headers=admin())
    assert loaded.status_code == 200 and loaded.json()["hubs"] == {"north": ["L8", "L9"]}
    async with referrals_sessions() as session:
        rows = (
            await session.execute(
                select(platform.audit_log.c.actor, platform.audit_log.c.action, platform.audit_log.c.details).where(
                    platform.audit_log.c.record_type == "hub_mapping"
                )
            )
        ).all()
    assert [(r.action, r.details) for r in rows] == [("update", {"hubs": {"north": 2}, "districts": 2})]
    assert rows[0].actor == loaded.json()["updated_by"]


async def test_a_bad_mapping_is_refused_naming_the_entry(client: httpx.AsyncClient) -> None:
    async def refused(hubs: Any) -> list[str]:
        response = await client.put("/v1/admin/hub-mapping", json={"hubs": hubs}, headers=admin())
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        return [e["pointer"] for e in response.json()["errors"]]

    assert await refused({"central": ["L1", "L8 0SY"]}) == ["/hubs/central/1"]
    twice = await client.put(
        "/v1/admin/hub-mapping", json={"hubs": {"north": ["L4", "L8"], "central": ["L8"]}}, headers=admin()
    )
    assert twice.status_code == 422
    assert [(e["pointer"], e["detail"]) for e in twice.json()["errors"]] == [
        ("/hubs/central/0", "L8 is listed under hub 'north'")
    ]
    assert (await refused({"North Hub": ["L8"]}))[0].startswith("/hubs/North Hub")
    assert await refused({}) == ["/hubs"]
    assert await refused({"north": []}) == ["/hubs/north"]
    assert await refused(["L8"]) == ["/hubs"]
    # nothing of a refused load applies
    assert "L8" not in json.dumps((await client.get("/v1/admin/hub-mapping", headers=admin())).json()["hubs"])


async def test_earlyhelp_hubs_load_puts_a_councils_file(client: httpx.AsyncClient, tmp_path: Path) -> None:
    runner = CliRunner()
    token = admin()["Authorization"].removeprefix("Bearer ")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"_comment": "x", "north": ["L4"], "south": ["L4"]}))
    async with serve_asgi(client.app) as url:  # type: ignore[attr-defined]
        loaded = await asyncio.to_thread(
            runner.invoke, cli, ["hubs", "load", str(LIVERPOOL), "--referrals-url", url, "--token", token]
        )
        refused = await asyncio.to_thread(
            runner.invoke, cli, ["hubs", "load", str(bad), "--referrals-url", url, "--token", token]
        )
        shown = await asyncio.to_thread(
            runner.invoke, cli, ["hubs", "show", "--json", "--referrals-url", url], env={"EARLYHELP_TOKEN": token}
        )
    assert loaded.exit_code == 0, loaded.output
    assert "23 districts in 3 hubs" in loaded.output
    assert refused.exit_code == 1
    assert "/hubs/south/0: L4 is listed under hub 'north'" in refused.output
    assert shown.exit_code == 0 and json.loads(shown.stdout)["hubs"]["central"][-1] == "L8"
    assert (await create_partner(client, people=family_at("L8 0SY"))).json()["hub_defaulted"] is False


async def test_a_mapping_naming_a_hub_cases_does_not_serve_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    before = (await client.get("/v1/admin/hub-mapping", headers=admin())).json()
    hubs = {"north": ["L4"], "westside": ["L8"], "Central": ["L1"]}
    refused = await client.put("/v1/admin/hub-mapping", json={"hubs": {"north": ["L4"], "westside": ["L8"]}},
                               headers=admin())  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    [error] = refused.json()["errors"]
    assert error["pointer"] == "/hubs/westside" and error["code"] == "unknown_hub"
    assert "'westside'" in error["detail"] and "central, north, south" in error["detail"]
    assert "westside" in refused.json()["detail"]
    malformed = await client.put("/v1/admin/hub-mapping", json={"hubs": hubs}, headers=admin())
    assert malformed.status_code == 422  # a malformed name is refused by its pattern before cases is asked
    assert (await client.get("/v1/admin/hub-mapping", headers=admin())).json() == before  # nothing stored


async def test_while_cases_does_not_answer_a_load_is_refused_and_nothing_stored(client: httpx.AsyncClient) -> None:
    before = (await client.get("/v1/admin/hub-mapping", headers=admin())).json()
    client.app.state.settings.cases_url = dead_url()  # type: ignore[attr-defined]  (the fixture restores it)
    refused = await client.put("/v1/admin/hub-mapping", json={"hubs": hubs_of(LIVERPOOL)}, headers=admin())
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "cases service" in refused.json()["detail"]
    assert (await client.get("/v1/admin/hub-mapping", headers=admin())).json() == before
