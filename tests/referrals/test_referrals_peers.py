"""Cases and outcomes as peers: intake never waits on cases; the matching worker matches each referral's people in
one batch call, retries while cases is down and completes them once it answers;
need codes from the active framework, cached with its ETag. The peers are stand-in servers speaking the
documented contracts (docs/contracts.md), not mocks of their code."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook

from referrals.app import create_app
from referrals.config import Settings
from referrals.models import platform
from shared.events import OutboxRelay
from shared.settings import DEV_EVENT_SECRET, EventSubscriber
from tests.referrals.conftest import admin, create_maternity, hub_manager, nhs_number, partner, person
from tests.support import app_client, free_port, serve_asgi
from tests.support.matching import wait_for_matching

KNOWN_NHS = nhs_number()
KNOWN_PERSON_ID = str(uuid.uuid4())


def peer_app(calls: dict[str, int], received: list[dict[str, Any]]) -> FastAPI:
    """`POST /v1/people/match/batch` (cases) and `GET /v1/frameworks/active` (outcomes), per the contracts."""
    app = FastAPI()
    etag = '"framework-custom-1"'

    @app.post("/v1/people/match/batch")
    async def match(request: Request) -> dict[str, Any]:
        calls["match"] += 1
        assert request.headers["authorization"].startswith("Bearer ")
        people = (await request.json())["people"]
        calls["people"] += len(people)
        return {"results": [_answer(body) for body in people]}

    def _answer(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("nhs_number") == KNOWN_NHS:
            return {"exact": [_person(KNOWN_PERSON_ID, body)], "candidates": []}
        if body["family_name"] == "Nguyễn":
            return {
                "exact": [],
                "candidates": [{"person": _person(str(uuid.uuid4()), body), "score": 0.82, "reasons": ["surname"]}],
            }
        return {"exact": [], "candidates": []}

    @app.post("/v1/events")
    async def events(request: Request) -> dict[str, str]:
        # cases' consumer endpoint: verify the Standard Webhooks signature with the shared event secret
        body = await request.body()
        event = Webhook(DEV_EVENT_SECRET).verify(body, dict(request.headers))
        received.append(event)
        return {"status": "processed"}

    @app.get("/v1/frameworks/active")
    async def active(request: Request) -> Response:
        calls["framework"] += 1
        if request.headers.get("if-none-match") == etag:
            calls["not_modified"] += 1
            return Response(status_code=304, headers={"ETag": etag})
        framework = {
            "code": "council-own", "version": "1", "name": "Council framework", "min_needs": 2,
            "requires_dependent_children": False, "sustain_months": None,
            "needs": [
                {"code": c, "name": c, "descriptors": [], "rule": {"kind": "practitioner_assessed", "params": {}}}
                for c in ("education", "custom_need")
            ],
        }  # fmt: skip
        return Response(content=_json(framework), media_type="application/json", headers={"ETag": etag})

    return app


def _json(value: Any) -> bytes:
    import orjson

    return orjson.dumps(value)


def _person(pid: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": pid, "given_name": body["given_name"], "family_name": body["family_name"],
        "date_of_birth": body["date_of_birth"], "nhs_number": body.get("nhs_number"), "upn": body.get("upn"),
        "postcode": body.get("postcode"),
    }  # fmt: skip


async def test_cases_down_at_receipt_then_background_matching_completes(fresh_referrals_db: str) -> None:
    port = free_port()
    calls = {"match": 0, "people": 0, "framework": 0, "not_modified": 0}
    received: list[dict[str, Any]] = []
    peer = f"http://127.0.0.1:{port}"
    async with app_client(
        create_app,
        Settings,
        fresh_referrals_db,
        cases_url=peer,
        outcomes_url=peer,
        match_retry_interval=0.1,
        framework_cache_seconds=0.2,
        match_timeout_seconds=2.0,
        subscribers=[EventSubscriber(name="cases", url=f"{peer}/v1/events", event_types=["referral.accepted"])],
    ) as client:
        # Both peers are down: the referral is stored and acknowledged, matching pending, built-in needs accepted.
        down = await create_maternity(
            client,
            needs=["health"],
            expectant_parent=person(nhs_number=KNOWN_NHS, postcode="LS6 1AA"),
        )
        assert down.status_code == 201, down.text
        assert down.json()["matching"] == "pending"
        assert {p["match"] for p in down.json()["people"]} == {None}  # partners never see match results
        pending = (await client.get(f"/v1/referrals/{down.json()['id']}", headers=admin())).json()
        assert {p["match"]["status"] for p in pending["people"]} == {"pending"}

        await asyncio.sleep(0.5)  # the worker tries, cases is down: matching stays pending, retried with backoff
        still = (await client.get(f"/v1/referrals/{down.json()['id']}", headers=admin())).json()
        assert still["matching"] == "pending"

        async with serve_asgi(peer_app(calls, received), port=port):
            matched = await wait_for_matching(client, down.json()["id"], admin())
            assert calls["match"] == 1 and calls["people"] == 3  # the referral's three people in one call
            by_ref = {p["ref"]: p["match"] for p in matched["people"]}
            assert by_ref["expectant_parent"]["status"] == "matched"
            assert by_ref["expectant_parent"]["matched_person_id"] == KNOWN_PERSON_ID
            assert by_ref["other_parent"]["status"] == "candidates"
            assert by_ref["other_parent"]["matched_person_id"] is None
            assert by_ref["other_parent"]["candidates"][0]["score"] == 0.82
            assert by_ref["child_1"]["status"] == "no_match"
            as_partner = (await client.get(f"/v1/referrals/{down.json()['id']}", headers=partner())).json()
            assert [p["match"] for p in as_partner["people"]] == [None, None, None]
            as_manager = (await client.get(f"/v1/referrals/{down.json()['id']}", headers=hub_manager("north"))).json()
            assert as_manager["people"][1]["match"]["candidates"][0]["score"] == 0.82

            # cases is up: the next referral is answered before matching (pending), and the worker, woken by its
            # commit, matches it moments later; the active framework's codes now apply
            inline = await create_maternity(
                client, needs=["custom_need"], expectant_parent=person(nhs_number=KNOWN_NHS)
            )
            assert inline.status_code == 201, inline.text
            assert inline.json()["matching"] == "pending"
            await wait_for_matching(client, inline.json()["id"], admin(), timeout=5.0)
            refused = await create_maternity(client, needs=["health"])
            assert refused.status_code == 422
            assert refused.json()["errors"][0]["pointer"] == "/needs/0"
            await asyncio.sleep(0.25)
            again = await create_maternity(client, needs=["education"])
            assert again.status_code == 201

            # the other parent is a possible match: accepting waits until triage confirms who they are
            refused = await client.post(
                f"/v1/referrals/{inline.json()['id']}/decision",
                headers=hub_manager("central"),
                json={"outcome": "accepted", "reason": "Family agreed"},
            )
            assert refused.status_code == 409 and "other_parent (review)" in refused.json()["detail"]
            shown = (await client.get(f"/v1/referrals/{inline.json()['id']}", headers=hub_manager("central"))).json()
            candidate_id = shown["people"][1]["match"]["candidates"][0]["person"]["id"]
            confirmed = await client.put(
                f"/v1/referrals/{inline.json()['id']}/people/other_parent/identity",
                headers=hub_manager("central"),
                json={"person_id": candidate_id},
            )
            assert confirmed.status_code == 200, confirmed.text
            assert confirmed.json()["people"][1]["match"]["status"] == "confirmed"
            # accepting publishes referral.accepted to the configured subscriber (cases), signed
            decided = await client.post(
                f"/v1/referrals/{inline.json()['id']}/decision",
                headers=hub_manager("central"),  # no postcode: the default hub
                json={"outcome": "accepted", "reason": "Family agreed"},
            )
            assert decided.status_code == 200
            relay = OutboxRelay(client.app.state.db, platform)  # type: ignore[attr-defined]
            try:
                assert await relay.run_once() == 1
            finally:
                if relay._client is not None:
                    await relay._client.aclose()
            assert [e["type"] for e in received] == ["referral.accepted"]
            assert received[0]["data"]["referral_id"] == inline.json()["id"]
            assert received[0]["data"]["people"][0]["matched_person_id"] == KNOWN_PERSON_ID
            assert received[0]["data"]["people"][0]["identity"] == "matched"
            assert received[0]["data"]["people"][1]["matched_person_id"] == candidate_id
            assert received[0]["data"]["people"][1]["identity"] == "confirmed"
    assert calls["match"] <= 4  # one batch call per referral matched, never one per person
    assert calls["not_modified"] >= 1  # revalidated with If-None-Match, not refetched


async def test_replicas_share_pending_referrals_and_match_each_once(fresh_referrals_db: str) -> None:
    """Two workers (two replicas) pass at once while cases is slow: `FOR UPDATE SKIP LOCKED` gives each referral
    to one of them, and a completed referral is never matched again."""
    from referrals.app import matching_worker

    port = free_port()
    calls = {"match": 0, "people": 0, "framework": 0, "not_modified": 0}
    slow = peer_app(calls, [])

    @slow.middleware("http")  # cases answers after a pause, as a loaded cases would
    async def pause(request: Request, call_next: Any) -> Response:
        if request.url.path.endswith("/batch"):
            await asyncio.sleep(0.3)
        response: Response = await call_next(request)
        return response

    peer = f"http://127.0.0.1:{port}"
    async with (
        app_client(
            create_app, Settings, fresh_referrals_db, cases_url=peer, outcomes_url=peer, match_retry_interval=0
        ) as client,
        serve_asgi(slow, port=port),
    ):
        created = [(await create_maternity(client, needs=["education"])).json() for _ in range(4)]
        assert {c["matching"] for c in created} == {"pending"}
        app = client.app  # type: ignore[attr-defined]
        one, other = matching_worker(app), matching_worker(app)
        one.batch = other.batch = 2
        passes = await asyncio.gather(one.run_once(), other.run_once())
        assert sorted(passes) == [(2, 2), (2, 2)]  # each took two, neither waited for the other's
        assert calls["match"] == 2 and calls["people"] == 4 * 3
        assert await one.run_once() == (0, 0)  # nothing left: completed referrals are never matched again
        for c in created:
            found = (await client.get(f"/v1/referrals/{c['id']}", headers=admin())).json()
            assert found["matching"] == "completed"
            assert "pending" not in {p["match"]["status"] for p in found["people"]}
    assert calls["match"] == 2
