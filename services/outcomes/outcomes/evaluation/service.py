"""The rules of evaluation and progress: each framework version's needs evaluated set-based, and the results
shown with the observations they rest on."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from outcomes.access import family_scope
from outcomes.config import Settings
from outcomes.evaluation import runner
from outcomes.evaluation.repository import WHOLE, EvaluationRepository, NeedRule, ProgressRepository, VersionRules
from outcomes.evaluation.rules import RuleSQL, attendance, no_incidents, practitioner, reduction, status
from outcomes.evaluation.schemas import EvaluationRead, EvidenceRow, FamilyProgress, NeedProgress
from outcomes.frameworks.repository import FrameworksRepository
from outcomes.frameworks.schemas import (
    EMPLOYMENT_ROUTE,
    AnyContinuousStatusRule,
    AttendanceThresholdRule,
    ContinuousStatusRule,
    NeedDefinition,
    NoIncidentsInWindowRule,
    PractitionerAssessedRule,
    ReductionVsBaselineRule,
)
from outcomes.frameworks.service import parse_definition
from outcomes.models import Enrolment, NeedResult
from shared.auth import Principal
from shared.caseload import CaseloadClient
from shared.contracts import ActiveFramework
from shared.errors import NotFound, UnprocessableContent, field_error


def evaluation_date(as_of: date | None) -> date:
    """The date results are evaluated as of: today when omitted. A date after today is refused (422): results
    are stored as the family's progress, and a projection into the future is not progress."""
    today = datetime.now(UTC).date()
    if as_of is None:
        return today
    if as_of > today:
        raise UnprocessableContent(
            f"as_of {as_of.isoformat()} is in the future (today is {today.isoformat()}); progress is evaluated "
            "as of today or an earlier date",
            errors=[field_error("/as_of", f"must not be after {today.isoformat()}", "future_date")],
        )
    return as_of


def rule_for(need: NeedDefinition) -> RuleSQL:
    rule = need.rule
    if isinstance(rule, AttendanceThresholdRule):
        return attendance.rule_sql(rule.params)
    if isinstance(rule, ReductionVsBaselineRule):
        return reduction.rule_sql(rule.params)
    if isinstance(rule, NoIncidentsInWindowRule):
        return no_incidents.rule_sql(rule.params)
    if isinstance(rule, ContinuousStatusRule | AnyContinuousStatusRule):
        return status.rule_sql(rule.params)
    if isinstance(rule, PractitionerAssessedRule):
        return practitioner.rule_sql(rule.params)
    raise AssertionError(f"unhandled rule {rule!r}")


class EvaluationService:
    def __init__(
        self,
        repo: EvaluationRepository,
        frameworks: FrameworksRepository,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.repo = repo
        self.frameworks = frameworks
        self.settings = settings
        self.sessions = sessions

    async def enrolment(self, family_id: uuid.UUID) -> Enrolment | None:
        """The family's enrolment in the current phase."""
        return await self.repo.enrolment_for_family(family_id, self.settings.programme_phase)

    async def framework_of(self, enrolment: Enrolment) -> ActiveFramework | None:
        """The framework version the family was enrolled under, or None when it is not loaded."""
        row = await self.frameworks.framework(enrolment.framework_code, enrolment.framework_version)
        return ActiveFramework.model_validate(row.definition) if row is not None else None

    async def evaluate(self, *, family_id: uuid.UUID | None, as_of: date | None, actor: str) -> EvaluationRead:
        """Evaluate one family or the whole cohort: one set-based statement per framework version in scope.

        Given `sessions`, a cohort is split by enrolment into `settings.evaluation_shards` parts evaluated at once
        on as many connections (see `runner.evaluate_in_shards`); a family, or a cohort without `sessions`, is
        evaluated in the request's transaction alone.
        """
        as_of = evaluation_date(as_of)
        repo = self.repo
        phase = self.settings.programme_phase
        if family_id is not None and await repo.enrolment_for_family(family_id, phase) is None:
            raise NotFound(f"Family {family_id} is not enrolled in phase {phase}")
        await repo.lock_for_evaluation(family_id)
        versions = await self._versions_in_scope(phase, family_id)
        work = runner.ShardWork(versions=versions, as_of=as_of, phase=phase, family_id=family_id)
        shards = [WHOLE]
        if family_id is None and self.sessions is not None:
            shards = await repo.shards(phase, self.settings.evaluation_shards)
        if len(shards) == 1:
            run_id = await repo.add_run(as_of=as_of, family_id=family_id, started_by=actor)
            results, met, changed = await runner.evaluate_shard(repo, work, run_id, WHOLE)
        else:
            assert self.sessions is not None
            run_id, (results, met, changed) = await runner.evaluate_in_shards(
                repo.session, self.sessions, work, shards, actor
            )
        families = await repo.families_in_scope(phase, family_id)
        await repo.finish_run(run_id, families=families, results=results)
        return EvaluationRead(
            id=run_id,
            as_of=as_of,
            family_id=family_id,
            families=families,
            results=results,
            met=met,
            changed=changed,
            shards=len(shards),
        )

    async def _versions_in_scope(self, phase: str, family_id: uuid.UUID | None) -> list[VersionRules]:
        versions = []
        for fw_code, fw_version in await self.repo.framework_versions_in_scope(phase, family_id):
            row = await self.frameworks.framework(fw_code, fw_version)
            if row is None:
                versions.append(
                    VersionRules(
                        fw_code, fw_version, [], None, f"framework {fw_code} version {fw_version} is not loaded"
                    )
                )
                continue
            definition = parse_definition(row.definition)
            needs = [NeedRule(need.code, need.rule.kind, rule_for(need)) for need in definition.needs]
            if definition.employment_route is not None:
                route = status.rule_sql(definition.employment_route.params())
                needs.append(NeedRule(EMPLOYMENT_ROUTE, "continuous_status", route, route=True))
            undefined = f"need is not defined in framework {fw_code} version {fw_version}"
            versions.append(VersionRules(fw_code, fw_version, needs, definition.sustain_months, undefined))
        return versions


def is_claimable(enrolment: Enrolment, results: Sequence[NeedResult]) -> bool:
    """Every identified need met (and sustained where the framework asks), or, where the framework allows it,
    an adult moved into continuous employment (only a framework with the route has its result)."""
    by_need = {r.need: r for r in results}
    if not enrolment.eligible or not enrolment.needs:
        return False
    route = by_need.get(EMPLOYMENT_ROUTE)
    if route is not None and route.met:
        return True
    for need in enrolment.needs:
        result = by_need.get(need)
        if result is None or not result.met or result.sustained is False:
            return False
    return True


def _need_progress(r: NeedResult, evidence: dict[tuple[str, int], EvidenceRow] | None) -> NeedProgress:
    """A stored result as progress; with `evidence` (from `_evidence_of`), its observations in id order."""
    rows = None
    if evidence is not None and r.evidence_source and r.evidence_ids:
        keys = [(r.evidence_source, i) for i in sorted(set(r.evidence_ids))]
        rows = [evidence[key] for key in keys if key in evidence]
    return NeedProgress(
        need=r.need,
        rule_kind=r.rule_kind,
        met=r.met,
        sustained=r.sustained,
        reason=r.reason,
        evaluated_at=r.evaluated_at,
        as_of=r.as_of,
        evidence=rows,
    )


def _not_evaluated(need: str) -> NeedProgress:
    return NeedProgress(
        need=need,
        rule_kind="unknown",
        met=False,
        sustained=None,
        reason="not evaluated yet",
        evaluated_at=None,
        as_of=None,
    )


def _family_progress(
    enrolment: Enrolment, mine: Sequence[NeedResult], evidence: dict[tuple[str, int], EvidenceRow] | None
) -> FamilyProgress:
    evaluated = {r.need: r for r in mine}
    needs = [
        _need_progress(evaluated[need], evidence) if need in evaluated else _not_evaluated(need)
        for need in enrolment.needs
    ]
    route = evaluated.get(EMPLOYMENT_ROUTE)
    return FamilyProgress(
        family_id=enrolment.family_id,
        enrolment_id=enrolment.id,
        hub=enrolment.hub,
        programme_phase=enrolment.programme_phase,
        framework=enrolment.framework_code,
        framework_version=enrolment.framework_version,
        start_date=enrolment.start_date,
        closed_on=enrolment.closed_on,
        eligible=enrolment.eligible,
        needs=needs,
        employment_route=_need_progress(route, evidence) if route else None,
        claimable=is_claimable(enrolment, mine),
    )


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(row, default=str, sort_keys=True))  # type: ignore[no-any-return]


class ProgressService:
    """Progress of the families the caller may see; `caseload` asks the cases service which families a
    practitioner may see (without it, a practitioner sees none)."""

    def __init__(self, repo: ProgressRepository, *, settings: Settings, caseload: CaseloadClient | None = None) -> None:
        self.repo = repo
        self.settings = settings
        self.caseload = caseload

    async def progress(
        self, principal: Principal, family_ids: Sequence[uuid.UUID], *, with_evidence: bool
    ) -> list[FamilyProgress]:
        """Per-need results of the families the caller may see (others are simply absent)."""
        scope = await family_scope(principal, family_ids, self.caseload)
        enrolments = await self.repo.enrolments_for_families(family_ids, self.settings.programme_phase, scope)
        results = await self.repo.results_for([e.id for e in enrolments])
        evidence = await self._evidence_of(results) if with_evidence else None
        by_enrolment: dict[uuid.UUID, list[NeedResult]] = {}
        for result in results:
            by_enrolment.setdefault(result.enrolment_id, []).append(result)
        out = [
            _family_progress(enrolment, by_enrolment.get(enrolment.id, []), evidence)
            for enrolment in sorted(enrolments, key=lambda e: str(e.family_id))
        ]
        if out:
            await self.repo.audit(principal, "read", "family_progress", [p.family_id for p in out], "outcome progress")
        return out

    async def _evidence_of(self, results: Sequence[NeedResult]) -> dict[tuple[str, int], EvidenceRow]:
        """The observations these results rest on, read with one query per evidence table, by (table, id)."""
        wanted: dict[str, set[int]] = {}
        for r in results:
            if r.evidence_source and r.evidence_ids:
                wanted.setdefault(r.evidence_source, set()).update(r.evidence_ids)
        found: dict[tuple[str, int], EvidenceRow] = {}
        for source, ids in wanted.items():
            for row in await self.repo.evidence_rows(source, sorted(ids)):
                found[source, row["id"]] = EvidenceRow(source=source, id=row["id"], fields=_jsonable(row))
        return found
