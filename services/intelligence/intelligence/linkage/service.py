"""The rules of a linkage run: the active framework asked of outcomes, the records exported, the pipeline run
off the event loop, the links and identified families stored with the run, and the run audited."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from intelligence.config import Settings
from intelligence.families.known import CasesIndex
from intelligence.families.profile import snapshot_rows
from intelligence.linkage.pipeline import PipelineSettings, run_pipeline
from intelligence.linkage.repository import LinkageRepository
from intelligence.linkage.schemas import LinkageRunDetail, LinkageRunSummary
from intelligence.models import LinkageRun
from shared.auth import Principal
from shared.contracts.frameworks import FrameworkClient
from shared.errors import NotFound

_RUN_LOCK = 0x696E_746C_6C6E_6B00
"""Transaction-scoped advisory lock: one linkage run at a time (each replaces every link)."""


class LinkageService:
    def __init__(
        self,
        repo: LinkageRepository,
        *,
        settings: Settings,
        frameworks: FrameworkClient,
        http: httpx.AsyncClient,
        cases: CasesIndex,
    ) -> None:
        self.repo = repo
        self.cases = cases
        self.settings = settings
        self.frameworks = frameworks
        self.http = http

    async def run(self, principal: Principal, *, today: date | None = None) -> LinkageRunSummary:
        framework = await self.frameworks.active(self.http)
        await self.repo.lock(_RUN_LOCK)
        started = datetime.now(UTC)
        settings = PipelineSettings(
            threshold=self.settings.match_threshold,
            engine=self.settings.engine,
            spark_master=self.settings.spark_master,
            months=self.settings.needs_window_months,
            default_hub=self.settings.default_hub,
            today=today or date.today(),
        )
        with tempfile.TemporaryDirectory(prefix="intelligence-") as tmp:
            path = Path(tmp) / "records.csv"
            await self.repo.export_records(path)
            model = await self.repo.latest_model()
            outcome = await asyncio.to_thread(run_pipeline, path, framework, settings, model)
        run = LinkageRun(
            id=uuid.uuid4(),
            engine=self.settings.engine,
            framework=framework.label,
            threshold=self.settings.match_threshold,
            model=outcome.model,
            diagnostics=outcome.diagnostics,
            run_by=principal.actor,
            started_at=started,
            finished_at=datetime.now(UTC),
        )
        await self.repo.add_run(run)
        await self.repo.replace_links(run.id, outcome.links)
        await self.repo.upsert_families([{**f, "run_id": run.id} for f in outcome.families])
        await self.repo.add_snapshots(snapshot_rows(run, settings.today, outcome.families))
        families = await self.repo.families_of_run(run.id)
        checked, unchecked = await self.cases.check(
            self.http, families, budget=self.settings.cases_check_budget_seconds
        )
        await self.repo.session.flush()
        run.diagnostics = {**run.diagnostics, "cases_checked": checked, "cases_unchecked": unchecked}
        await self.repo.audit(
            principal,
            "create",
            "linkage_run",
            [run.id],
            "link partner records into households and identify families",
            details={k: outcome.diagnostics[k] for k in ("records", "people", "households", "identified")},
        )
        return LinkageRunSummary.model_validate(run, from_attributes=True)

    async def get(self, run_id: uuid.UUID) -> LinkageRunDetail:
        run = await self.repo.run(run_id)
        if run is None:
            raise NotFound("No such linkage run")
        return LinkageRunDetail.model_validate(run, from_attributes=True)
