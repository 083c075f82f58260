"""Issue 22: the family's lead worker records their professional judgement on a `practitioner_assessed` need.

The real cases app runs in process beside outcomes (`led_family` in conftest); outcomes asks it, with
the practitioner's own token, whether they lead the family's open case.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support import auth, make_token

ANALYST = auth(make_token("analyst", agency="LCC", agency_type="council"))


async def test_the_lead_worker_records_a_judgement_with_evidence_audited(
    outcomes: httpx.AsyncClient, outcomes_sessions: async_sessionmaker[AsyncSession], led_family: Any, kit: Any
) -> None:
    family_id = led_family.family_id
    url = f"/v1/families/{family_id}/judgements"
    body = {"need": "health", "met": True, "evidence": "CAMHS discharge letter", "assessed_on": "2025-06-01"}

    # The team around the family may read progress but not judge; an outsider does not see the family at all.
    team_member = await outcomes.post(url, json=body, headers=kit.practitioner(led_family.team))
    assert team_member.status_code == 403, team_member.text
    outsider = await outcomes.post(url, json=body, headers=kit.practitioner(led_family.outsider))
    assert outsider.status_code == 404
    manager = auth(make_token("hub_manager", agency="LCC", agency_type="council", hubs=["north"]))
    assert (await outcomes.post(url, json=body, headers=manager)).status_code == 403

    headers = kit.practitioner(led_family.lead)
    wrong_rule = await outcomes.post(url, json=body | {"need": "education"}, headers=headers)
    assert wrong_rule.status_code == 422 and "attendance_threshold rule" in wrong_rule.json()["errors"][0]["detail"]
    not_identified = await outcomes.post(url, json=body | {"need": "substance_use"}, headers=headers)
    assert not_identified.status_code == 422 and not_identified.json()["errors"][0]["pointer"] == "/need"
    no_evidence = await outcomes.post(url, json=body | {"evidence": " "}, headers=headers)
    assert no_evidence.status_code == 422 and no_evidence.json()["errors"][0]["pointer"] == "/evidence"

    recorded = await outcomes.post(url, json=body, headers=headers)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["recorded_by"] == f"{led_family.lead}@LCC"
    assert recorded.json()["already_recorded"] is False
    assert (await outcomes.post(url, json=body, headers=headers)).json()["already_recorded"] is True

    run = await outcomes.post("/v1/evaluations", json={"family_id": family_id, "as_of": "2026-01-31"}, headers=ANALYST)
    assert run.status_code == 201
    progress = (await outcomes.get(f"/v1/families/{family_id}/progress", headers=headers)).json()
    health = next(n for n in progress["needs"] if n["need"] == "health")
    assert health["met"] is True and health["evidence"][0]["fields"]["evidence"] == "CAMHS discharge letter"
    async with outcomes_sessions() as session:
        audited = (
            await session.execute(
                text("SELECT actor FROM audit_log WHERE record_type = 'practitioner_judgement' AND record_id = :f"),
                {"f": family_id},
            )
        ).all()
    assert [a[0] for a in audited] == [f"{led_family.lead}@LCC"] * 2
