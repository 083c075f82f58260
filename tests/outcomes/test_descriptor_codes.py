"""A framework's descriptors are `{code, label}`: a stable code an assessment sends and the sentence shown. A
council may still write a descriptor as a bare sentence (its words become the code); stored versions written before
codes are converted by migration `outcomes_consistency01`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import httpx

from shared.db import plain_url
from shared.migrate import downgrade, upgrade
from tests.support import auth, drop_database, make_token, migrated_database

ADMIN = auth(make_token("admin", agency="LCC", agency_type="council"))
SERVICE = auth(make_token("service", sub="svc-cases"))
OUTCOMES_DIR = Path(__file__).resolve().parents[2] / "services" / "outcomes"


async def test_the_active_framework_gives_each_descriptor_a_code_and_its_sentence(
    outcomes_client: httpx.AsyncClient,
) -> None:
    active = (await outcomes_client.get("/v1/frameworks/active", headers=SERVICE)).json()
    education = next(n for n in active["needs"] if n["code"] == "education")
    assert education["descriptors"] == [
        {"code": "persistent_absence", "label": "Persistent absence (10% or more of sessions missed)"},
        {"code": "suspension_or_exclusion", "label": "Suspensions or permanent exclusion"},
    ]


async def test_a_council_may_write_sentences_and_codes_must_be_unique_in_a_need(
    outcomes_client: httpx.AsyncClient,
) -> None:
    current = (await outcomes_client.get("/v1/frameworks/families-first", headers=ADMIN)).json()
    sentences = json.loads(json.dumps(current))
    sentences["version"] = "descriptors-1"
    sentences["needs"][1]["descriptors"] = ["Poor school attendance", {"code": "exclusion", "label": "Excluded"}]
    created = await outcomes_client.post("/v1/frameworks", json=sentences, headers=ADMIN)
    assert created.status_code == 201, created.text
    stored = (await outcomes_client.get("/v1/frameworks/families-first", headers=ADMIN)).json()
    assert stored["needs"][1]["descriptors"] == [
        {"code": "poor_school_attendance", "label": "Poor school attendance"},
        {"code": "exclusion", "label": "Excluded"},
    ]
    twice = json.loads(json.dumps(current))
    twice["version"] = "descriptors-2"
    twice["needs"][1]["descriptors"] = [{"code": "absence", "label": "A"}, {"code": "absence", "label": "B"}]
    refused = await outcomes_client.post("/v1/frameworks", json=twice, headers=ADMIN)
    assert refused.status_code == 422
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/needs/1/descriptors/1/code"]


async def test_the_migration_gives_stored_sentences_their_codes_and_back(server_url: str) -> None:
    name = "eh_migrations_descriptor_codes"
    url = await migrated_database(server_url, name, OUTCOMES_DIR)
    try:
        await asyncio.to_thread(downgrade, OUTCOMES_DIR, url, "outcomes0009")
        sentences = ["Persistent absence (10% or more of sessions missed)", "A council's own words"]
        rule = {"kind": "practitioner_assessed", "params": {}}
        need = {"code": "education", "name": "Education", "rule": rule, "descriptors": sentences}
        old = {"code": "sf", "version": "1", "name": "SF", "min_needs": 1, "needs": [need]}
        conn = await asyncpg.connect(plain_url(url))
        try:
            await conn.execute(
                "INSERT INTO frameworks (id, code, version, name, definition, etag, builtin, is_current, loaded_by) "
                "VALUES (gen_random_uuid(), 'sf', '1', 'SF', $1::jsonb, '\"old\"', false, true, 'test')",
                json.dumps(old),
            )
            await asyncio.to_thread(upgrade, OUTCOMES_DIR, url, "head")
            definition, etag = await conn.fetchrow("SELECT definition, etag FROM frameworks WHERE code = 'sf'")
            assert json.loads(definition)["needs"][0]["descriptors"] == [
                {"code": "persistent_absence", "label": "Persistent absence (10% or more of sessions missed)"},
                {"code": "a_council_s_own_words", "label": "A council's own words"},
            ]
            assert etag != '"old"'
            await asyncio.to_thread(downgrade, OUTCOMES_DIR, url, "outcomes0009")
            definition = await conn.fetchval("SELECT definition FROM frameworks WHERE code = 'sf'")
            assert json.loads(definition)["needs"][0]["descriptors"] == sentences
        finally:
            await conn.close()
    finally:
        await drop_database(server_url, name)
