"""Walk a keyset-paged list endpoint (`shared.pagination`) forward and backward through its HTTP interface, and
check what each page says of its neighbours."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

MAX_PAGES = 50


@dataclass
class Lister:
    """One list endpoint: where, as whom, with which filters, and how it names its page size and cursor."""

    client: httpx.AsyncClient
    path: str
    headers: dict[str, str]
    filters: dict[str, Any] = field(default_factory=dict)
    size_name: str = "limit"
    after_name: str = "cursor"
    key: Callable[[dict[str, Any]], Any] = lambda item: item["id"]
    """What names an item (an id, or a pair where the answer has no id of its own)."""

    async def get(self, size: int, **params: Any) -> httpx.Response:
        return await self.client.get(
            self.path, params={**self.filters, self.size_name: size, **params}, headers=self.headers
        )

    async def page(self, size: int, **params: Any) -> dict[str, Any]:
        response = await self.get(size, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert len(body["cursors"]) == len(body["items"]), body
        return body

    async def forward(self, size: int) -> list[Any]:
        """Every item from the start, following `next_cursor`; the first page has nothing before it."""
        seen: list[Any] = []
        body = await self.page(size)
        assert body["has_previous"] is False and body["prev_cursor"] is None
        for _ in range(MAX_PAGES):
            seen += [self.key(item) for item in body["items"]]
            if body["next_cursor"] is None:
                return seen
            assert body["next_cursor"] == body["cursors"][-1]
            body = await self.page(size, **{self.after_name: body["next_cursor"]})
            assert body["has_previous"] is True and body["prev_cursor"] == body["cursors"][0]
        raise AssertionError("the list did not end")

    async def backward(self, size: int) -> list[Any]:
        """Every item from the end, following `prev_cursor` with `before`; pages stay in list order."""
        seen: list[Any] = []
        body = await self.page(size, from_end="true")
        assert body["next_cursor"] is None, "nothing follows the last page"
        for _ in range(MAX_PAGES):
            seen = [self.key(item) for item in body["items"]] + seen
            if not body["has_previous"]:
                assert body["prev_cursor"] is None
                return seen
            body = await self.page(size, before=body["prev_cursor"])
            assert body["next_cursor"] == body["cursors"][-1], "the item of `before` follows the page"
        raise AssertionError("the list did not end")

    async def check_both_ways(self, size: int, expected: list[Any]) -> None:
        """Forward and backward give the same items in the same order; an item's cursor resumes either way."""
        forward = await self.forward(size)
        assert sorted(map(str, forward)) == sorted(map(str, expected)), (forward, expected)
        assert await self.backward(size) == forward
        whole = await self.page(100)
        assert [self.key(item) for item in whole["items"]] == forward
        middle = len(forward) // 2
        cursor = whole["cursors"][middle]
        after = await self.page(2, **{self.after_name: cursor})
        assert [self.key(item) for item in after["items"]] == forward[middle + 1 : middle + 3]
        before = await self.page(2, before=cursor)
        assert [self.key(item) for item in before["items"]] == forward[max(0, middle - 2) : middle]
        assert before["has_previous"] is (middle > 2)
        await self.check_refusals(cursor)

    async def check_refusals(self, cursor: str) -> None:
        """Both directions at once, or a cursor this API did not issue, are 422 problems naming the parameter."""
        for params, pointer in (
            ({self.after_name: cursor, "before": cursor}, "#query/before"),
            ({"before": cursor, "from_end": "true"}, "#query/from_end"),
            ({"before": "not-a-cursor"}, "#query/before"),
            ({"before": cursor[:-4] + "AAAA"}, "#query/before"),
            ({self.after_name: "bm90IGEgY3Vyc29y"}, f"#query/{self.after_name}"),
        ):
            refused = await self.get(2, **params)
            assert refused.status_code == 422, (params, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert [e["pointer"] for e in refused.json()["errors"]] == [pointer], refused.text


async def page_plan(sessions: async_sessionmaker[AsyncSession], table: str, request: Awaitable[httpx.Response]) -> str:
    """The plan (EXPLAIN, with the same parameters) of the page query on `table` that `request` (a request to the
    service, not yet awaited) runs, on the test's connection. Sequential scans and sorts are priced out, so the plan
    still sorts when no index gives the list's order, however few rows the test stored: a plan without a Sort reads
    the page off an index and stops after it."""
    connection = sessions.kw["bind"]
    assert isinstance(connection, AsyncConnection)
    pages: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement and "LIMIT" in statement:
            pages.append((statement, parameters))

    event.listen(connection.sync_engine, "before_cursor_execute", capture)
    try:
        response = await request
    finally:
        event.remove(connection.sync_engine, "before_cursor_execute", capture)
    assert response.status_code == 200, response.text
    assert len(pages) == 1, pages
    statement, parameters = pages[0]
    await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    await connection.exec_driver_sql("SET LOCAL enable_sort = off")
    rows = (await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)).all()
    await connection.exec_driver_sql("RESET enable_seqscan")
    await connection.exec_driver_sql("RESET enable_sort")
    return "\n".join(row[0] for row in rows)
