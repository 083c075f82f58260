"""Relay global object identification (issue 18): the `Node` interface, and `node(id:)` / `nodes(ids:)`.

Every id of the platform is a UUID, unique across services and types, so a node's `id` is the id the rest of the
graph already uses (no re-encoding that would break existing clients). A lookup asks each service's batch
endpoint once for the ids not yet found (families, people, cases and workers in cases, referrals in referrals), through
the request's DataLoaders; an id the caller may not see, or of no known object, answers null.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import strawberry

from gateway.errors import ErrorCode, GatewayError, UpstreamError


@strawberry.interface(description="An object with an id unique across the platform, refetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's id, unique across the platform.")


Lookup = tuple[Callable[[list[str]], Awaitable[list[Any]]], Callable[[Any], Node]]


async def find_nodes(ids: Sequence[str], lookups: Sequence[Lookup], max_ids: int) -> list[Node | None]:
    """The object of each id, or None: each lookup runs once for all the ids still unknown, in turn."""
    if len(ids) > max_ids:
        raise GatewayError(f"`ids` holds {len(ids)} ids; at most {max_ids} at a time", ErrorCode.PAGE_SIZE_EXCEEDED)
    wanted = [i for i in dict.fromkeys(ids) if _is_uuid(i)]
    found: dict[str, Node] = {}
    for load, build in lookups:  # one after the other, stopping once every id is found
        missing = [key for key in wanted if key not in found]
        if not missing:
            break
        for key, answer in zip(missing, await _visible(load, missing), strict=True):
            if answer is not None:
                found[key] = build(answer)
    return [found.get(i) for i in ids]


async def _visible(load: Callable[[list[str]], Awaitable[list[Any]]], ids: list[str]) -> list[Any]:
    """One lookup; a service that refuses the caller this kind of object (403) has none of the ids to show."""
    try:
        return await load(ids)
    except UpstreamError as exc:
        if exc.status == 403:
            return [None] * len(ids)
        raise


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
