"""`PlatformMiddleware`: the one ASGI middleware every app of the platform runs, services and gateway alike.

One layer instead of seven: each layer cost a coroutine frame, a `send` wrapper and its own pass over the headers on
every request (a quarter of the referrals process's CPU under load, issue 20). In the order a request meets them:

1. the request id — the caller's `X-Request-ID` or a new one — bound for the logs and outgoing calls, echoed back;
2. the rate limit (`shared.limits.RateLimiter`): 429 with `Retry-After`; every answer under it says what is left;
3. the body size limit (`shared.limits.BodyLimit`): 413 on the declared length, and while streaming;
4. the time limit (`shared.limits.TimeLimit`): 503 when the handler takes too long;
5. error masking: an exception no handler claimed becomes problem+json (`shared.errors.unexpected_error_response`);
6. on every answer `Cache-Control: no-store` and `nosniff` (`shared.headers`), and the RFC 9745 `Deprecation` and
   `Link rel="deprecation"` headers when the request used a deprecated name (`shared.deprecation`), then the
   Prometheus metrics and the `http_request` access line, both by route template (`shared.metrics`,
   `shared.logging`).

The OpenTelemetry server span is opened outside it (`shared.tracing.instrument_app`), so its log lines carry the
trace ids; this layer names the span by its route template and records on it an exception no handler claimed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.deprecation import begin_request, deprecation_headers, end_request
from shared.errors import problem_response, unexpected_error_response
from shared.headers import with_private_headers
from shared.limits import BodyLimit, BodyTooLarge, RateLimiter, TimeLimit
from shared.logging import UNLOGGED_PATHS, bind_request_id, log_request, request_id_from, reset_request_id
from shared.metrics import UNMATCHED, observe_request, route_template
from shared.tracing import name_server_span, record_error


@dataclass(frozen=True)
class RequestPolicy:
    """What `PlatformMiddleware` enforces; a part left None is not enforced."""

    body: BodyLimit | None = None
    rate: RateLimiter | None = None
    time: TimeLimit | None = None


class _Exchange:
    """One request's answer as it goes out: its status, its route, the headers it gets on the way."""

    __slots__ = ("extra", "route", "scope", "send", "status")

    def __init__(self, scope: Scope, send: Send, extra: list[tuple[bytes, bytes]]) -> None:
        self.scope = scope
        self.send = send
        self.extra = extra
        self.status = 500
        self.route: str | None = None
        """Known once the answer starts (routing is done by then): `started` too."""

    @property
    def started(self) -> bool:
        return self.route is not None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.route = route_template(self.scope)
            # the span ends with the last body message: name it now
            name_server_span(self.scope.get("method", "GET"), self.route if self.route != UNMATCHED else None)
            headers = [*message.get("headers", ()), *self.extra, *deprecation_headers()]
            message["headers"] = with_private_headers(headers)
        await self.send(message)


class PlatformMiddleware:
    def __init__(self, app: ASGIApp, policy: RequestPolicy | None = None) -> None:
        self.app = app
        self.policy = policy or RequestPolicy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming_id = authorization = length = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                incoming_id = incoming_id or value
            elif key == b"authorization":
                authorization = authorization or value
            elif key == b"content-length":
                length = value
        rid = request_id_from(incoming_id)
        token = bind_request_id(rid)
        deprecations = begin_request()
        exchange = _Exchange(scope, send, [(b"x-request-id", rid.encode("latin-1"))])
        try:
            await self._limited(scope, receive, exchange, authorization, length)
        finally:
            route = exchange.route or route_template(scope)
            method = scope.get("method", "GET")
            seconds = time.perf_counter() - started
            observe_request(method, route, exchange.status, seconds)
            if scope.get("path") not in UNLOGGED_PATHS:
                log_request(method, route, exchange.status, seconds)
            reset_request_id(token)
            end_request(deprecations)

    async def _limited(
        self, scope: Scope, receive: Receive, exchange: _Exchange, authorization: bytes | None, length: bytes | None
    ) -> None:
        """The rate and body limits before the handler runs; then the handler, within the time limit."""
        path: str = scope.get("path", "")
        rate, body = self.policy.rate, self.policy.body
        if rate is not None and rate.applies_to(path):
            client = await rate.client(scope, authorization)
            wait = rate.take(client)
            exchange.extra.extend(rate.headers(client))
            if wait > 0:
                problem = rate.problem(wait)
                await problem_response(problem.to_problem(), problem.headers)(scope, receive, exchange)
                return
        if body is not None:
            limit = body.for_path(path)
            try:
                declared = int(length) if length is not None else 0
            except ValueError:
                declared = 0
            if declared > limit:
                await self._answer_too_large(scope, receive, exchange, limit)
                return
            receive = _limited_receive(receive, limit)
        await self._handle(scope, receive, exchange, path)

    async def _handle(self, scope: Scope, receive: Receive, exchange: _Exchange, path: str) -> None:
        """The handler within the time limit (503 when it runs out before the answer started)."""
        seconds = self.policy.time.for_path(path) if self.policy.time is not None else 0
        if seconds <= 0:
            await self._masked(scope, receive, exchange, path)
            return
        try:
            async with asyncio.timeout(seconds):
                await self._masked(scope, receive, exchange, path)
        except TimeoutError:  # the deadline's own: a handler's TimeoutError was masked inside
            if exchange.started:
                raise
            problem = TimeLimit.problem(seconds)
            await problem_response(problem.to_problem(), problem.headers)(scope, receive, exchange)

    async def _masked(self, scope: Scope, receive: Receive, exchange: _Exchange, path: str) -> None:
        """The handler; an exception it lets out before answering becomes problem+json, never a trace."""
        try:
            await self.app(scope, receive, exchange)
        except BodyTooLarge as exc:
            if exchange.started:
                raise
            await self._answer_too_large(scope, receive, exchange, exc.limit)
        except Exception as exc:
            record_error(exc)
            if exchange.started:
                raise
            await unexpected_error_response(exc, path)(scope, receive, exchange)

    @staticmethod
    async def _answer_too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        await problem_response(BodyLimit.problem(limit).to_problem())(scope, receive, send)


def _limited_receive(receive: Receive, limit: int) -> Receive:
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return limited_receive
