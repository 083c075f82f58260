"""Tokens signed by the tests' development key (the services under test are told to trust it)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shared.auth import ensure_dev_key, mint_token
from shared.settings import DEV_AUDIENCE, DEV_ISSUER
from tests.support.database import TEST_DATA_DIR

TEST_KEY_PATH = TEST_DATA_DIR / "dev-signing-key.pem"


@functools.cache
def _cached_key(path: Path) -> Any:
    """Loading the RSA key costs ~50 ms; tests mint many tokens."""
    return ensure_dev_key(path)


def make_token(
    *roles: str,
    sub: str | None = None,
    agency: str | None = None,
    agency_type: str | None = None,
    hubs: Iterable[str] = (),
    ttl_seconds: int = 3600,
    key_path: Path = TEST_KEY_PATH,
    **extra: Any,
) -> str:
    """A token signed by the tests' development key."""
    return mint_token(
        _cached_key(key_path),
        issuer=DEV_ISSUER,
        audience=DEV_AUDIENCE,
        sub=sub or f"test-{'-'.join(roles) or 'anon'}",
        roles=roles,
        agency=agency,
        agency_type=agency_type,
        hubs=hubs,
        ttl_seconds=ttl_seconds,
        extra=extra or None,
    )


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
