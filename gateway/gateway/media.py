"""GraphQL over HTTP media types (issue 18): `application/graphql-response+json` when the client accepts it.

The GraphQL-over-HTTP specification's newer media type lets a client tell a request error (the document did not
parse, failed validation, or its variables could not be coerced: there is no `data`) from a response with field
errors by the status code: such a request error is 400 under `application/graphql-response+json`, while under
the legacy `application/json` every well-formed request answers 200. A client that accepts both (with no lower
`q` for the new type) gets the new type; one that sends no `Accept`, `*/*` or only `application/json` gets JSON.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

GRAPHQL_RESPONSE = "application/graphql-response+json"


def prefers_graphql_response(accept: str) -> bool:
    quality = {GRAPHQL_RESPONSE: -1.0, "application/json": -1.0}
    for media_range in accept.split(","):
        media, *params = (part.strip() for part in media_range.split(";"))
        if media.lower() not in quality:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media.lower()] = max(quality[media.lower()], q)
    return quality[GRAPHQL_RESPONSE] > 0 and quality[GRAPHQL_RESPONSE] >= quality["application/json"]


class GraphQLResponseMediaType:
    """On `path`: answers JSON results as `application/graphql-response+json` (400 for a request error) when the
    client prefers it; leaves every other answer (GraphiQL's page, problems) as it is."""

    def __init__(self, app: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        accept = ", ".join(v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"accept")
        if not prefers_graphql_response(accept):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = bytearray()

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                if not _content_type(message).startswith("application/json"):
                    start = None
                    await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                await _send_as_graphql_response(send, start, bytes(body))

        await self.app(scope, receive, buffered)


def _is_request_error(result: Any) -> bool:
    """A document that did not parse or validate, or variables that could not be coerced: execution never started,
    so `data` is absent or null and no error has a path (a field error always has one)."""
    if not isinstance(result, dict) or result.get("data") is not None or not result.get("errors"):
        return False
    return all(isinstance(e, dict) and not e.get("path") for e in result["errors"])


def _content_type(start: Message) -> str:
    return next((v.decode("latin-1").lower() for k, v in start.get("headers", []) if k == b"content-type"), "")


async def _send_as_graphql_response(send: Send, start: Message, body: bytes) -> None:
    status = int(start["status"])
    try:
        result: Any = json.loads(body)
    except ValueError:
        result = None
    if status == 200 and _is_request_error(result):
        status = 400  # nothing was executed: the answer holds errors and no `data` entry
        body = json.dumps({k: v for k, v in result.items() if k != "data"}, separators=(",", ":")).encode()
    headers = [(k, v) for k, v in start.get("headers", []) if k not in (b"content-type", b"content-length")]
    headers.append((b"content-type", f"{GRAPHQL_RESPONSE}; charset=utf-8".encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
