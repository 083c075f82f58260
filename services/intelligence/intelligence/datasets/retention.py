"""Retention: raw partner rows past their import's retention date are deleted (derived needs keep their evidence
references). A background task of the app, every `retention_interval_seconds`; every replica may run it."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date

import structlog
from fastapi import FastAPI

from intelligence.datasets.repository import DatasetsRepository

log = structlog.get_logger("intelligence.retention")


async def retention_loop(app: FastAPI, stop: asyncio.Event) -> None:
    interval = float(app.state.settings.retention_interval_seconds)
    while interval > 0 and not stop.is_set():
        try:
            async with app.state.db.sessionmaker() as session, session.begin():
                repo = DatasetsRepository(session)
                deleted = await repo.delete_expired(date.today())
                if deleted:
                    await repo.audit("intelligence", "delete", "partner_records", ["expired"], "retention",
                                     details={"rows": deleted})  # fmt: skip
                    log.info("partner_records_deleted", rows=deleted)
        except Exception as exc:  # the database may be down; try again next time
            log.warning("retention_failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
