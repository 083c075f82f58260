"""What several outcomes API tests do the same way: deliver a cases event, and set up a family whose needs are met.

(The helpers that work in process, without HTTP, are the `kit` fixture's, in conftest.)
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.events import sign_headers
from shared.settings import DEV_EVENT_SECRET
from tests.support import auth, make_token

ANALYST = auth(make_token("analyst", agency="LCC", agency_type="council"))


async def send_event(client: httpx.AsyncClient, type_: str, data: dict[str, Any], event_id: str | None = None) -> Any:
    """Deliver a signed `cases` event to the service's consumer endpoint, as the outbox relay does; its answer."""
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": event_id or str(uuid.uuid4()),
            "source": "cases",
            "type": type_,
            "time": datetime.now(UTC).isoformat(),
            "data": data,
        }
    )
    headers = {
        "content-type": "application/cloudevents+json",
        **sign_headers(DEV_EVENT_SECRET, str(uuid.uuid4()), body),
    }
    response = await client.post("/v1/events", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def met_family(
    client: httpx.AsyncClient, kit: Any, needs: list[str], *, evidence: str = "GP letter", **assessment: Any
) -> dict[str, Any]:
    """A family (a parent and a child) assessed on 2025-01-10 with `needs`, whose education and health needs are met
    and sustained on 2026-01-31: three good terms, a practitioner's judgement of health with `evidence`, and the
    case closed on 2025-07-01 with its needs met. Returns the assessment as sent."""
    adult, child = kit.person("parent_carer", "1985-01-01"), kit.person("child", "2015-05-01")
    data: dict[str, Any] = kit.assessment(needs, [adult, child], assessed_on="2025-01-10", **assessment)
    await send_event(client, "case.assessment_completed", data)
    pid = child["person_id"]
    rows = [
        kit.term(pid, s, e, 100, 95)
        for s, e in (("2025-01-06", "2025-03-28"), ("2025-04-22", "2025-07-18"), ("2025-09-03", "2025-12-19"))
    ]
    rows.append(
        {
            "kind": "practitioner_assessment",
            "family_id": data["family_id"],
            "need": "health",
            "met": True,
            "assessed_on": "2025-06-01",
            "evidence": evidence,
        }
    )
    response = await client.post("/v1/observations", json={"rows": rows}, headers=ANALYST)
    assert response.status_code == 200, response.text
    assert response.json()["rows_loaded"] == 4
    closed = {"case_id": data["case_id"], "family_id": data["family_id"], "closed_on": "2025-07-01"}
    await send_event(client, "case.closed", closed | {"outcome": "needs_met"})
    return data
