"""Every query of casework: cases with their summary, lead workers, assessments, plans, the team, contacts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert

from cases.access import Viewer, case_visible
from cases.kit import Repository
from cases.models import (
    Assessment,
    Case,
    CaseReferral,
    CaseStep,
    Contact,
    LeadWorkerAssignment,
    Plan,
    Review,
    TeamAroundFamily,
)


class CaseworkRepository(Repository):
    async def get_case(
        self, case_id: uuid.UUID, *, for_update: bool = False, viewer: Viewer | None = None
    ) -> Case | None:
        """A case (visible to `viewer` when given), optionally locked for a change: one round trip."""
        query = select(Case).where(Case.id == case_id)
        if viewer is not None:
            query = query.where(case_visible(viewer))
        if for_update:
            query = query.with_for_update(of=Case)
        return (await self.session.scalars(query)).first()

    async def open_case_of_family(self, family_id: uuid.UUID) -> Case | None:
        query = select(Case).where(Case.family_id == family_id, Case.status != "closed")
        return (await self.session.scalars(query)).first()

    async def add_case(self, case: Case) -> bool:
        """False when the family already has an open case (the partial unique index refused it)."""
        return await self.savepoint_insert(case)

    async def touch_case(self, case: Case, **values: Any) -> None:
        """Change a case and bump its version (its ETag)."""
        for key, value in values.items():
            setattr(case, key, value)
        case.version = case.version + 1
        await self.session.flush()

    async def cases_with_summary(
        self,
        viewer: Viewer | None,
        *,
        ids: Sequence[uuid.UUID] | None = None,
        family_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[tuple[Case, uuid.UUID | None, Any, Any]]:
        """Cases with their current lead worker, latest assessment and referral ids, in one query."""
        lead = (
            select(LeadWorkerAssignment.worker_id)
            .where(LeadWorkerAssignment.case_id == Case.id, LeadWorkerAssignment.ended_at.is_(None))
            .scalar_subquery()
        )
        a = Assessment.__table__.alias("a")
        assessment = (
            select(
                func.json_build_object(
                    "id",
                    a.c.id,
                    "framework",
                    a.c.framework,
                    "framework_version",
                    a.c.framework_version,
                    "needs",
                    a.c.need_codes,
                    "eligible",
                    a.c.eligible,
                    "eligibility_reasons",
                    a.c.eligibility_reasons,
                    "assessed_on",
                    a.c.assessed_on,
                )
            )
            .where(a.c.case_id == Case.id)
            .order_by(a.c.created_at.desc(), a.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        referrals = (
            select(func.coalesce(func.json_agg(CaseReferral.referral_id), text("'[]'::json")))
            .where(CaseReferral.case_id == Case.id)
            .scalar_subquery()
        )
        query = select(Case, lead.label("lead"), assessment.label("assessment"), referrals.label("referrals"))
        if ids is not None:
            query = query.where(Case.id.in_(ids))
        if family_ids is not None:
            query = query.where(Case.family_id.in_(family_ids))
        if viewer is not None:
            query = query.where(case_visible(viewer))
        query = query.order_by(Case.opened_at, Case.id)
        return [(c, lw, asmt, refs) for c, lw, asmt, refs in (await self.session.execute(query))]

    async def is_case_visible(self, case_id: uuid.UUID, viewer: Viewer) -> bool:
        query = select(Case.id).where(Case.id == case_id, case_visible(viewer))
        return (await self.session.execute(query)).first() is not None

    async def add_step(self, step: CaseStep) -> None:
        await self.add(step)

    async def steps_by_case_ids(self, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[CaseStep]]:
        found: dict[uuid.UUID, list[CaseStep]] = {}
        if not case_ids:
            return found
        query = select(CaseStep).where(CaseStep.case_id.in_(case_ids)).order_by(CaseStep.on_date, CaseStep.id)
        for step in (await self.session.scalars(query)).all():
            found.setdefault(step.case_id, []).append(step)
        return found

    # --- lead workers ---------------------------------------------------------------------------------------

    async def current_assignment(self, case_id: uuid.UUID) -> LeadWorkerAssignment | None:
        query = select(LeadWorkerAssignment).where(
            LeadWorkerAssignment.case_id == case_id, LeadWorkerAssignment.ended_at.is_(None)
        )
        return (await self.session.scalars(query)).first()

    async def end_assignment(self, assignment: LeadWorkerAssignment, reason: str) -> None:
        await self.session.execute(
            update(LeadWorkerAssignment)
            .where(LeadWorkerAssignment.id == assignment.id)
            .values(ended_at=func.now(), end_reason=reason)
        )

    async def add_assignment(self, assignment: LeadWorkerAssignment) -> bool:
        return await self.savepoint_insert(assignment)

    async def assignment_history(self, case_id: uuid.UUID) -> list[LeadWorkerAssignment]:
        query = (
            select(LeadWorkerAssignment)
            .where(LeadWorkerAssignment.case_id == case_id)
            .order_by(LeadWorkerAssignment.assigned_at, LeadWorkerAssignment.id)
        )
        return list((await self.session.scalars(query)).all())

    # --- assessments, plans, reviews ----------------------------------------------------------------------

    async def case_began(self, case: Case) -> date:
        """The earliest of the case's opening date and its referrals' received dates."""
        received = await self.session.scalar(
            select(func.min(CaseReferral.received_at)).where(CaseReferral.case_id == case.id)
        )
        return min(case.opened_at, received).date() if received is not None else case.opened_at.date()

    async def latest_assessment(self, case_id: uuid.UUID) -> Assessment | None:
        query = (
            select(Assessment)
            .where(Assessment.case_id == case_id)
            .order_by(Assessment.created_at.desc(), Assessment.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(query)).first()

    async def active_plan(self, case_id: uuid.UUID) -> Plan | None:
        return (await self.session.scalars(select(Plan).where(Plan.case_id == case_id, Plan.active))).first()

    async def retire_plan(self, plan: Plan) -> None:
        plan.active = False
        await self.session.flush()

    async def replace_team(self, case_id: uuid.UUID, team: Sequence[tuple[uuid.UUID, str]]) -> None:
        await self.session.execute(delete(TeamAroundFamily).where(TeamAroundFamily.case_id == case_id))
        if team:
            await self.session.execute(
                insert(TeamAroundFamily),
                [{"id": uuid.uuid4(), "case_id": case_id, "worker_id": w, "role": r} for w, r in team],
            )

    async def team_of(self, case_id: uuid.UUID) -> list[TeamAroundFamily]:
        query = select(TeamAroundFamily).where(TeamAroundFamily.case_id == case_id).order_by(TeamAroundFamily.role)
        return list((await self.session.scalars(query.order_by(TeamAroundFamily.worker_id))).all())

    async def set_active_plan_team(self, case_id: uuid.UUID, team: list[dict[str, str]]) -> None:
        """The active plan shows the current team (the team is not versioned with the plan)."""
        await self.session.execute(update(Plan).where(Plan.case_id == case_id, Plan.active).values(team=team))

    async def plans_by_case_ids(self, case_ids: Sequence[uuid.UUID], viewer: Viewer | None) -> list[tuple[Plan, Any]]:
        """Active plans with their reviews inline, in one query."""
        r = Review.__table__.alias("rv")
        reviews = (
            select(
                func.coalesce(
                    func.json_agg(
                        aggregate_order_by(
                            func.json_build_object(
                                "id",
                                r.c.id,
                                "case_id",
                                r.c.case_id,
                                "plan_version",
                                r.c.plan_version,
                                "reviewed_on",
                                r.c.reviewed_on,
                                "summary",
                                r.c.summary,
                                "progress",
                                r.c.progress,
                                "next_review_due",
                                r.c.next_review_due,
                                "recorded_by",
                                r.c.recorded_by,
                            ),
                            r.c.reviewed_on,
                        )
                    ),
                    text("'[]'::json"),
                )
            )
            .where(r.c.case_id == Plan.case_id)
            .scalar_subquery()
        )
        query = select(Plan, reviews.label("reviews")).where(Plan.case_id.in_(case_ids), Plan.active)
        if viewer is not None:
            query = query.where(exists().where(Case.id == Plan.case_id, case_visible(viewer)))
        return [(p, rv) for p, rv in (await self.session.execute(query.order_by(Plan.case_id)))]

    # --- contacts -------------------------------------------------------------------------------------------

    async def contacts(
        self, case_ids: Sequence[uuid.UUID], viewer: Viewer, *, sensitive_viewer: Viewer
    ) -> list[Contact]:
        """Contacts of visible cases; sensitive ones only where `sensitive_viewer` (lead, managers) sees the case."""
        sensitive_ok = exists().where(Case.id == Contact.case_id, case_visible(sensitive_viewer))
        query = (
            select(Contact)
            .where(
                Contact.case_id.in_(case_ids),
                exists().where(Case.id == Contact.case_id, case_visible(viewer)),
                or_(Contact.sensitive.is_(False), sensitive_ok),
            )
            .order_by(Contact.case_id, Contact.occurred_at, Contact.id)
        )
        return list((await self.session.scalars(query)).all())
