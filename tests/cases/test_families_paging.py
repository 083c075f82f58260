"""The families list pages both ways: forward with `cursor`, backward with `before` (or from the end), the same
families in the same order; both directions at once are a 422 naming `before`."""

from __future__ import annotations

import httpx

from tests.cases.conftest import World, family_body
from tests.support.factories import upn as make_upn
from tests.support.paging import Lister


async def test_families_page_backward_as_they_page_forward(client: httpx.AsyncClient, world: World) -> None:
    created = []
    for i in range(7):
        response = await client.post("/v1/families", json=family_body(upn=make_upn(740 + i)), headers=world.manager())
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    families = Lister(client, "/v1/families", world.manager(), {"hub": "north"})
    await families.check_both_ways(3, created)
    assert await families.forward(3) == sorted(created), "ordered by id"
    batch = (await families.get(100, ids=",".join(created[:2]))).json()  # a batch lookup is not a page
    assert {f["id"] for f in batch["items"]} == set(created[:2]) and batch["cursors"] == []
