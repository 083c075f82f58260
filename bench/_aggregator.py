"""The gateway benchmark's baseline: a hand-written REST aggregator for the family page, as a server of its own.

`uvicorn _aggregator:aggregator_app --factory` with PYTHONPATH=bench and the services' base URLs in
`AGGREGATOR_{CASES,REFERRALS,OUTCOMES}_URL`. `GET /family-page?hub=&first=` makes the six calls the gateway makes
(every independent one in parallel, batched by id, the caller's bearer token passed on) with one pooled httpx
client per process, and answers the page's fields in the shape of the GraphQL query, encoded with orjson. It is
what a careful backend-for-frontend written by hand for that one page would be: no middleware, no schema.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from fastapi import FastAPI, Request, Response

JSON = dict[str, Any]


def aggregator_app() -> FastAPI:
    urls = {svc: os.environ[f"AGGREGATOR_{svc.upper()}_URL"] for svc in ("cases", "referrals", "outcomes")}
    state: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            state["client"] = client
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def ready() -> JSON:
        return {"status": "ready"}

    @app.get("/family-page")
    async def family_page(request: Request, hub: str, first: int) -> Response:
        headers = {"Authorization": request.headers.get("authorization", "")}
        page = await family_page_data(state["client"], urls, headers, hub, first)
        return Response(orjson.dumps(page), media_type="application/json")

    return app


async def family_page_data(
    client: httpx.AsyncClient, urls: dict[str, str], headers: dict[str, str], hub: str, first: int
) -> JSON:
    async def body(service: str, path: str, **params: Any) -> JSON:
        response = await client.get(f"{urls[service]}{path}", params=params, headers=headers)
        response.raise_for_status()
        found: JSON = orjson.loads(response.content)
        return found

    async def items(service: str, path: str, **params: Any) -> list[JSON]:
        found: list[JSON] = (await body(service, path, **params))["items"]
        return found

    page = await body("cases", "/v1/families", hub=hub, limit=first)
    families = page["items"]
    ids = ",".join(f["id"] for f in families)
    all_cases, referrals, progress = await asyncio.gather(
        items("cases", "/v1/cases", family_ids=ids, limit=100),
        items("referrals", "/v1/referrals", family_ids=ids, limit=100),
        items("outcomes", "/v1/progress", family_ids=ids, limit=100),
    )
    cases = {c["family_id"]: c for c in all_cases if c["status"] != "closed"}
    worker_ids = ",".join(sorted({c["lead_worker_id"] for c in cases.values() if c.get("lead_worker_id")}))
    case_ids = ",".join(c["id"] for c in cases.values())
    workers, plans = await asyncio.gather(
        items("cases", "/v1/workers", ids=worker_ids, limit=100),
        items("cases", "/v1/plans", case_ids=case_ids, limit=100),
    )
    by_worker = {w["id"]: {"id": w["id"], "name": w["name"]} for w in workers}
    by_case = {p["case_id"]: {"goals": [{"need": g.get("need"), "description": g["description"]} for g in p["goals"]]}
               for p in plans}  # fmt: skip
    nodes = []
    for family in families:
        case = cases.get(family["id"])
        nodes.append(
            {
                "id": family["id"],
                "members": [_member(m) for m in family["members"]],
                "currentCase": _case(case, by_worker, by_case) if case else None,
                "referrals": [
                    {"id": r["id"], "status": r["status"]} for r in referrals if r["family_id"] == family["id"]
                ],
                "progress": [
                    {"need": n["need"], "met": n.get("met")}
                    for p in progress if p["family_id"] == family["id"] for n in p.get("needs", [])
                ],
            }
        )  # fmt: skip
    end = page.get("next_cursor")
    return {"families": {"nodes": nodes, "pageInfo": {"hasNextPage": end is not None, "endCursor": end}}}


def _member(member: JSON) -> JSON:
    person = member.get("person")
    found = {"id": person["id"], "givenName": person.get("given_name")} if person else None
    return {"role": member.get("role"), "person": found}


def _case(case: JSON, workers: dict[str, JSON], plans: dict[str, JSON]) -> JSON:
    worker_id = case.get("lead_worker_id")
    return {
        "id": case["id"],
        "leadWorker": workers.get(worker_id) if worker_id else None,
        "plan": plans.get(case["id"]),
    }
