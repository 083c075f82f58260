"""The rules of the outcomes service: frameworks, enrolment, loading observations, evaluation, claims.

Functions here raise domain errors and never commit: the request (or the event consumer) owns the transaction.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import hashlib
import io
import json
import math
import random
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from outcomes import importing
from outcomes.config import Settings
from outcomes.frameworks import builtin_frameworks, canonical, etag_of
from outcomes.models import AuditSample, Claim, Enrolment, Framework, NeedResult, platform
from outcomes.repository import WHOLE, NeedRule, OutcomesRepository, Shard, VersionRules
from outcomes.rules import RuleSQL, attendance, no_incidents, practitioner, reduction, status
from outcomes.schemas import (
    EMPLOYMENT_ROUTE,
    AttendanceThresholdRule,
    AuditSampleCreate,
    AuditSampleRead,
    ClaimDecision,
    ClaimRead,
    ContinuousStatusRule,
    EvaluationRead,
    EvidenceRow,
    FamilyProgress,
    FrameworkDefinition,
    ImportReport,
    KindReport,
    NeedDefinition,
    NeedProgress,
    NoIncidentsInWindowRule,
    ObservationBatch,
    PractitionerAssessedRule,
    ReductionVsBaselineRule,
    RowError,
)
from shared.audit import record_access
from shared.auth import Principal
from shared.errors import BadRequest, Conflict, NotFound, UnprocessableContent, field_error
from shared.events import CloudEvent

ALL_FAMILIES_ROLES = ("analyst", "auditor", "admin", "service")
HUB_ROLES = ("practitioner", "hub_manager")


# --- frameworks --------------------------------------------------------------------------------------------


async def load_builtin_frameworks(session: AsyncSession) -> None:
    """Insert the built-in framework files (idempotent; safe when several replicas start at once)."""
    repo = OutcomesRepository(session)
    for definition in builtin_frameworks():
        document = canonical(definition)
        await repo.insert_builtin_framework(
            code=definition.code,
            version=definition.version,
            name=definition.name,
            definition=document,
            etag=etag_of(document),
        )


def framework_document(row: Framework) -> dict[str, Any]:
    return dict(row.definition)


async def get_framework(session: AsyncSession, code: str, version: str | None = None) -> Framework:
    row = await OutcomesRepository(session).framework(code, version)
    if row is None:
        raise NotFound(f"No framework {code!r}" + (f" version {version!r}" if version else ""))
    return row


def validate_framework(document: Any) -> FrameworkDefinition:
    """Validate a council's framework document; every problem is reported with a JSON pointer to its place."""
    try:
        definition = FrameworkDefinition.model_validate(document)
    except ValidationError as exc:
        errors = validation_errors(exc)
        raise UnprocessableContent(
            f"The framework is malformed: {len(errors)} problem(s) at " + ", ".join(e["pointer"] for e in errors[:5]),
            errors=errors,
        ) from exc
    problems = definition.problems()
    if problems:
        raise UnprocessableContent(
            f"The framework is malformed: {len(problems)} problem(s) at " + ", ".join(p for p, _ in problems[:5]),
            errors=[field_error(pointer, message) for pointer, message in problems],
        )
    return definition


async def load_framework(session: AsyncSession, definition: FrameworkDefinition, principal: Principal) -> Framework:
    document = canonical(definition)
    row = await OutcomesRepository(session).add_framework_version(
        code=definition.code,
        version=definition.version,
        name=definition.name,
        definition=document,
        etag=etag_of(document),
        loaded_by=principal.actor,
    )
    if row is None:
        raise Conflict(f"Framework {definition.code!r} version {definition.version!r} is already loaded")
    return row


def parse_definition(document: dict[str, Any]) -> FrameworkDefinition:
    """Validate a stored definition (they were validated on the way in; this gives the typed form)."""
    return FrameworkDefinition.model_validate(document)


# --- enrolment (events from cases) -------------------------------------------------------------------------


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _normalise_nhs(value: Any) -> str | None:
    digits = re.sub(r"[\s-]", "", str(value)) if value else ""
    return digits if re.fullmatch(r"[0-9]{10}", digits) else None


def _normalise_upn(value: Any) -> str | None:
    upn = str(value).strip().upper() if value else ""
    return upn if re.fullmatch(r"[A-Z][0-9]{11}[0-9A-Z]", upn) else None


async def enrol_family(session: AsyncSession, settings: Settings, data: dict[str, Any], *, actor: str) -> uuid.UUID:
    """Enrol a family from a `case.assessment_completed` payload (docs/contracts.md); returns the enrolment id.

    The first assessment's date is the start (baseline) date; a later assessment in the same phase updates the
    needs and people but keeps it.
    """
    family_id, case_id, assessed_on = (
        _uuid(data.get("family_id")),
        _uuid(data.get("case_id")),
        _date(data.get("assessed_on")),
    )
    if family_id is None or case_id is None or assessed_on is None:
        raise BadRequest("case.assessment_completed needs family_id, case_id and assessed_on")
    repo = OutcomesRepository(session)
    people: list[dict[str, Any]] = []
    members: list[tuple[uuid.UUID, str]] = []
    for person in data.get("people") or []:
        person_id = _uuid(person.get("person_id"))
        if person_id is None:
            continue
        people.append(
            {
                "id": person_id,
                "date_of_birth": _date(person.get("date_of_birth")),
                "nhs_number": _normalise_nhs(person.get("nhs_number")),
                "upn": _normalise_upn(person.get("upn")),
            }
        )
        members.append((person_id, str(person.get("role") or "other_adult")))
    await repo.upsert_people(people)
    enrolment_id = await repo.upsert_enrolment(
        {
            "family_id": family_id,
            "case_id": case_id,
            "hub": data.get("hub"),
            "programme_phase": settings.programme_phase,
            "framework_code": str(data.get("framework") or settings.active_framework),
            "framework_version": str(data.get("framework_version") or "1"),
            "needs": sorted({str(n) for n in data.get("needs") or []}),
            "eligible": bool(data.get("eligible", True)),
            "start_date": assessed_on,
            "assessed_on": assessed_on,
        }
    )
    await repo.replace_members(enrolment_id, members)
    await record_access(
        session,
        platform,
        actor=actor,
        action="create",
        record_type="enrolment",
        record_ids=[family_id],
        purpose="enrolment from case.assessment_completed",
    )
    return enrolment_id


async def close_family_case(session: AsyncSession, settings: Settings, data: dict[str, Any], *, actor: str) -> int:
    """`case.closed` starts the sustainment clock of the family's enrolment for that case."""
    family_id, case_id, closed_on = (
        _uuid(data.get("family_id")),
        _uuid(data.get("case_id")),
        _date(data.get("closed_on")),
    )
    if family_id is None or case_id is None or closed_on is None:
        raise BadRequest("case.closed needs family_id, case_id and closed_on")
    changed = await OutcomesRepository(session).close_enrolment(
        family_id=family_id,
        case_id=case_id,
        phase=settings.programme_phase,
        closed_on=closed_on,
        outcome=str(data.get("outcome") or "other"),
    )
    if changed:
        await record_access(
            session,
            platform,
            actor=actor,
            action="update",
            record_type="enrolment",
            record_ids=[family_id],
            purpose="sustainment clock from case.closed",
        )
    return changed


def event_handlers(settings: Settings) -> dict[str, Any]:
    async def on_assessment_completed(session: AsyncSession, event: CloudEvent) -> None:
        await enrol_family(session, settings, event.data, actor=f"event:{event.source}")

    async def on_case_closed(session: AsyncSession, event: CloudEvent) -> None:
        await close_family_case(session, settings, event.data, actor=f"event:{event.source}")

    return {"case.assessment_completed": on_assessment_completed, "case.closed": on_case_closed}


# --- observations ------------------------------------------------------------------------------------------


class _Totals:
    def __init__(self) -> None:
        self.reports: list[KindReport] = []
        self.errors: list[RowError] = []
        self.truncated = False

    def report(self) -> ImportReport:
        return ImportReport(
            import_ids=[r.import_id for r in self.reports],
            rows_total=sum(r.rows_total for r in self.reports),
            rows_loaded=sum(r.rows_loaded for r in self.reports),
            rows_already_present=sum(r.rows_already_present for r in self.reports),
            rows_unknown_person=sum(r.rows_unknown_person for r in self.reports),
            rows_rejected=sum(r.rows_rejected for r in self.reports),
            errors=sorted(self.errors, key=lambda e: (e.line, e.column)),
            errors_truncated=self.truncated,
            by_kind=self.reports,
        )


async def _check_and_merge(
    repo: OutcomesRepository,
    settings: Settings,
    *,
    kind: str,
    fmt: str,
    staging: str,
    total: int,
    source_agency: str,
    principal: Principal,
    line_of: Any,
    totals: _Totals,
    present: Sequence[str] | None = None,
) -> None:
    """Merge the good staged rows, then (only when some were bad) list the bad ones with their errors.

    The merge checks every row once and counts the bad ones, so a clean file is scanned once and the
    per-column error lists are built only when there are bad rows, and only for them.
    """
    import_id = uuid.uuid4()
    merged = await repo.merge_staged(kind, staging, source_agency=source_agency, import_id=import_id, present=present)
    rejected = int(merged.rejected)
    bad = await repo.staged_errors(kind, staging, settings.import_error_limit) if rejected else []
    errors = [
        RowError(line=line_of(row.line), column=err.split("\t", 1)[0], reason=err.split("\t", 1)[1])
        for row in bad
        for err in row.errs
    ]
    await repo.drop_staging(staging)
    report = KindReport(
        kind=kind,
        import_id=import_id,
        rows_total=total,
        rows_loaded=int(merged.loaded),
        rows_already_present=int(merged.matched) - int(merged.loaded),
        rows_unknown_person=int(merged.valid) - int(merged.matched),
        rows_rejected=rejected,
    )
    await repo.add_import(
        id=import_id,
        kind=kind,
        fmt=fmt,
        source_agency=source_agency,
        loaded_by=principal.actor,
        rows_total=report.rows_total,
        rows_loaded=report.rows_loaded,
        rows_already_present=report.rows_already_present,
        rows_unknown_person=report.rows_unknown_person,
        rows_rejected=report.rows_rejected,
        errors=[e.model_dump() for e in errors],
    )
    await record_access(
        repo.session,
        platform,
        actor=principal,
        action="create",
        record_type="observation_import",
        record_ids=[import_id],
        purpose=f"load {kind} observations",
        details={"rows_loaded": report.rows_loaded},
    )
    totals.reports.append(report)
    totals.errors.extend(errors)
    totals.truncated = totals.truncated or rejected > len(bad)


BULK_ROWS = 50_000
"""From this many staged rows an import resolves people with hash joins (see `tune_for_bulk_merge`)."""


def _source_agency(requested: str | None, principal: Principal) -> str:
    return requested or principal.agency or principal.sub


async def import_csv(
    session: AsyncSession,
    settings: Settings,
    *,
    kind: str,
    body: AsyncIterator[bytes],
    source_agency: str | None,
    principal: Principal,
) -> ImportReport:
    """Stream a CSV upload into a staging table with COPY, check every row in SQL and merge the good ones."""
    if kind not in importing.OBSERVATION_KINDS:
        raise UnprocessableContent(
            f"Unknown observation kind {kind!r}",
            errors=[field_error("#query/kind", "one of " + ", ".join(importing.OBSERVATION_KINDS))],
        )
    shape = importing.shape_of(kind)
    header, rest = await _read_header(body)
    columns = _header_columns(header, shape)
    repo = OutcomesRepository(session)
    staging = await repo.create_staging(kind, importing.COLUMNS[shape])

    async def remaining() -> AsyncIterator[bytes]:
        if rest:
            yield rest
        async for chunk in body:
            yield chunk

    try:
        total = await repo.copy_csv(staging, columns, remaining())
    except (
        asyncpg.DataError,
        asyncpg.PostgresSyntaxError,
        asyncpg.InvalidTextRepresentationError,
        asyncpg.CharacterNotInRepertoireError,
        asyncpg.UntranslatableCharacterError,
    ) as exc:
        where = str(getattr(exc, "context", "") or getattr(exc, "where", "") or "")
        found = re.search(r"line (\d+)", where)
        line = int(found.group(1)) + 1 if found else None
        raise UnprocessableContent(
            "The CSV file is malformed"
            + (f" at line {line}" if line else "")
            + f": {exc.args[0] if exc.args else exc}",
            errors=[field_error(f"#line/{line}" if line else "/", str(exc.args[0] if exc.args else exc))],
            line=line,
        ) from exc
    if total >= BULK_ROWS:
        await repo.tune_for_bulk_merge()
    totals = _Totals()
    await _check_and_merge(
        repo,
        settings,
        kind=kind,
        fmt="csv",
        staging=staging,
        total=total,
        source_agency=_source_agency(source_agency, principal),
        principal=principal,
        line_of=lambda n: int(n) + 1,
        totals=totals,
        present=columns,
    )
    return totals.report()


async def _read_header(body: AsyncIterator[bytes]) -> tuple[str, bytes]:
    buffer = b""
    async for chunk in body:
        buffer += chunk
        if b"\n" in buffer:
            break
        if len(buffer) > 64 * 1024:
            raise UnprocessableContent(
                "The CSV header line is longer than 64 KiB", errors=[field_error("#line/1", "header line too long")]
            )
    if not buffer.strip():
        raise UnprocessableContent("The CSV upload is empty", errors=[field_error("#line/1", "no header row")])
    head, _, rest = buffer.partition(b"\n")
    try:
        header = head.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise UnprocessableContent("The CSV header is not UTF-8", errors=[field_error("#line/1", "not UTF-8")]) from exc
    return header, rest


def _header_columns(header: str, shape: str) -> list[str]:
    names = [n.strip().lower() for n in next(csv.reader(io.StringIO(header)))]
    allowed = importing.COLUMNS[shape]
    errors = []
    for i, name in enumerate(names):
        if name not in allowed:
            errors.append(
                field_error(
                    f"#line/1/column/{i + 1}", f"unknown column {name!r}; expected some of " + ", ".join(allowed)
                )
            )
        elif names.index(name) != i:
            errors.append(field_error(f"#line/1/column/{i + 1}", f"column {name!r} appears twice"))
    for required in importing.REQUIRED[shape]:
        if required not in names:
            errors.append(field_error("#line/1", f"missing required column {required!r}"))
    if shape != "practitioner_assessment" and not set(names) & {"person_id", "nhs_number", "upn", "family_id"}:
        errors.append(field_error("#line/1", "a column naming the person (person_id, nhs_number or upn) is required"))
    if errors:
        raise UnprocessableContent(f"The CSV header has {len(errors)} problem(s)", errors=errors)
    return names


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def import_batch(
    session: AsyncSession, settings: Settings, batch: ObservationBatch, principal: Principal
) -> ImportReport:
    """Load a JSON batch: the same staging, checks and merge as a CSV import, one import per kind."""
    repo = OutcomesRepository(session)
    by_kind: dict[str, list[tuple[int, Any]]] = {}
    for index, row in enumerate(batch.rows):
        by_kind.setdefault(row.kind, []).append((index, row))
    totals = _Totals()
    for kind, rows in by_kind.items():
        columns = importing.COLUMNS[importing.shape_of(kind)]
        staging = await repo.create_staging(kind, ("source_index", *columns))
        records = [(str(index), *(_text(getattr(row, c, None)) for c in columns)) for index, row in rows]
        total = await repo.copy_records(staging, ("source_index", *columns), records)
        index_of = {i + 1: index for i, (index, _) in enumerate(rows)}
        await _check_and_merge(
            repo,
            settings,
            kind=kind,
            fmt="json",
            staging=staging,
            total=total,
            source_agency=_source_agency(batch.source_agency, principal),
            principal=principal,
            line_of=lambda n, m=index_of: m[int(n)],
            totals=totals,
        )
    return totals.report()


# --- evaluation --------------------------------------------------------------------------------------------


def rule_for(need: NeedDefinition) -> RuleSQL:
    rule = need.rule
    if isinstance(rule, AttendanceThresholdRule):
        return attendance.rule_sql(rule.params)
    if isinstance(rule, ReductionVsBaselineRule):
        return reduction.rule_sql(rule.params)
    if isinstance(rule, NoIncidentsInWindowRule):
        return no_incidents.rule_sql(rule.params)
    if isinstance(rule, ContinuousStatusRule):
        return status.rule_sql(rule.params)
    if isinstance(rule, PractitionerAssessedRule):
        return practitioner.rule_sql(rule.params)
    raise AssertionError(f"unhandled rule {rule!r}")


async def evaluate(
    session: AsyncSession,
    settings: Settings,
    *,
    family_id: uuid.UUID | None,
    as_of: date | None,
    actor: str,
    sessions: async_sessionmaker[AsyncSession] | None = None,
) -> EvaluationRead:
    """Evaluate one family or the whole cohort: one set-based statement per framework version in scope.

    Given `sessions`, a cohort is split by enrolment into `settings.evaluation_shards` parts evaluated at once
    on as many connections (see `_evaluate_in_shards`); a family, or a cohort without `sessions`, is evaluated
    in `session`'s transaction alone.
    """
    as_of = as_of or datetime.now(UTC).date()
    repo = OutcomesRepository(session)
    phase = settings.programme_phase
    if family_id is not None and await repo.enrolment_for_family(family_id, phase) is None:
        raise NotFound(f"Family {family_id} is not enrolled in phase {phase}")
    await repo.lock_for_evaluation(family_id)
    versions = await _versions_in_scope(repo, phase, family_id)
    work = _ShardWork(versions=versions, as_of=as_of, phase=phase, family_id=family_id)
    shards = [WHOLE]
    if family_id is None and sessions is not None:
        shards = await repo.shards(phase, settings.evaluation_shards)
    if len(shards) == 1:
        run_id = await repo.add_run(as_of=as_of, family_id=family_id, started_by=actor)
        results, met, changed = await _evaluate_shard(session, work, run_id, WHOLE)
    else:
        assert sessions is not None
        run_id, (results, met, changed) = await _evaluate_in_shards(session, sessions, work, shards, actor)
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


@dataclass(frozen=True)
class _ShardWork:
    versions: list[VersionRules]
    as_of: date
    phase: str
    family_id: uuid.UUID | None


async def _versions_in_scope(repo: OutcomesRepository, phase: str, family_id: uuid.UUID | None) -> list[VersionRules]:
    versions = []
    for fw_code, fw_version in await repo.framework_versions_in_scope(phase, family_id):
        row = await repo.framework(fw_code, fw_version)
        if row is None:
            versions.append(
                VersionRules(fw_code, fw_version, [], None, f"framework {fw_code} version {fw_version} is not loaded")
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


async def _evaluate_shard(
    session: AsyncSession, work: _ShardWork, run_id: uuid.UUID, shard: Shard
) -> tuple[int, int, int]:
    """Evaluate the enrolments of `shard` in `session`'s transaction: (results, met, changed)."""
    repo = OutcomesRepository(session)
    await repo.tune_for_evaluation(cohort=work.family_id is None)
    results = met = changed = 0
    for version in work.versions:
        counts = await repo.evaluate_framework(
            version, run_id=run_id, as_of=work.as_of, phase=work.phase, family_id=work.family_id, shard=shard
        )
        results += int(counts.results)
        met += int(counts.met)
        changed += int(counts.changed)
    return results, met, changed


async def _evaluate_in_shards(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    work: _ShardWork,
    shards: Sequence[Shard],
    actor: str,
) -> tuple[uuid.UUID, tuple[int, int, int]]:
    """Evaluate a cohort in parts at once: the first in `session`, each other in a session of its own.

    PostgreSQL runs a statement on one core, and cannot run an INSERT's query in parallel; a cohort split by
    enrolment id over N connections takes about 1/N of the time where the server has the cores. The request's
    session holds the cohort lock (`lock_for_evaluation`) throughout, so no other evaluation runs meanwhile.

    The shards' results refer to the run, so the run is committed first, as `running`. The other sessions
    commit only once every shard's statements have succeeded, and the request's session last (with the run
    marked `completed`): a failed or timed-out shard leaves no result of this run, and the run `failed`. Only
    a crash between those commits can leave part of a run stored; each family's results are then still one
    consistent set (a family's enrolment is in one shard), and the run stays `running` until evaluated again.
    """
    async with sessions() as own:
        run_id = await OutcomesRepository(own).add_run(as_of=work.as_of, family_id=None, started_by=actor)
        await own.commit()
    try:
        async with contextlib.AsyncExitStack() as stack:
            others = [await stack.enter_async_context(sessions()) for _ in shards[1:]]
            tasks = [
                asyncio.create_task(_evaluate_shard(shard_session, work, run_id, shard))
                for shard_session, shard in zip([session, *others], shards, strict=True)
            ]
            try:
                counts = await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            for other in others:
                await other.commit()
    except BaseException:
        with contextlib.suppress(Exception):
            async with sessions() as own:
                await OutcomesRepository(own).fail_run(run_id)
                await own.commit()
        raise
    return run_id, (sum(c[0] for c in counts), sum(c[1] for c in counts), sum(c[2] for c in counts))


# --- progress ----------------------------------------------------------------------------------------------


def can_read_family(principal: Principal, enrolment: Enrolment) -> bool:
    if principal.has_role(*ALL_FAMILIES_ROLES):
        return True
    return principal.has_role(*HUB_ROLES) and principal.in_hub(enrolment.hub)


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


async def progress(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    family_ids: Sequence[uuid.UUID],
    *,
    with_evidence: bool,
) -> list[FamilyProgress]:
    """Per-need results of the families the caller may see (others are simply absent)."""
    repo = OutcomesRepository(session)
    enrolments = [
        e
        for e in await repo.enrolments_for_families(family_ids, settings.programme_phase)
        if can_read_family(principal, e)
    ]
    results = await repo.results_for([e.id for e in enrolments])
    evidence = await _evidence_of(repo, results) if with_evidence else None
    by_enrolment: dict[uuid.UUID, list[NeedResult]] = {}
    for result in results:
        by_enrolment.setdefault(result.enrolment_id, []).append(result)
    out = []
    for enrolment in sorted(enrolments, key=lambda e: str(e.family_id)):
        mine = by_enrolment.get(enrolment.id, [])
        needs = []
        evaluated = {r.need: r for r in mine}
        for need in enrolment.needs:
            r = evaluated.get(need)
            if r is None:
                needs.append(
                    NeedProgress(
                        need=need,
                        rule_kind="unknown",
                        met=False,
                        sustained=None,
                        reason="not evaluated yet",
                        evaluated_at=None,
                        as_of=None,
                    )
                )
                continue
            needs.append(_need_progress(r, evidence))
        route = evaluated.get(EMPLOYMENT_ROUTE)
        out.append(
            FamilyProgress(
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
        )
    if out:
        await record_access(
            session,
            platform,
            actor=principal,
            action="read",
            record_type="family_progress",
            record_ids=[p.family_id for p in out],
            purpose="outcome progress",
        )
    return out


async def _evidence_of(repo: OutcomesRepository, results: Sequence[NeedResult]) -> dict[tuple[str, int], EvidenceRow]:
    """The observations these results rest on, read with one query per evidence table, by (table, id)."""
    wanted: dict[str, set[int]] = {}
    for r in results:
        if r.evidence_source and r.evidence_ids:
            wanted.setdefault(r.evidence_source, set()).update(r.evidence_ids)
    found: dict[tuple[str, int], EvidenceRow] = {}
    for source, ids in wanted.items():
        for row in await repo.evidence_rows(source, sorted(ids)):
            found[source, row["id"]] = EvidenceRow(source=source, id=row["id"], fields=_jsonable(row))
    return found


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


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(row, default=str, sort_keys=True))  # type: ignore[no-any-return]


# --- claims ------------------------------------------------------------------------------------------------


def claim_read(claim: Claim, *, with_evidence: bool = False) -> ClaimRead:
    return ClaimRead(
        id=claim.id,
        family_id=claim.family_id,
        programme_phase=claim.programme_phase,
        framework=claim.framework_code,
        framework_version=claim.framework_version,
        hub=claim.hub,
        status=claim.status,
        practitioner_assessed=claim.practitioner_assessed,
        evidence_sha256=claim.evidence_sha256,
        created_at=claim.created_at,
        created_by=claim.created_by,
        sample_id=claim.sample_id,
        decided_by=claim.decided_by,
        decided_at=claim.decided_at,
        decision_reason=claim.decision_reason,
        evidence=claim.evidence if with_evidence else None,
    )


def evidence_hash(snapshot: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def create_claim(
    session: AsyncSession, settings: Settings, *, family_id: uuid.UUID, as_of: date | None, principal: Principal
) -> Claim:
    """Re-evaluate the family, and claim when every need is met (and sustained where the framework asks)."""
    repo = OutcomesRepository(session)
    enrolment = await repo.enrolment_for_family(family_id, settings.programme_phase)
    if enrolment is None:
        raise NotFound(f"Family {family_id} is not enrolled in phase {settings.programme_phase}")
    await evaluate(session, settings, family_id=family_id, as_of=as_of, actor=principal.actor)
    family = (await progress(session, settings, principal, [family_id], with_evidence=True))[0]
    if not family.claimable:
        unmet = [
            field_error(f"/needs/{n.need}", n.reason if not n.met else "met but not yet sustained", "not_met")
            for n in family.needs
            if not n.met or n.sustained is False
        ]
        if family.employment_route is not None:
            unmet.append(field_error("/employment_route", family.employment_route.reason, "not_met"))
        if not enrolment.eligible:
            unmet.insert(0, field_error("/eligible", "the family was not eligible at assessment", "not_eligible"))
        raise Conflict(f"Family {family_id} is not claimable yet", errors=unmet)
    snapshot = {
        "family_id": str(family_id),
        "enrolment_id": str(enrolment.id),
        "programme_phase": enrolment.programme_phase,
        "framework": enrolment.framework_code,
        "framework_version": enrolment.framework_version,
        "start_date": enrolment.start_date.isoformat(),
        "closed_on": enrolment.closed_on.isoformat() if enrolment.closed_on else None,
        "as_of": (as_of or datetime.now(UTC).date()).isoformat(),
        "needs": [json.loads(n.model_dump_json(exclude={"evaluated_at"})) for n in family.needs],
    }
    if family.employment_route is not None:
        snapshot["employment_route"] = json.loads(family.employment_route.model_dump_json(exclude={"evaluated_at"}))
    claim = Claim(
        id=uuid.uuid4(),
        family_id=family_id,
        enrolment_id=enrolment.id,
        programme_phase=enrolment.programme_phase,
        framework_code=enrolment.framework_code,
        framework_version=enrolment.framework_version,
        hub=enrolment.hub,
        status="pending",
        practitioner_assessed=any(n.rule_kind == "practitioner_assessed" for n in family.needs),
        evidence=snapshot,
        evidence_sha256=evidence_hash(snapshot),
        created_by=principal.actor,
    )
    try:
        async with session.begin_nested():
            await repo.add_claim(claim)
    except IntegrityError as exc:
        if "uq_claims_family_phase_live" in str(exc.orig):
            raise Conflict(f"Family {family_id} has already been claimed in phase {enrolment.programme_phase}") from exc
        raise
    await record_access(
        session,
        platform,
        actor=principal,
        action="create",
        record_type="claim",
        record_ids=[claim.id],
        purpose="payment-by-results claim",
    )
    return claim


async def get_claim(session: AsyncSession, claim_id: uuid.UUID, principal: Principal) -> Claim:
    claim = await OutcomesRepository(session).claim(claim_id)
    if claim is None:
        raise NotFound(f"No claim {claim_id}")
    await record_access(
        session,
        platform,
        actor=principal,
        action="read",
        record_type="claim",
        record_ids=[claim.id],
        purpose="claim evidence",
    )
    return claim


def encode_cursor(claim: Claim) -> str:
    return base64.urlsafe_b64encode(f"{claim.created_at.isoformat()}|{claim.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnprocessableContent(
            "The cursor is not valid", errors=[field_error("#query/cursor", "not a cursor from this API")]
        ) from exc


async def list_claims(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    family_ids: Sequence[uuid.UUID] | None,
    hub: str | None,
    period: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Claim], str | None]:
    start, end = period_bounds(period) if period else (None, None)
    rows = list(
        await OutcomesRepository(session).list_claims(
            status=status,
            family_ids=family_ids,
            hub=hub,
            created_from=start,
            created_to=end,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
    )
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    rows = rows[:limit]
    if rows:
        await record_access(
            session,
            platform,
            actor=principal,
            action="read",
            record_type="claim",
            record_ids=[c.id for c in rows],
            purpose="claims list",
        )
    return rows, next_cursor


def sample_claims(
    pending: Sequence[tuple[uuid.UUID, bool]], rate: float, seed: int
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """A reproducible sample: the same population, rate and seed always give the same claims.

    Returns (randomly chosen, chosen because a need rests on a practitioner's judgement).
    """
    ids = sorted(claim_id for claim_id, _ in pending)
    k = math.ceil(rate * len(ids)) if ids else 0
    chosen = sorted(random.Random(seed).sample(ids, k))
    forced = sorted(claim_id for claim_id, assessed in pending if assessed and claim_id not in set(chosen))
    return chosen, forced


async def audit_sample(session: AsyncSession, body: AuditSampleCreate, principal: Principal) -> AuditSampleRead:
    repo = OutcomesRepository(session)
    pending = [(row.id, bool(row.practitioner_assessed)) for row in await repo.pending_claims()]
    chosen, forced = sample_claims(pending, body.rate, body.seed)
    sample = AuditSample(
        id=uuid.uuid4(),
        rate=body.rate,
        seed=body.seed,
        population=len(pending),
        claim_ids=chosen + forced,
        created_by=principal.actor,
    )
    await repo.add_sample(sample, chosen + forced)
    return AuditSampleRead(
        id=sample.id,
        rate=body.rate,
        seed=body.seed,
        population=len(pending),
        random_claim_ids=chosen,
        practitioner_assessed_claim_ids=forced,
        claim_ids=sorted(chosen + forced),
    )


async def decide_claim(session: AsyncSession, claim_id: uuid.UUID, body: ClaimDecision, principal: Principal) -> Claim:
    repo = OutcomesRepository(session)
    claim = await repo.claim(claim_id, for_update=True)
    if claim is None:
        raise NotFound(f"No claim {claim_id}")
    if claim.status != "pending":
        raise Conflict(f"Claim {claim_id} has already been {claim.status}")
    claim.status = body.decision
    claim.decision_reason = body.reason
    claim.decided_by = principal.actor
    claim.decided_at = datetime.now(UTC)
    await session.flush()
    await record_access(
        session,
        platform,
        actor=principal,
        action="update",
        record_type="claim",
        record_ids=[claim.id],
        purpose=f"audit decision: {body.decision}",
    )
    return claim


_PERIOD = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """`2026`, `2026-Q1` or `2026-03` → [start, end) in UTC."""
    found = _PERIOD.match(period)
    if not found:
        raise UnprocessableContent(
            "The period must be YYYY, YYYY-Qn or YYYY-MM",
            errors=[field_error("#query/period", "expected YYYY, YYYY-Qn or YYYY-MM")],
        )
    year = int(found.group(1))
    if found.group(2):
        first, months = int(found.group(2)), 1
    elif found.group(3):
        first, months = (int(found.group(3)) - 1) * 3 + 1, 3
    else:
        first, months = 1, 12
    start = datetime(year, first, 1, tzinfo=UTC)
    end_month = first + months
    end = datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=UTC)
    return start, end


EXPORT_COLUMNS = (
    "claim_id",
    "family_id",
    "programme_phase",
    "framework",
    "framework_version",
    "hub",
    "claimed_at",
    "validated_at",
    "evidence_sha256",
)


async def export_claims(session: AsyncSession, period: str, principal: Principal) -> str:
    start, end = period_bounds(period)
    claims = await OutcomesRepository(session).validated_claims(start, end)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for c in claims:
        writer.writerow(
            [
                c.id,
                c.family_id,
                c.programme_phase,
                c.framework_code,
                c.framework_version,
                c.hub or "",
                c.created_at.isoformat(),
                c.decided_at.isoformat() if c.decided_at else "",
                c.evidence_sha256,
            ]
        )
    if claims:
        await record_access(
            session,
            platform,
            actor=principal,
            action="export",
            record_type="claim",
            record_ids=[c.id for c in claims],
            purpose=f"claims export {period}",
        )
    return out.getvalue()


# --- reports -----------------------------------------------------------------------------------------------


async def cohort_report(session: AsyncSession, settings: Settings) -> dict[str, Any]:
    """Counts only: no names, identifiers or family ids."""
    data = await OutcomesRepository(session).cohort_report(settings.programme_phase)
    by_hub = [dict(r._mapping) for r in data["by_hub"]]
    enrolled = sum(r["enrolled"] for r in by_hub)
    claimed = sum(r["claimed"] for r in by_hub)
    return {
        "programme_phase": settings.programme_phase,
        "generated_at": datetime.now(UTC).isoformat(),
        "families_enrolled": enrolled,
        "families_claimed": claimed,
        "claim_rate": round(claimed / enrolled, 4) if enrolled else 0.0,
        "by_hub": by_hub,
        "by_need": [dict(r._mapping) for r in data["by_need"]],
        "by_month": [dict(r._mapping) for r in data["by_month"]],
    }


def cohort_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "enrolled", "evaluated", "met", "sustained", "closed", "claimed", "validated"])
    for r in report["by_hub"]:
        writer.writerow(["hub", r["hub"], r["enrolled"], "", "", "", r["closed"], r["claimed"], r["validated"]])
    for r in report["by_need"]:
        writer.writerow(["need", r["need"], r["enrolled"], r["evaluated"], r["met"], r["sustained"], "", "", ""])
    for r in report["by_month"]:
        writer.writerow(["month", r["month"], r["enrolled"], "", "", "", "", r["claimed"], r["validated"]])
    return out.getvalue()


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as JSON pointers into the submitted document."""
    from shared.errors import json_pointer

    return [field_error(json_pointer(["body", *e["loc"]]) or "/", e["msg"], e["type"]) for e in exc.errors()]
