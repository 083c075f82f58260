"""Where partner webhooks may point, and the guarded delivery to them.

A partner's URL is checked twice (finding F4 in docs/security.md): at registration (`check_url`, `check_resolves`)
and at every delivery (`DeliveryGuard`, the transport of the relay's HTTP client, `delivery_client`), which
resolves the host once, refuses the attempt when any address is not public, and connects to the address it checked
— so a DNS answer that changes after registration (rebinding) cannot point a delivery inside the council's network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import structlog

from shared.errors import UnprocessableContent, field_error
from shared.settings import Environment

log = structlog.get_logger("referrals.webhooks")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def relaxed(environment: Environment) -> bool:
    """Development and test accept http and local receivers (the tests and `earlyhelp up` use them)."""
    return environment in (Environment.development, Environment.test)


def is_public(address: Address) -> bool:
    """A unicast address on the public internet: not private, loopback, link-local, shared (CGNAT), reserved,
    unspecified or multicast — also when it is an IPv4 address inside IPv6 (mapped, 6to4, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order (the one function both checks use)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def check_url(url: str, environment: Environment) -> str:
    """Only https outside development and test, and never an address inside the council's network."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise _bad_url(f"not a URL ({exc})") from exc
    relaxed = environment in (Environment.development, Environment.test)
    allowed = ("https", "http") if relaxed else ("https",)
    if parsed.scheme not in allowed or not parsed.host:
        raise _bad_url("the webhook URL must be https://host/…" + (" (or http in development)" if relaxed else ""))
    if not relaxed:
        try:
            address = ipaddress.ip_address(parsed.host)
        except ValueError:
            address = None
        if parsed.host == "localhost" or (address is not None and not address.is_global):
            raise _bad_url("the webhook URL must point at a public address")
    return str(parsed)


async def check_resolves(url: str) -> None:
    """Every address the host resolves to must be public (`http://2130706433/`, `127.1` or a name pointing
    inside the council's network are refused). Checked at registration; see docs/security.md (F4) for the
    DNS-rebinding window this leaves, closed at delivery by `DeliveryGuard`)."""
    parsed = httpx.URL(url)
    try:
        addresses = await resolve(parsed.host, parsed.port or 443)
    except OSError as exc:
        raise _bad_url(f"the host {parsed.host!r} does not resolve") from exc
    if not addresses or not all(is_public(ipaddress.ip_address(a)) for a in addresses):
        raise _bad_url("the webhook URL must point at a public address")


def _bad_url(message: str) -> UnprocessableContent:
    return UnprocessableContent(f"Invalid webhook URL: {message}", errors=[field_error("/url", message)])


class RefusedDestination(httpx.TransportError):
    """A delivery not sent because its host resolves (now) to an address that is not public."""

    delivery_reason = "not sent: the webhook host does not resolve to a public address (checked at every delivery)"
    """What the delivery log shows (`shared.events.relay.failure_reason`): fixed, without the addresses."""


class DeliveryGuard(httpx.AsyncBaseTransport):
    """The relay's transport: re-checks a partner's host at every delivery and pins the connection to it.

    For each request the host is resolved once (`resolve`); if any address is not public the request is never
    sent and `RefusedDestination` is raised, which the relay records as a failed attempt in the delivery log
    (then retries with backoff and finally dead-letters, as for any other failure). Otherwise the request goes to
    the checked address itself — the URL's host is replaced by the IP, while the `Host` header and, for https, the
    TLS server name (SNI) and certificate check keep the original name — so no second resolution can swap it.

    Exempt: the internal subscribers' URLs, which come from configuration (`<PREFIX>_SUBSCRIBERS`, inside the
    cluster by design), and everything in development and test, where `check_url` accepts local receivers too.
    """

    def __init__(
        self,
        *,
        environment: Environment,
        trusted_urls: Iterable[str] = (),
        permitted: Callable[[Address], bool] = is_public,
        resolve_timeout: float = 5.0,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.checking = not relaxed(environment)
        self.trusted = {str(httpx.URL(u)) for u in trusted_urls}
        self.permitted = permitted
        self.resolve_timeout = resolve_timeout
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.checking or str(request.url) in self.trusted:
            return await self.inner.handle_async_request(request)
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            addresses = await asyncio.wait_for(resolve(host, port), timeout=self.resolve_timeout)
        except (OSError, TimeoutError) as exc:
            raise httpx.ConnectError(f"the webhook host {host!r} does not resolve", request=request) from exc
        refused = [a for a in addresses if not self.permitted(ipaddress.ip_address(a))]
        if refused or not addresses:
            log.warning("webhook_delivery_refused", reason="non_public_address")
            raise RefusedDestination(
                f"not sent: the webhook host {host!r} now resolves to {', '.join(refused) or 'nothing'}, "
                "not a public address (checked at every delivery; DNS rebinding?)",
                request=request,
            )
        error: httpx.TransportError | None = None
        for address in addresses:  # the checked addresses only, in the resolver's order
            pinned = httpx.Request(
                request.method,
                request.url.copy_with(host=address),
                headers=request.headers,  # carries Host: the original name (and port)
                stream=request.stream,
                extensions={**request.extensions, "sni_hostname": host},
            )
            try:
                return await self.inner.handle_async_request(pinned)
            except httpx.ConnectError as exc:  # nothing was sent: the next checked address may answer
                error = exc
        assert error is not None
        raise error

    async def aclose(self) -> None:
        await self.inner.aclose()


def delivery_client(
    environment: Environment, *, trusted_urls: Iterable[str] = (), timeout: float = 5.0, **guard: Any
) -> httpx.AsyncClient:
    """The HTTP client for the referrals outbox relay (`OutboxRelay(client=...)`): deliveries go through
    `DeliveryGuard`. No proxy from the environment: the check must see the address actually connected to."""
    transport = DeliveryGuard(environment=environment, trusted_urls=trusted_urls, **guard)
    return httpx.AsyncClient(transport=transport, timeout=timeout, trust_env=False)
