"""Every query of the frameworks domain."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select, text, update

from outcomes.models import ActiveFrameworkChange, Framework
from outcomes.repository import Repository

ACTIVE_CHANGE_LOCK = 0x6F75_6163_7469_7665
"""Transaction-scoped advisory lock key held while the active framework is changed."""


class FrameworksRepository(Repository):
    async def insert_builtin_framework(
        self, *, code: str, version: str, name: str, definition: dict[str, Any], etag: str
    ) -> None:
        """Insert a built-in version unless present. A new built-in version replaces a built-in current one of its
        code (a release that revises a built-in framework); it never replaces a council's own version. Families
        enrolled under the older version keep it.

        Several replicas may start at once: `ON CONFLICT DO NOTHING` covers both unique indexes.
        """
        await self.session.execute(
            text(
                """
                UPDATE frameworks SET is_current = false
                WHERE code = :code AND is_current AND builtin AND version <> :version
                  AND NOT EXISTS (SELECT 1 FROM frameworks WHERE code = :code AND version = :version)
                """
            ),
            {"code": code, "version": version},
        )
        await self.session.execute(
            text(
                """
                INSERT INTO frameworks (id, code, version, name, definition, etag, builtin, is_current, loaded_by)
                SELECT gen_random_uuid(), :code, :version, :name, CAST(:definition AS jsonb), :etag, true,
                       NOT EXISTS (SELECT 1 FROM frameworks WHERE code = :code AND is_current), 'builtin'
                ON CONFLICT DO NOTHING
                """
            ),
            {"code": code, "version": version, "name": name, "definition": json.dumps(definition), "etag": etag},
        )

    async def add_framework_version(
        self, *, code: str, version: str, name: str, definition: dict[str, Any], etag: str, loaded_by: str
    ) -> Framework | None:
        """Make a new version current for its code. None when that version exists already."""
        existing = await self.session.scalar(
            select(Framework.id).where(Framework.code == code, Framework.version == version)
        )
        if existing is not None:
            return None
        await self.session.execute(
            update(Framework).where(Framework.code == code, Framework.is_current).values(is_current=False)
        )
        row = Framework(
            code=code,
            version=version,
            name=name,
            definition=definition,
            etag=etag,
            builtin=False,
            is_current=True,
            loaded_by=loaded_by,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def active_change(self, on: date) -> ActiveFrameworkChange | None:
        """The latest change of the active framework effective on `on`."""
        return await self.session.scalar(
            select(ActiveFrameworkChange)
            .where(ActiveFrameworkChange.effective_from <= on)
            .order_by(ActiveFrameworkChange.effective_from.desc(), ActiveFrameworkChange.changed_at.desc())
            .limit(1)
        )

    async def active_changes(self) -> Sequence[ActiveFrameworkChange]:
        return (
            await self.session.scalars(
                select(ActiveFrameworkChange).order_by(
                    ActiveFrameworkChange.effective_from, ActiveFrameworkChange.changed_at
                )
            )
        ).all()

    async def add_active_change(self, change: ActiveFrameworkChange) -> None:
        """Record a change; one at a time (a transaction-scoped advisory lock), so the order is the audit order."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ACTIVE_CHANGE_LOCK})
        self.session.add(change)
        await self.session.flush()

    async def list_frameworks(self) -> Sequence[Framework]:
        return (await self.session.scalars(select(Framework).order_by(Framework.code, Framework.loaded_at))).all()

    async def framework(self, code: str, version: str | None = None) -> Framework | None:
        query = select(Framework).where(Framework.code == code)
        query = query.where(Framework.version == version) if version else query.where(Framework.is_current)
        return (await self.session.scalars(query)).first()
