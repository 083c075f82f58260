"""A lean HTTP/1.1 transport for intake's calls to the cases person index (`POST /v1/people/match`).

Under intake load the call to cases cost the referrals process more CPU than its database write, much of it in
httpcore's connection-pool bookkeeping (every request polls every pooled connection for expiry). This transport
keeps kept-alive connections in a plain stack: a request takes the most recently used idle connection (or opens
one), writes the request, reads the answer (Content-Length or chunked) and puts the connection back. It serves an
`httpx.AsyncClient`, so callers and tests keep httpx's API; the W3C trace context is passed on here, as the
httpx instrumentation does for the default transport. Connections idle longer than `keepalive_seconds` are
closed, and a kept-alive connection the server closed meanwhile is retried once on a fresh one (the match is
a read).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from shared.tracing import current_traceparent

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter, float]


class KeepAliveTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_idle: int = 64, keepalive_seconds: float = 30.0) -> None:
        self.max_idle = max_idle
        self.keepalive_seconds = keepalive_seconds
        self._idle: dict[tuple[str, int], list[_Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            raise httpx.UnsupportedProtocol("KeepAliveTransport speaks plain HTTP/1.1 to services on the network")
        origin = (request.url.host, request.url.port or 80)
        data = self._encode(request, await request.aread())
        reused = self._take(origin)
        if reused is not None:
            try:
                return await self._exchange(origin, reused, request, data)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass  # the server closed the idle connection: once more, on a new one
        try:
            reader, writer = await asyncio.open_connection(*origin)
        except OSError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        try:
            return await self._exchange(origin, (reader, writer, 0.0), request, data)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc

    def _take(self, origin: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if now - connection[2] < self.keepalive_seconds and not connection[1].is_closing():
                return connection
            connection[1].close()
        return None

    @staticmethod
    def _encode(request: httpx.Request, body: bytes) -> bytes:
        target = request.url.raw_path.decode("ascii")
        lines = [f"{request.method} {target} HTTP/1.1".encode()]
        # no Accept-Encoding: the answer is read as it comes, never compressed
        lines += [name + b": " + value for name, value in request.headers.raw if name.lower() != b"accept-encoding"]
        if "traceparent" not in request.headers and (traceparent := current_traceparent()):
            lines.append(b"traceparent: " + traceparent.encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    async def _exchange(
        self, origin: tuple[str, int], connection: _Connection, request: httpx.Request, data: bytes
    ) -> httpx.Response:
        reader, writer, _ = connection
        done = False
        try:
            writer.write(data)
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head[:-4].split(b"\r\n")
            status = int(status_line.split(b" ", 2)[1])
            headers = [tuple(line.split(b":", 1)) for line in header_lines]
            fields = {name.strip().lower(): value.strip() for name, value in headers}
            keep = fields.get(b"connection", b"").lower() != b"close"
            if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
                content = await self._chunked(reader)
            elif b"content-length" in fields:
                content = await reader.readexactly(int(fields[b"content-length"]))
            else:
                content, keep = await reader.read(), False
            done = keep
            return httpx.Response(
                status, headers=[(n.strip(), v.strip()) for n, v in headers], content=content, request=request
            )
        finally:
            if done and len(self._idle.setdefault(origin, [])) < self.max_idle:
                self._idle[origin].append((reader, writer, time.monotonic()))
            else:  # failed, cancelled (a timeout), or not to be kept: never reused
                writer.close()

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers are sent by our services
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for _, writer, _ in idle:
                with contextlib.suppress(Exception):
                    writer.close()
        self._idle.clear()
