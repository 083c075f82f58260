"""Every query of a linkage run: the partner records out (COPY to a file), the links and identified families in."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import and_, case, delete, select, text
from sqlalchemy.dialects.postgresql import insert

from intelligence.models import IdentifiedFamily, LinkageRun, NeedSnapshot
from intelligence.repository import Repository

EXPORT_COLUMNS = (
    "id", "kind", "source_agency", "record_id", "given_name", "family_name", "date_of_birth", "postcode",
    "address_line", "uprn", "nhs_number", "upn", "event_date", "attributes",
)  # fmt: skip
DECIDED = ("referred", "not_now", "dismissed")


class LinkageRepository(Repository):
    async def _driver(self) -> asyncpg.Connection:
        conn = await self.session.connection()
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, asyncpg.Connection)
        return driver

    async def export_records(self, path: Path) -> None:
        """Every partner record to a CSV file (with a header), in one COPY."""
        driver = await self._driver()
        query = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM partner_records ORDER BY id"
        await driver.copy_from_query(query, output=path, format="csv", header=True)

    async def latest_model(self) -> dict[str, Any] | None:
        """The model of the latest run that trained one."""
        run = (
            await self.session.execute(
                select(LinkageRun.model)
                .where(LinkageRun.diagnostics["trained"].as_boolean())
                .order_by(LinkageRun.finished_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        return run

    async def add_run(self, run: LinkageRun) -> None:
        self.session.add(run)
        await self.session.flush()

    async def replace_links(self, run_id: uuid.UUID, links: Sequence[tuple[int, str, str | None, str | None]]) -> None:
        """The run's person and household of every record replace the previous run's."""
        await self.session.execute(text("DELETE FROM record_links"))
        if links:
            driver = await self._driver()
            await driver.copy_records_to_table(
                "record_links",
                records=[(pk, person, household, reason, run_id) for pk, person, household, reason in links],
                columns=["record_pk", "person_key", "household_key", "household_reason", "run_id"],
            )

    async def decided_keys(self) -> set[str]:
        rows = await self.session.execute(
            select(IdentifiedFamily.household_key).where(IdentifiedFamily.status.in_(DECIDED))
        )
        return set(rows.scalars())

    async def upsert_families(self, rows: list[dict[str, Any]]) -> None:
        """Identified families by household key: a decided family keeps its decision (and status), a family with
        an open case stays shown as such until cases is asked again; families that no longer meet the threshold
        and were never decided are removed."""
        keys = [r["household_key"] for r in rows]
        await self.session.execute(
            delete(IdentifiedFamily).where(
                IdentifiedFamily.status.not_in(DECIDED), IdentifiedFamily.household_key.not_in(keys)
            )
        )
        stale = IdentifiedFamily.cases_check == "not_known"
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            statement = insert(IdentifiedFamily).values(chunk)
            refreshed = {
                c: statement.excluded[c]
                for c in ("hub", "hub_defaulted", "postcode", "address_line", "framework", "needs", "need_count",
                          "latest_evidence", "members", "statutory", "run_id")
            }  # fmt: skip
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["household_key"],
                    set_={
                        **refreshed,
                        "status": case(
                            (IdentifiedFamily.status.in_(DECIDED), IdentifiedFamily.status),
                            (
                                and_(IdentifiedFamily.status == "open_case", statement.excluded.status == "identified"),
                                IdentifiedFamily.status,
                            ),
                            else_=statement.excluded.status,
                        ),
                        # a not-known answer may be out of date once the household changes: asked again; an open
                        # or past case stays shown until cases says otherwise (the safe direction)
                        "cases_check": case((stale, "unchecked"), else_=IdentifiedFamily.cases_check),
                        "cases_checked_at": case((stale, None), else_=IdentifiedFamily.cases_checked_at),
                        "updated_at": text("now()"),
                    },
                )
            )

    async def families_of_run(self, run_id: uuid.UUID) -> Sequence[IdentifiedFamily]:
        query = select(IdentifiedFamily).where(IdentifiedFamily.run_id == run_id).order_by(IdentifiedFamily.id)
        return (await self.session.execute(query)).scalars().all()

    async def add_snapshots(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(NeedSnapshot).values(list(rows)))

    async def run(self, run_id: uuid.UUID) -> LinkageRun | None:
        return await self.session.get(LinkageRun, run_id)

    async def lock(self, key: int) -> None:
        await self.session.execute(select(text(f"pg_advisory_xact_lock({int(key)})")))
