"""Idempotency-Key: replay, different body, and 50 concurrent requests with one key create one referral."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referrals.app import create_app
from referrals.config import Settings
from referrals.models import platform
from shared.db import plain_url
from tests.referrals.conftest import maternity_payload, partner
from tests.support import app_client


async def test_same_key_and_body_replays_status_and_body(client: httpx.AsyncClient) -> None:
    body = maternity_payload()
    headers = {**partner(), "Idempotency-Key": "replay-1"}
    first = await client.post("/v1/referrals/maternity", json=body, headers=headers)
    assert first.status_code == 201
    again = await client.post("/v1/referrals/maternity", json=body, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    listed = await client.get("/v1/referrals", params={"agency": "MAT-LTH"}, headers=partner())
    assert [r["id"] for r in listed.json()["items"]].count(first.json()["id"]) == 1
    assert len([r for r in listed.json()["items"] if r["external_reference"] == body["external_reference"]]) == 1


async def test_same_key_different_body_is_422(client: httpx.AsyncClient) -> None:
    headers = {**partner(), "Idempotency-Key": "replay-2"}
    first = await client.post("/v1/referrals/maternity", json=maternity_payload(), headers=headers)
    assert first.status_code == 201
    other = await client.post("/v1/referrals/maternity", json=maternity_payload(), headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["pointer"] == "#header/Idempotency-Key"


async def test_a_refused_reused_key_stores_nothing_of_the_second_body(client: httpx.AsyncClient) -> None:
    # the key is claimed by the statement that stores the referral: the second body's referral, written beside
    # a key it could not claim, is rolled back with the 422
    headers = {**partner(), "Idempotency-Key": "replay-3"}
    assert (await client.post("/v1/referrals/maternity", json=maternity_payload(), headers=headers)).status_code == 201
    second = maternity_payload()
    assert (await client.post("/v1/referrals/maternity", json=second, headers=headers)).status_code == 422
    fresh = {**partner(), "Idempotency-Key": "replay-3-fresh"}
    again = await client.post("/v1/referrals/maternity", json=second, headers=fresh)
    assert again.status_code == 201, again.text  # its external reference was never stored
    assert "idempotent-replayed" not in again.headers


async def test_keys_are_scoped_to_the_agency(client: httpx.AsyncClient) -> None:
    mine = await client.post(
        "/v1/referrals/maternity", json=maternity_payload(), headers={**partner(), "Idempotency-Key": "shared-key"}
    )
    theirs = await client.post(
        "/v1/referrals/maternity",
        json=maternity_payload(),
        headers={**partner("MAT-OTHER"), "Idempotency-Key": "shared-key"},
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


async def test_failed_request_does_not_burn_the_key(client: httpx.AsyncClient) -> None:
    headers = {**partner(), "Idempotency-Key": "retry-after-fix"}
    bad = maternity_payload(needs=["wizardry"])
    assert (await client.post("/v1/referrals/maternity", json=bad, headers=headers)).status_code == 422
    good = await client.post("/v1/referrals/maternity", json=maternity_payload(), headers=headers)
    assert good.status_code == 201


async def test_concurrent_creates_on_a_committed_database(fresh_referrals_db: str) -> None:
    """50 concurrent requests with one key create one referral; 10 with one external_reference but different
    keys create one and get 409 naming it; the key with another body is refused and stores nothing (one committed
    database for all: cloning one costs seconds)."""
    body = maternity_payload()
    headers = {**partner(), "Idempotency-Key": f"concurrent-{uuid.uuid4()}"}
    duplicate = maternity_payload()
    async with app_client(
        create_app,
        Settings,
        fresh_referrals_db,
        database_pool_size=20,
        database_max_overflow=40,
        match_retry_interval=0,
    ) as client:
        responses = await asyncio.gather(
            *(client.post("/v1/referrals/maternity", json=body, headers=headers) for _ in range(50))
        )
        same_reference = await asyncio.gather(
            *(
                client.post(
                    "/v1/referrals/maternity", json=duplicate, headers={**partner(), "Idempotency-Key": f"dup-key-{i}"}
                )
                for i in range(10)
            )
        )
        # the key again with another body: refused, and its referral (written beside the key it could not claim)
        # rolled back with the 422 on a committed database too
        reused = await client.post("/v1/referrals/maternity", json=maternity_payload(), headers=headers)
    assert reused.status_code == 422, reused.text
    assert [r.status_code for r in responses] == [201] * 50, {r.status_code: r.text for r in responses}
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    assert sum(1 for r in responses if "idempotent-replayed" not in r.headers) == 1
    assert sorted(r.status_code for r in same_reference) == [201] + [409] * 9
    created = next(r for r in same_reference if r.status_code == 201).json()["id"]
    assert all(r.json()["existing_referral_id"] == created for r in same_reference if r.status_code == 409)
    conn = await asyncpg.connect(plain_url(fresh_referrals_db))
    try:
        assert await conn.fetchval("SELECT count(*) FROM referrals") == 2
        assert await conn.fetchval("SELECT count(*) FROM outbox_events WHERE type = 'referral.received'") == 2
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 2
    finally:
        await conn.close()


async def _replay_reads(sessions: async_sessionmaker[AsyncSession], referral_id: str) -> list[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(platform.audit_log.c.actor, platform.audit_log.c.action).where(
                platform.audit_log.c.record_type == "referral",
                platform.audit_log.c.record_id == referral_id,
                platform.audit_log.c.purpose == "idempotent replay",
            )
        )
        return [(r.actor, r.action) for r in rows]


async def test_a_replay_is_audited_and_only_for_the_submitter(
    client: httpx.AsyncClient, referrals_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Issue 19 G: a replay returns personal data, so it is a read in the access log; another system of the same
    agency reusing the key gets a 409 problem, never the stored referral (and nothing is created twice)."""
    body = maternity_payload()
    first = await client.post(
        "/v1/referrals/maternity", json=body, headers={**partner(sub="mis-a"), "Idempotency-Key": "agency-g-key"}
    )
    assert first.status_code == 201, first.text
    referral_id = first.json()["id"]
    assert await _replay_reads(referrals_sessions, referral_id) == []

    other = await client.post(
        "/v1/referrals/maternity", json=body, headers={**partner(sub="mis-b"), "Idempotency-Key": "agency-g-key"}
    )
    assert other.status_code == 409, other.text
    assert other.headers["content-type"] == "application/problem+json"
    assert referral_id not in other.text and body["expectant_parent"]["nhs_number"] not in other.text
    assert "idempotent-replayed" not in other.headers

    again = await client.post(
        "/v1/referrals/maternity", json=body, headers={**partner(sub="mis-a"), "Idempotency-Key": "agency-g-key"}
    )
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await _replay_reads(referrals_sessions, referral_id) == [("mis-a@MAT-LTH", "read")]
