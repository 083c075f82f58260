"""Every query of evaluation and progress (the rule kinds' own SQL lives beside each rule in `rules/`)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Row, false, func, or_, select, text, true, update

from outcomes.access import FamilyScope
from outcomes.evaluation.rules import RuleSQL
from outcomes.models import (
    AttendanceRecord,
    Enrolment,
    EvaluationRun,
    Incident,
    NeedResult,
    PractitionerAssessment,
    StatusPeriod,
)
from outcomes.repository import Repository

EVIDENCE_TABLES: dict[str, Any] = {
    "attendance_records": AttendanceRecord,
    "incidents": Incident,
    "status_periods": StatusPeriod,
    "practitioner_assessments": PractitionerAssessment,
}

EVALUATION_LOCK = 0x6F757465_76616C73
"""Advisory lock key: a cohort evaluation holds it alone, each family's evaluation shares it (see
`EvaluationRepository.lock_for_evaluation`)."""

_IN_SHARD = """(CAST(:shard_from AS uuid) IS NULL OR e.id >= CAST(:shard_from AS uuid))
              AND (CAST(:shard_below AS uuid) IS NULL OR e.id < CAST(:shard_below AS uuid))"""
"""The enrolments of one shard of a cohort evaluation (ids from `shard_from` up to, not including,
`shard_below`; NULL is open). Cohort evaluations plan each statement for its values, so the NULL tests fold away."""


@dataclass(frozen=True)
class Shard:
    """A range of enrolment ids that one connection evaluates (see `EvaluationRepository.shards`)."""

    start: uuid.UUID | None = None
    below: uuid.UUID | None = None


WHOLE = Shard()

_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")
"""A bind parameter in `text()`, as SQLAlchemy itself finds them (not a `::type` cast)."""


@dataclass(frozen=True)
class NeedRule:
    """One need of a framework version with the SQL of its rule."""

    code: str
    kind: str
    rule: RuleSQL
    route: bool = False
    """A claim route (the employment route), not an identified need: evaluated for every enrolment with needs,
    and never sustained."""


@dataclass(frozen=True)
class VersionRules:
    """One framework version's needs with their rules, as an evaluation applies them."""

    framework: str
    version: str
    needs: Sequence[NeedRule]
    sustain_months: int | None
    undefined_reason: str
    """The reason recorded for an enrolment's needs that `needs` does not define."""


class EvaluationRepository(Repository):
    """The writes of an evaluation: runs, the set-based evaluation of a framework version, shards, locks."""

    async def enrolment_for_family(self, family_id: uuid.UUID, phase: str) -> Enrolment | None:
        return await self.session.scalar(
            select(Enrolment).where(Enrolment.family_id == family_id, Enrolment.programme_phase == phase)
        )

    async def framework_versions_in_scope(self, phase: str, family_id: uuid.UUID | None) -> Sequence[Any]:
        query = (
            select(Enrolment.framework_code, Enrolment.framework_version)
            .where(Enrolment.programme_phase == phase)
            .distinct()
        )
        if family_id is not None:
            query = query.where(Enrolment.family_id == family_id)
        return (await self.session.execute(query)).all()

    async def lock_for_evaluation(self, family_id: uuid.UUID | None) -> None:
        """Queue behind any evaluation that could write the same results (this transaction only).

        An evaluation inserts the results it has no row for with a plain INSERT, so two evaluations of one
        family must not run at once: a cohort evaluation excludes every other, a family's excludes only its
        own family's. While it waits nothing is read yet, so it then compares against what the one before it
        committed.
        """
        if family_id is None:
            await self.session.execute(select(func.pg_advisory_xact_lock(EVALUATION_LOCK)))
        else:
            await self.session.execute(select(func.pg_advisory_xact_lock_shared(EVALUATION_LOCK)))
            await self.session.execute(
                select(func.pg_advisory_xact_lock(func.hashtextextended(str(family_id), EVALUATION_LOCK)))
            )

    async def tune_for_evaluation(self, *, cohort: bool) -> None:
        """For a cohort, room in memory for the evaluation's sorts and hashes (this transaction only).

        The insert sorts up to 500,000 results (120 MB for 100,000 families) and a re-evaluation hashes the stored
        ones; at 64 MB both went to disk. Cohort evaluations run one at a time (`lock_for_evaluation`).
        """
        if cohort:
            await self.session.execute(text("SET LOCAL work_mem = '256MB'"))
            # Shards run one statement text with different ranges: a generic plan would keep the NULL tests of
            # `_IN_SHARD` and misjudge every row count. A cohort run plans its few statements afresh.
            await self.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))

    @staticmethod
    def _plan_tag(framework: str, version: str, family_id: uuid.UUID | None) -> str:
        """A comment that gives each framework version, and the cohort apart from each family, its own text.

        Statements are prepared and cached per connection, and after five executions of one text PostgreSQL
        may switch to a generic plan: a plan made for one family could then serve the cohort (a re-run of
        5,000 families went from 0.3 s to 30 s that way). Forcing custom plans instead (`plan_cache_mode`)
        also replans the queries of triggers for every statement. The framework code and version are
        validated identifiers and the family id a UUID, so the comment is safe to inline.
        """
        scope = f"family {family_id}" if family_id is not None else "cohort"
        return f"/* framework {framework} {version}, {scope} */ "

    async def add_run(self, *, as_of: date, family_id: uuid.UUID | None, started_by: str) -> uuid.UUID:
        run = EvaluationRun(as_of=as_of, family_id=family_id, started_by=started_by, status="running")
        self.session.add(run)
        await self.session.flush()
        return run.id

    @staticmethod
    def _scope_cte(need_filter: str) -> str:
        return f"""
        scope AS (
            SELECT e.id AS enrolment_id, e.family_id, e.start_date, e.closed_on
            FROM enrolments e
            WHERE e.programme_phase = :phase AND e.framework_code = :framework
              AND e.framework_version = :framework_version
              AND (CAST(:family_id AS uuid) IS NULL OR e.family_id = CAST(:family_id AS uuid))
              AND {_IN_SHARD}
              AND {need_filter}
        )"""

    def rule_select_sql(self, rule: RuleSQL) -> str:
        """The rule alone as a query (what the evaluation stores; the benchmark times it bare)."""
        return "WITH " + self._scope_cte(":need = ANY(e.needs)") + "," + rule.ctes + " SELECT * FROM rule"

    def _need_sql(self, index: int, need: NeedRule) -> tuple[str, dict[str, Any]]:
        """One need's results as a subquery, its own parameters renamed `n<index>_…` to stand beside others."""
        own = {
            "need": need.code,
            "rule_kind": need.kind,
            "evidence_source": need.rule.evidence_source,
            **need.rule.params,
        }
        sustained = (
            "NULL::boolean"
            if need.route
            else """CASE WHEN CAST(:sustain_months AS int) IS NULL THEN NULL
                        ELSE r.met AND s.closed_on IS NOT NULL
                             AND CAST(:as_of AS date) >= (s.closed_on
                                 + make_interval(months => CAST(:sustain_months AS int)))::date
                   END"""
        )
        sql = (
            "WITH "
            + self._scope_cte("cardinality(e.needs) > 0" if need.route else ":need = ANY(e.needs)")
            + ","
            + need.rule.ctes
            + f"""
            SELECT r.enrolment_id, CAST(:need AS text) AS need, CAST(:rule_kind AS text) AS rule_kind, r.met,
                   {sustained} AS sustained,
                   r.reason, CAST(:evidence_source AS text) AS evidence_source, r.evidence_ids
            FROM rule r JOIN scope s ON s.enrolment_id = r.enrolment_id
            """
        )
        prefix = f"n{index}_"
        renamed = _BIND.sub(lambda m: f":{prefix}{m[1]}" if m[1] in own else m[0], sql)
        return renamed, {prefix + name: value for name, value in own.items()}

    _UNDEFINED_SQL = f"""
            SELECT e.id AS enrolment_id, n.need, 'undefined' AS rule_kind, false AS met,
                   NULL::boolean AS sustained, CAST(:undefined_reason AS text) AS reason,
                   NULL::text AS evidence_source, CAST('{{}}' AS bigint[]) AS evidence_ids
            FROM enrolments e CROSS JOIN LATERAL unnest(e.needs) AS n(need)
            WHERE e.programme_phase = :phase AND e.framework_code = :framework
              AND e.framework_version = :framework_version
              AND (CAST(:family_id AS uuid) IS NULL OR e.family_id = CAST(:family_id AS uuid))
              AND {_IN_SHARD}
              AND NOT n.need = ANY(CAST(:defined AS text[]))
            """

    _STORE_CHANGED = """
            compared AS (
                SELECT c.*, o.enrolment_id IS NOT NULL AS stored,
                       o.enrolment_id IS NULL
                       OR (o.rule_kind, o.met, o.sustained, o.reason, o.evidence_source, o.evidence_ids)
                          IS DISTINCT FROM (c.rule_kind, c.met, c.sustained, c.reason, c.evidence_source,
                                            c.evidence_ids) AS differs
                FROM computed c
                LEFT JOIN need_results o ON o.enrolment_id = c.enrolment_id AND o.need = c.need
            ),
            added AS (
                INSERT INTO need_results (enrolment_id, need, run_id, rule_kind, met, sustained, reason,
                                          evidence_source, evidence_ids, as_of, evaluated_at)
                SELECT enrolment_id, need, :run_id, rule_kind, met, sustained, reason, evidence_source,
                       evidence_ids, :as_of, now()
                FROM compared WHERE NOT stored
                ORDER BY enrolment_id, need
                RETURNING 1
            ),
            rewritten AS (
                UPDATE need_results nr
                SET run_id = :run_id, rule_kind = c.rule_kind, met = c.met, sustained = c.sustained,
                    reason = c.reason, evidence_source = c.evidence_source, evidence_ids = c.evidence_ids,
                    as_of = :as_of, evaluated_at = now()
                FROM compared c
                WHERE c.stored AND c.differs AND nr.enrolment_id = c.enrolment_id AND nr.need = c.need
                RETURNING 1
            )
            SELECT count(*) AS results, count(*) FILTER (WHERE met) AS met,
                   (SELECT count(*) FROM added) + (SELECT count(*) FROM rewritten) AS changed
            FROM compared
            """
    """Store the results that are new or differ from the stored ones, and count them all.

    A result that a run reaches again unchanged (same verdict, reason and evidence) is not rewritten: it keeps
    the run, `as_of` and time at which it was established. Rewriting it would cost a row version and a
    reference check per need per family on every run, for no change in what progress, claims or reports
    show. New results are inserted in primary key order (the index grows at its right edge, and a family's
    results share a page); `lock_for_evaluation` keeps another evaluation from inserting the same ones.
    """

    _STORE_NEW = """
            added AS (
                INSERT INTO need_results (enrolment_id, need, run_id, rule_kind, met, sustained, reason,
                                          evidence_source, evidence_ids, as_of, evaluated_at)
                SELECT enrolment_id, need, :run_id, rule_kind, met, sustained, reason, evidence_source,
                       evidence_ids, :as_of, now()
                FROM computed
                ORDER BY enrolment_id, need
                RETURNING met
            )
            SELECT count(*) AS results, count(*) FILTER (WHERE met) AS met, count(*) AS changed FROM added
            """
    """Store every result, when the enrolments in scope have none stored yet (a first evaluation).

    What `_STORE_CHANGED` would do then (each result new, all inserted, in the same order), without holding
    every computed result for the comparison and the update, and reading them three times: a whole cohort's
    first evaluation writes 500,000 results this way.
    """

    async def has_results(self, rules: VersionRules, *, phase: str, family_id: uuid.UUID | None, shard: Shard) -> bool:
        """Whether any enrolment of this framework version in scope (and in the shard) has a result stored."""
        sql = f"""
            SELECT EXISTS (
                SELECT 1 FROM enrolments e JOIN need_results nr ON nr.enrolment_id = e.id
                WHERE e.programme_phase = :phase AND e.framework_code = :framework
                  AND e.framework_version = :framework_version
                  AND (CAST(:family_id AS uuid) IS NULL OR e.family_id = CAST(:family_id AS uuid))
                  AND {_IN_SHARD}
            )"""
        params = {"phase": phase, "framework": rules.framework, "framework_version": rules.version,
                  "family_id": family_id, "shard_from": shard.start, "shard_below": shard.below}  # fmt: skip
        return bool(await self.session.scalar(text(sql), params))

    async def evaluate_framework(
        self,
        rules: VersionRules,
        *,
        run_id: uuid.UUID,
        as_of: date,
        phase: str,
        family_id: uuid.UUID | None,
        shard: Shard = WHOLE,
    ) -> Row[Any]:
        """Evaluate every need of one framework version for every enrolment in scope, in one statement.

        An enrolment's needs that `rules` does not define are recorded as not met with its `undefined_reason`.
        With a `shard`, only the enrolments whose ids fall in its range. When none of them has a result stored
        yet, every result is simply inserted (`_STORE_NEW`); otherwise the new and changed ones are written.
        Returns (results, met, changed): how many results were computed, how many are met, how many were
        written (new or different from the stored one).
        """
        params: dict[str, Any] = {
            "phase": phase,
            "framework": rules.framework,
            "framework_version": rules.version,
            "family_id": family_id,
            "run_id": run_id,
            "as_of": as_of,
            "sustain_months": rules.sustain_months,
            "defined": [n.code for n in rules.needs],
            "undefined_reason": rules.undefined_reason,
            "shard_from": shard.start,
            "shard_below": shard.below,
        }
        branches = []
        for index, need in enumerate(rules.needs):
            sql, own = self._need_sql(index, need)
            branches.append(f"SELECT * FROM ({sql}) n{index}")
            params.update(own)
        branches.append(self._UNDEFINED_SQL)
        first = not await self.has_results(rules, phase=phase, family_id=family_id, shard=shard)
        sql = (
            self._plan_tag(rules.framework, rules.version, family_id)
            + "WITH computed AS ("
            + "\n UNION ALL\n".join(branches)
            + "),"
            + (self._STORE_NEW if first else self._STORE_CHANGED)
        )
        return (await self.session.execute(text(sql), params)).one()

    async def shards(self, phase: str, count: int) -> list[Shard]:
        """Up to `count` ranges of enrolment ids that split the phase's enrolments into parts of even size.

        The cut points are the enrolments' own ids (the first of each `ntile`), so the split holds whatever the
        ids' distribution, random or time-ordered. The ranges are half-open and together cover every id; with
        fewer enrolments than `count`, there is one range per enrolment.
        """
        if count <= 1:
            return [WHOLE]
        cuts = (
            await self.session.scalars(
                text(
                    """
                    SELECT DISTINCT ON (part) id
                    FROM (SELECT id, ntile(:count) OVER (ORDER BY id) AS part
                          FROM enrolments WHERE programme_phase = :phase) parts
                    WHERE part > 1
                    ORDER BY part, id
                    """
                ),
                {"count": count, "phase": phase},
            )
        ).all()
        bounds: list[uuid.UUID | None] = [None, *cuts, None]
        return [Shard(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]

    async def families_in_scope(self, phase: str, family_id: uuid.UUID | None) -> int:
        """Enrolments of the phase (or the one family) with at least one identified need: those a run evaluates."""
        query = (
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.programme_phase == phase, func.cardinality(Enrolment.needs) > 0)
        )
        if family_id is not None:
            query = query.where(Enrolment.family_id == family_id)
        return int(await self.session.scalar(query) or 0)

    async def finish_run(self, run_id: uuid.UUID, *, families: int, results: int) -> None:
        await self.session.execute(
            update(EvaluationRun)
            .where(EvaluationRun.id == run_id)
            .values(families=families, results=results, status="completed", finished_at=func.now())
        )

    async def fail_run(self, run_id: uuid.UUID) -> None:
        await self.session.execute(
            update(EvaluationRun).where(EvaluationRun.id == run_id).values(status="failed", finished_at=func.now())
        )


def visible(scope: FamilyScope) -> ColumnElement[bool]:
    """The enrolments `scope` lets its caller see, as a WHERE predicate."""
    if scope.everything:
        return true()
    allowed = []
    if scope.hubs:
        allowed.append(Enrolment.hub.in_(sorted(scope.hubs)))
    if scope.families:
        allowed.append(Enrolment.family_id.in_(sorted(scope.families)))
    return or_(*allowed) if allowed else false()


class ProgressRepository(Repository):
    """The reads of progress: enrolments (within the caller's scope), their results and the evidence."""

    async def enrolments_for_families(
        self, family_ids: Sequence[uuid.UUID], phase: str, scope: FamilyScope
    ) -> Sequence[Enrolment]:
        return (
            await self.session.scalars(
                select(Enrolment).where(
                    Enrolment.family_id.in_(family_ids), Enrolment.programme_phase == phase, visible(scope)
                )
            )
        ).all()

    async def results_for(self, enrolment_ids: Sequence[uuid.UUID]) -> Sequence[NeedResult]:
        return (
            await self.session.scalars(
                select(NeedResult).where(NeedResult.enrolment_id.in_(enrolment_ids)).order_by(NeedResult.need)
            )
        ).all()

    async def evidence_rows(self, source: str, ids: Sequence[int]) -> list[dict[str, Any]]:
        model = EVIDENCE_TABLES[source]
        rows = (await self.session.scalars(select(model).where(model.id.in_(ids)).order_by(model.id))).all()
        out = []
        for row in rows:
            fields = {c.key: getattr(row, c.key) for c in model.__table__.columns}
            out.append(fields)
        return out
