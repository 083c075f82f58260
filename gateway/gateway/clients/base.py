"""One pooled httpx client per upstream service, and the per-request view of it that carries the caller.

* `Upstream` wraps the long-lived `httpx.AsyncClient` (opened and closed with the app's lifespan).
* `Caller` is what passes through from the GraphQL request: the bearer token and the request id. The trace
  context is not the caller's business: the httpx instrumentation (`shared.tracing`) puts the current span's
  `traceparent` on every call, so a service's span has the gateway's (exported) client span as its parent.
* `ServiceAPI` binds the two for one request; the per-service subclasses name the REST calls in
  docs/contracts.md. Idempotent reads are retried once on a transport error or a 502/503/504; writes never.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from gateway.errors import ErrorCode, GatewayError, UpstreamError
from gateway.metrics import UPSTREAM_ERRORS, UPSTREAM_LATENCY, UPSTREAM_REQUESTS
from gateway.upstream import KeysetPage, page_of

log = structlog.get_logger("gateway.clients")
JSON = dict[str, Any]
M = TypeVar("M", bound=BaseModel)
P = TypeVar("P", bound=KeysetPage[Any])
BATCH_MAX = 100
RETRYABLE_STATUSES = frozenset({502, 503, 504})
MAX_LIST_PAGES = 20


class CallBudget:
    """How many upstream calls one GraphQL request may still make (issue 19 F): aliases, pages and joins
    together never fan out past `limit`; the fields that would are answered with `UPSTREAM_CALL_LIMIT`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    def spend(self, service: str) -> None:
        if self.spent >= self.limit:
            raise GatewayError(
                f"This request needs more than {self.limit} calls to the services; ask for fewer fields or smaller "
                f"pages (the {service} service was not called)",
                ErrorCode.UPSTREAM_CALL_LIMIT,
                limit=self.limit,
            )
        self.spent += 1


@dataclass(frozen=True, slots=True)
class Caller:
    """The GraphQL caller as the services should see it."""

    token: str | None
    request_id: str | None
    budget: CallBudget | None = None

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str], request_id: str | None, budget: CallBudget | None = None
    ) -> Caller:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
        return cls(token=bearer, request_id=request_id, budget=budget)

    def headers(self) -> dict[str, str]:
        """Headers for one outgoing call: the caller's token and the request id."""
        out: dict[str, str] = {}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        if self.request_id:
            out["X-Request-ID"] = self.request_id
        return out


def query_string(params: Mapping[str, str | int] | None) -> str:
    """`?k=v&…`, each key and value percent-encoded with the comma left as it is (a sub-delimiter, allowed in a
    query): a batch call's `ids=a,b,…` of up to a hundred UUIDs is then already encoded, and passes the standard
    library's check at C speed. Given `params` instead, httpx encodes every comma as `%2C` byte by byte and parses
    the URL three times over, character by character — some 8 % of the gateway's CPU on the family page."""
    if not params:
        return ""
    return "?" + "&".join(f"{quote(key, safe='')}={quote(str(value), safe=',')}" for key, value in params.items())


def segment(value: object) -> str:
    """One path segment from a client-supplied id: percent-encoded, so that no id (a slash, a control
    character, non-ASCII text, `..`) can change the path or make an invalid URL; the service answers 404/422."""
    encoded = quote(str(value), safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


class Upstream:
    """A long-lived, pooled client for one service."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout: float = 5.0,
        connect_timeout: float = 1.0,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        caller: Caller,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request (a retry for idempotent reads); raise `UpstreamError` for any error status."""
        attempts = 2 if method == "GET" else 1
        url = httpx.URL(self.base_url + path + query_string(params))
        for attempt in range(1, attempts + 1):
            if caller.budget is not None:
                caller.budget.spend(self.name)
            UPSTREAM_REQUESTS.labels(self.name).inc()
            started = time.perf_counter()
            try:
                response = await self.http.request(
                    method, url, json=json, headers={**caller.headers(), **(headers or {})}
                )
            except httpx.TransportError as exc:
                UPSTREAM_ERRORS.labels(self.name, "transport").inc()
                log.warning("upstream_unreachable", service=self.name, path=path, error=type(exc).__name__)
                if attempt < attempts:
                    continue
                raise UpstreamError(
                    self.name, None, f"The {self.name} service is unavailable ({type(exc).__name__})"
                ) from exc
            finally:
                UPSTREAM_LATENCY.labels(self.name).observe(time.perf_counter() - started)
            if response.status_code in RETRYABLE_STATUSES and attempt < attempts:
                UPSTREAM_ERRORS.labels(self.name, str(response.status_code)).inc()
                continue
            if response.status_code >= 400:
                UPSTREAM_ERRORS.labels(self.name, str(response.status_code)).inc()
                raise _error_from(self.name, response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover


def _error_from(service: str, response: httpx.Response) -> UpstreamError:
    status = response.status_code
    detail = f"The {service} service answered {status}"
    field_errors: list[JSON] = []
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str) and status < 500:
            detail = body["detail"]
        for err in body.get("errors") or []:
            if isinstance(err, dict):
                field_errors.append(
                    {"field": str(err.get("pointer", "")), "message": str(err.get("detail", "invalid"))}
                )
    if status >= 500:
        detail = f"The {service} service is unavailable (status {status})"
    return UpstreamError(service, status, detail, field_errors=field_errors, request_id=request_id)


class ServiceAPI:
    """One service as seen by one GraphQL request; answers are parsed into the gateway's upstream models."""

    def __init__(self, upstream: Upstream, caller: Caller) -> None:
        self.upstream = upstream
        self.caller = caller

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return (await self.upstream.request("GET", path, self.caller, params=params)).json()

    async def get_as(self, model: type[M], path: str, params: Mapping[str, str | int] | None = None) -> M:
        return self.parse_json(model, (await self.upstream.request("GET", path, self.caller, params=params)).content)

    async def send(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        response = await self.upstream.request(method, path, self.caller, json=body, headers=headers)
        return response.json() if response.content else None

    async def send_as(
        self, model: type[M], method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> M:
        return self.parse(model, await self.send(method, path, body, headers))

    def parse(self, model: type[M], body: Any) -> M:
        """The answer as the gateway's model of it; an answer of another shape is the service's contract broken."""
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise self._contract_broken(model, exc) from exc

    def parse_json(self, model: type[M], content: bytes) -> M:
        """`parse` straight from the answer's bytes: pydantic reads the JSON and validates in one pass, without
        building the intermediate dicts and lists (an answer that is not JSON is a broken contract too)."""
        try:
            return model.model_validate_json(content)
        except ValidationError as exc:
            raise self._contract_broken(model, exc) from exc

    def _contract_broken(self, model: type[BaseModel], exc: ValidationError) -> UpstreamError:
        name = self.upstream.name
        log.error("upstream_contract_broken", service=name, model=model.__name__, errors=exc.errors()[:5])
        return UpstreamError(name, 502, f"The {name} service answered in a shape the gateway cannot read")

    async def page(
        self, model: type[M], path: str, *, limit: int, cursor: str | None, **filters: Any
    ) -> tuple[list[M], str | None]:
        """One page of a list endpoint: `(items, next_cursor)`."""
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        params.update(_filter_params(filters))
        found = await self.get_as(page_of(model), path, params)
        return list(found.items), found.next_cursor

    async def keyset_page(
        self,
        model: type[P],
        path: str,
        request: PageRequest,
        *,
        size: str = "limit",
        after: str = "cursor",
        **filters: Any,
    ) -> P:
        """One page of a list that pages both ways, as `model` (a `KeysetPage`); its cursors match its items."""
        params = request.params(size=size, after=after)
        params.update(_filter_params(filters))
        found = await self.get_as(model, path, params)
        if len(found.cursors) != len(found.items):
            name = self.upstream.name
            log.error("upstream_contract_broken", service=name, model=model.__name__, errors=["cursors"])
            raise UpstreamError(name, 502, f"The {name} service answered in a shape the gateway cannot read")
        return found

    async def batch(self, model: type[M], path: str, param: str, ids: Sequence[str], **filters: Any) -> list[M]:
        """A batch lookup (`?ids=a,b,c`), 100 ids a call; follows `next_cursor` when an id has many rows."""
        items: list[M] = []
        for start in range(0, len(ids), BATCH_MAX):
            chunk = ids[start : start + BATCH_MAX]
            params: dict[str, str | int] = {param: ",".join(chunk), "limit": BATCH_MAX}
            params.update(_filter_params(filters))
            for _ in range(MAX_LIST_PAGES):
                found = await self.get_as(page_of(model), path, params)
                items.extend(found.items)
                if not found.next_cursor:
                    break
                params["cursor"] = found.next_cursor
        return items


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page of a service's list to ask for: `limit` items after `after`, right before `before`, or the last
    `limit` (`from_end`); a service answers each in list order (`shared.pagination.Window`)."""

    limit: int
    after: str | None = None
    before: str | None = None
    from_end: bool = False

    def params(self, *, size: str = "limit", after: str = "cursor") -> dict[str, str | int]:
        params: dict[str, str | int] = {size: self.limit}
        if self.after is not None:
            params[after] = self.after
        if self.before is not None:
            params["before"] = self.before
        if self.from_end:
            params["from_end"] = "true"
        return params


def _filter_params(filters: Mapping[str, Any]) -> dict[str, str | int]:
    out: dict[str, str | int] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, int):
            out[key] = value
        elif isinstance(value, Iterable) and not isinstance(value, str):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out
