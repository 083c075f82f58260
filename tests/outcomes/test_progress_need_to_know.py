"""Progress follows the cases service's need-to-know (issue 19, finding C).

The real cases app runs in process beside outcomes; outcomes asks it, with the practitioner's own token, which
families they may see. A practitioner of the family's hub who neither leads its case nor is in the team around
the family gets the same 404 as for an unknown id, and nothing in a batch.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support import auth, make_token


def _manager(hub: str) -> dict[str, str]:
    return auth(make_token("hub_manager", sub=f"manager-{hub}", agency="LCC", agency_type="council", hubs=[hub]))


async def test_practitioner_progress_follows_the_cases_need_to_know(
    outcomes: httpx.AsyncClient, led_family: Any, kit: Any
) -> None:
    family_id, unknown = led_family.family_id, str(uuid.uuid4())

    # The lead worker and the team member read the family's progress, alone and in a batch.
    for who in (led_family.lead, led_family.team):
        headers = kit.practitioner(who)
        response = await outcomes.get(f"/v1/families/{family_id}/progress", headers=headers)
        assert response.status_code == 200, (who, response.text)
        assert response.json()["family_id"] == family_id
        batch = await outcomes.get(f"/v1/progress?family_ids={family_id},{unknown}", headers=headers)
        assert [p["family_id"] for p in batch.json()["items"]] == [family_id], who

    # A practitioner of the same hub with no part in the case: as for an unknown id, and absent from a batch.
    outsider = kit.practitioner(led_family.outsider)
    hidden = await outcomes.get(f"/v1/families/{family_id}/progress", headers=outsider)
    missing = await outcomes.get(f"/v1/families/{unknown}/progress", headers=outsider)
    assert hidden.status_code == missing.status_code == 404, hidden.text
    assert hidden.headers["content-type"] == missing.headers["content-type"] == "application/problem+json"
    assert hidden.json()["detail"] == missing.json()["detail"].replace(unknown, family_id)
    batch = await outcomes.get(f"/v1/progress?family_ids={family_id}", headers=outsider)
    assert batch.status_code == 200 and batch.json()["items"] == []

    # Hub managers keep their hub scope (decided in SQL, without asking cases).
    assert (await outcomes.get(f"/v1/families/{family_id}/progress", headers=_manager("north"))).status_code == 200
    assert (await outcomes.get(f"/v1/families/{family_id}/progress", headers=_manager("south"))).status_code == 404
