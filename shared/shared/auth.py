"""Bearer JWT verification, the calling Principal, and the development issuer.

Every service verifies tokens itself: issuer and audience are checked, each key is pinned to one algorithm
(so `alg=none` and HS256-signed-with-the-public-key are refused), an unknown `kid` triggers one JWKS refresh,
and a rotated key is picked up without a restart. The fetched key set also has a maximum age (`max_age`,
setting `jwks_max_age_seconds`): once it is older, the next verification fetches it again, so a key the identity
provider has removed stops being trusted within that time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, Request
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from shared.errors import Forbidden, Unauthorized
from shared.fields import AGENCY_LENGTH, SUBJECT_LENGTH

ROLES = ("partner_system", "practitioner", "hub_manager", "analyst", "auditor", "admin", "service")
"""`service` is for calls between the platform's own services; it is never issued to people or partners."""
AGENCY_TYPES = ("school", "maternity", "police", "health", "probation", "housing", "vcs", "council")
ALLOWED_ALGORITHMS = {"RS256", "RS384", "RS512", "ES256", "ES384", "PS256"}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, from the verified token's claims."""

    sub: str
    roles: frozenset[str]
    agency: str | None = None
    agency_type: str | None = None
    hubs: tuple[str, ...] = ()
    scopes: frozenset[str] = field(default_factory=frozenset)
    token: str = field(default="", repr=False, compare=False)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def in_hub(self, hub: str | None) -> bool:
        return hub is not None and hub in self.hubs

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.sub}@{self.agency}" if self.agency else self.sub

    @classmethod
    def from_claims(cls, claims: dict[str, Any], token: str = "") -> Principal:
        """The principal of verified claims; a claim of the wrong type or an unknown agency type is a 401 (a
        signed token is trusted for who it names, not for the shape of what it carries)."""
        roles = claims.get("roles") or []
        hubs = claims.get("hubs") or []
        scope = claims.get("scope") or claims.get("scp") or ""
        if not _strings(roles):
            raise Unauthorized("The token's roles claim must be a list of strings")
        if not _strings(hubs):
            raise Unauthorized("The token's hubs claim must be a list of strings")
        if not isinstance(scope, str) and not _strings(scope):
            raise Unauthorized("The token's scope claim must be a string or a list of strings")
        sub, agency, agency_type = claims.get("sub"), claims.get("agency"), claims.get("agency_type")
        if not isinstance(sub, str) or not sub or len(sub) > SUBJECT_LENGTH:
            raise Unauthorized(
                f"The token's sub claim must be a non-empty string of at most {SUBJECT_LENGTH} characters"
            )
        if agency is not None and (not isinstance(agency, str) or not agency or len(agency) > AGENCY_LENGTH):
            raise Unauthorized(
                f"The token's agency claim must be a string (one agency code) of at most {AGENCY_LENGTH} characters"
            )
        if agency_type is not None and agency_type not in AGENCY_TYPES:
            raise Unauthorized(f"The token's agency_type claim must be one of {', '.join(AGENCY_TYPES)}")
        return cls(
            sub=sub,
            roles=frozenset(roles),
            agency=agency,
            agency_type=agency_type,
            hubs=tuple(hubs),
            scopes=frozenset(scope.split() if isinstance(scope, str) else scope),
            token=token,
        )


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _algorithm_for(jwk: dict[str, Any]) -> str:
    alg = jwk.get("alg")
    if alg:
        return str(alg)
    return {"RSA": "RS256", "EC": "ES256"}.get(jwk.get("kty", ""), "")


def _load_jwk(jwk: dict[str, Any]) -> Any:
    if jwk.get("kty") == "RSA":
        return RSAAlgorithm.from_jwk(json.dumps(jwk))
    if jwk.get("kty") == "EC":
        return ECAlgorithm.from_jwk(json.dumps(jwk))
    raise ValueError("unsupported key type")


class TokenVerifier:
    """Verifies bearer tokens against a JWKS (fetched from a URL, or given, as the development issuer's)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks: dict[str, Any] | None = None,
        leeway: int = 30,
        refresh_cooldown: float = 5.0,
        max_age: float = 300.0,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`max_age`: seconds a fetched JWKS is trusted before it is fetched again (keys removed by the identity
        provider stop being trusted within it). While the provider does not answer, the keys last fetched stay in
        use and a fetch is retried at most every `refresh_cooldown` seconds."""
        if not jwks_url and jwks is None:
            raise ValueError("TokenVerifier needs a jwks_url or a jwks")
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.leeway = leeway
        self.refresh_cooldown = refresh_cooldown
        self.max_age = max_age
        self._clock = clock
        self._client = http_client
        self._keys: dict[str, tuple[Any, str]] = {}
        self._last_refresh = float("-inf")
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self.refresh_count = 0
        if jwks is not None:
            self._install(jwks)

    def _install(self, jwks: dict[str, Any]) -> None:
        keys: dict[str, tuple[Any, str]] = {}
        for jwk in jwks.get("keys", []):
            kid, alg = jwk.get("kid"), _algorithm_for(jwk)
            if not kid or alg not in ALLOWED_ALGORITHMS or jwk.get("use", "sig") != "sig":
                continue
            try:
                keys[kid] = (_load_jwk(jwk), alg)
            except (ValueError, KeyError, TypeError):
                continue
        self._keys = keys

    async def refresh(self) -> None:
        if not self.jwks_url:
            return
        async with self._lock:
            if self._clock() - self._last_refresh < self.refresh_cooldown and self._keys:
                return
            client = self._client or httpx.AsyncClient(timeout=5.0)
            try:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
                self._install(response.json())
                self._fetched_at = self._clock()
                self.refresh_count += 1
            finally:
                self._last_refresh = self._clock()
                if self._client is None:
                    await client.aclose()

    def _stale(self) -> bool:
        return self._clock() - self._fetched_at >= self.max_age

    async def _key_for(self, kid: str) -> tuple[Any, str] | None:
        if self.jwks_url and (kid not in self._keys or self._stale()):
            try:
                await self.refresh()
            except (httpx.HTTPError, ValueError):
                return None
        return self._keys.get(kid)

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("The bearer token is malformed") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALLOWED_ALGORITHMS:
            raise Unauthorized(f"Token algorithm {alg!r} is not accepted")
        if not isinstance(kid, str):
            raise Unauthorized("The token has no key id (kid)")
        found = await self._key_for(kid)
        if found is None:
            raise Unauthorized("The token was signed by an unknown key")
        key, key_alg = found
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[key_alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthorized("The token is not yet valid") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("The token was not issued for this audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized("The token was not issued by the trusted issuer") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"The token is invalid: {exc}") from exc
        return Principal.from_claims(claims, token)


# --- the development issuer -------------------------------------------------------------------------------


def ensure_dev_key(path: Path) -> rsa.RSAPrivateKey:
    """Load the development signing key, generating it on first use."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(pem)
    tmp.chmod(0o600)
    try:
        path.hardlink_to(tmp)  # atomic, and never overwrites the key of a process that won the race
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return ensure_dev_key(path)


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"use": "sig", "alg": "RS256"})
    jwk["kid"] = jwt.utils.base64url_encode(hashlib.sha256(jwk["n"].encode()).digest()[:12]).decode()
    return jwk


def dev_jwks(path: Path) -> dict[str, Any]:
    return {"keys": [public_jwk(ensure_dev_key(path))]}


def mint_token(
    key: rsa.RSAPrivateKey,
    *,
    issuer: str,
    audience: str,
    sub: str,
    roles: Iterable[str],
    agency: str | None = None,
    agency_type: str | None = None,
    hubs: Iterable[str] = (),
    scopes: Iterable[str] = (),
    ttl_seconds: int = 8 * 3600,
    extra: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": sub,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "roles": list(roles),
        "hubs": list(hubs),
    }
    if agency:
        claims["agency"] = agency
    if agency_type:
        claims["agency_type"] = agency_type
    scope_list = list(scopes)
    if scope_list:
        claims["scope"] = " ".join(scope_list)
    claims.update(extra or {})
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": public_jwk(key)["kid"]})


# --- verified-token cache --------------------------------------------------------------------------------
# A partner system sends the same token with every request until it expires: verifying its RSA signature and
# claims each time cost intake more CPU than its database write. The Principal of a token that verified is
# kept, keyed by the token's SHA-256, until the token's own `exp` and at most the verifier's JWKS `max_age`
# (whichever comes first), per verifier (issuer and audience), at most VERIFIED_TOKENS_MAX tokens (the oldest
# dropped first). So a token whose signing key is withdrawn from the JWKS stops being accepted within `max_age`,
# as with no cache.

VERIFIED_TOKENS_MAX = 4096
_verified: weakref.WeakKeyDictionary[TokenVerifier, dict[bytes, tuple[Principal, float, float]]] = (
    weakref.WeakKeyDictionary()
)


async def verify_cached(verifier: TokenVerifier, token: str) -> Principal:
    """`verifier.verify(token)`, remembered until the token expires (see above)."""
    cache = _verified.setdefault(verifier, {})
    digest = hashlib.sha256(token.encode()).digest()
    hit = cache.get(digest)
    if hit is not None:
        if time.time() < hit[1] and verifier._clock() < hit[2]:
            return hit[0]
        del cache[digest]
    principal = await verifier.verify(token)
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp")  # verified just above
    if isinstance(expires, int | float):
        while len(cache) >= VERIFIED_TOKENS_MAX:
            del cache[next(iter(cache))]
        cache[digest] = (principal, float(expires), verifier._clock() + verifier.max_age)
    return principal


# --- FastAPI dependencies ---------------------------------------------------------------------------------


VERIFIED_STATE = "verified_principal"
"""Where the rate limiter leaves the principal it verified (`scope["state"]`), so a token is verified once."""


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer …` header value, or None."""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def get_principal(request: Request) -> Principal:
    token = bearer_token(request.headers.get("authorization", ""))
    if token is None:
        raise Unauthorized("A bearer token is required (Authorization: Bearer …)")
    verified = getattr(request.state, VERIFIED_STATE, None)
    if isinstance(verified, Principal) and verified.token == token:
        principal = verified
    else:
        verifier: TokenVerifier = request.app.state.verifier
        principal = await verify_cached(verifier, token.strip())
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only callers holding one of `roles`."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    async def _check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden(f"This operation needs one of the roles: {', '.join(roles)}")
        return principal

    return _check


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def _check(principal: CurrentPrincipal) -> Principal:
        if scope not in principal.scopes:
            raise Forbidden(f"This operation needs the scope {scope!r}")
        return principal

    return _check


class ServiceCredentials:
    """The token a service presents when it calls another service (role `service`)."""

    def __init__(self, settings: Any) -> None:
        self._settings = settings
        self._token: str | None = settings.service_token
        self._expires = float("inf") if self._token else 0.0

    def token(self) -> str:
        if self._token and time.time() < self._expires - 60:
            return self._token
        if self._settings.is_production:
            raise RuntimeError("service_token must be configured in production")
        key = ensure_dev_key(self._settings.signing_key_path)
        self._token = mint_token(
            key,
            issuer=self._settings.jwt_issuer,
            audience=self._settings.jwt_audience,
            sub=f"service:{self._settings.service_name}",
            roles=["service"],
            ttl_seconds=3600,
        )
        self._expires = time.time() + 3600
        return self._token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}
