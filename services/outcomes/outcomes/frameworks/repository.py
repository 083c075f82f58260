"""Every query of the frameworks domain."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text, update

from outcomes.models import Framework
from outcomes.repository import Repository


class FrameworksRepository(Repository):
    async def insert_builtin_framework(
        self, *, code: str, version: str, name: str, definition: dict[str, Any], etag: str
    ) -> None:
        """Insert a built-in version unless present; it becomes current only if its code has no current one.

        Several replicas may start at once: `ON CONFLICT DO NOTHING` covers both unique indexes.
        """
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

    async def list_frameworks(self) -> Sequence[Framework]:
        return (await self.session.scalars(select(Framework).order_by(Framework.code, Framework.loaded_at))).all()

    async def framework(self, code: str, version: str | None = None) -> Framework | None:
        query = select(Framework).where(Framework.code == code)
        query = query.where(Framework.version == version) if version else query.where(Framework.is_current)
        return (await self.session.scalars(query)).first()
