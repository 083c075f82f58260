"""Deterministic demo data across the three services (each service owns how its data is made)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from earlyhelp.platform import SERVICES
from shared.db import async_url
from shared.migrate import with_database


async def seed_all(server_url: str, *, families: int, seed: int) -> list[str]:
    """Run each service's `seed_demo` in its own database, in one transaction per service."""
    lines: list[str] = []
    context: dict[str, Any] = {"seed": seed, "families": families}
    for service in SERVICES:
        try:
            module = importlib.import_module(f"{service.name}.seed")
        except ModuleNotFoundError:
            lines.append(f"{service.name}: no demo data defined")
            continue
        fn = module.seed_demo
        accepted = inspect.signature(fn).parameters
        kwargs = {k: v for k, v in context.items() if k in accepted}
        engine = create_async_engine(async_url(with_database(server_url, service.database)), poolclass=NullPool)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
                result = await fn(session, **kwargs)
        finally:
            await engine.dispose()
        if isinstance(result, dict):
            context.update(result)
        lines.append(f"{service.name}: demo data {'loaded' if result is not False else 'already present'}")
    return lines
