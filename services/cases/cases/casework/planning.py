"""The rules of planning: the whole-family assessment, the plan (versioned, with its ETag) and its reviews.

The assessment is checked against the active outcome framework (asked of the outcomes service) and decides
eligibility; the plan's goals and actions must address needs the assessment identified.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from cases.access import Caller
from cases.casework.repository import CaseworkRepository
from cases.casework.schemas import TEAM_MOVED, AssessmentCreate, PlanRead, PlanUpdate, ReviewCreate, ReviewRead
from cases.casework.service import CaseworkService, plan_etag, require_current
from cases.families.repository import FamiliesRepository
from cases.frameworks import FrameworkClient
from cases.kit import today
from cases.models import Assessment, Case, Plan, Review, TeamAroundFamily
from cases.workforce.repository import WorkforceRepository
from shared.contracts import ActiveFramework, eligibility
from shared.deprecation import used_deprecated
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    UnprocessableContent,
    field_error,
)


def team_json(team: Sequence[TeamAroundFamily]) -> list[dict[str, str]]:
    """The team around the family as the plan shows it."""
    return [{"worker_id": str(t.worker_id), "role": t.role} for t in team]


def assessed_needs(
    body: AssessmentCreate, framework: ActiveFramework
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The assessed needs as stored, each descriptor by its code (sent by code or, for older clients, by its
    exact label), and the field errors of needs and descriptors the framework does not have."""
    errors: list[dict[str, Any]] = []
    needs = []
    for index, need in enumerate(body.needs):
        known = framework.need(need.code)
        if known is None:
            errors.append(field_error(f"/needs/{index}/code", f"not a need of the framework {framework.code}"))
            continue
        codes = []
        for d_index, given in enumerate(need.descriptors):
            found = known.descriptor(given)
            if known.descriptors and found is None:
                choices = ", ".join(d.code for d in known.descriptors)
                message = f"not a descriptor of this need: send one of its codes ({choices})"
                errors.append(field_error(f"/needs/{index}/descriptors/{d_index}", message))
            if found is not None and found.code != given:
                used_deprecated("descriptor label")  # the answer says so (Deprecation header)
            codes.append(found.code if found is not None else given)
        needs.append({**need.model_dump(), "descriptors": codes})
    return needs, errors


class PlanningService:
    def __init__(
        self,
        repo: CaseworkRepository,
        *,
        casework: CaseworkService,
        families: FamiliesRepository,
        workforce: WorkforceRepository,
        frameworks: FrameworkClient,
        review_weeks: int,
    ) -> None:
        self.repo = repo
        self.casework = casework
        self.families = families
        self.workforce = workforce
        self.frameworks = frameworks
        self.review_weeks = review_weeks

    async def record_assessment(self, case_id: uuid.UUID, body: AssessmentCreate, caller: Caller) -> Assessment:
        seen = await self.casework.visible_case(case_id, caller, for_update=False)  # 404 before calling outcomes
        await self.casework.require_lead_or_manager(seen, caller, "Recording the assessment")
        framework = await self.frameworks.active()
        case = await self.casework.visible_case(case_id, caller)
        self.casework.require_open(case)
        needs, errors = assessed_needs(body, framework)
        codes = [n.code for n in body.needs]
        if len(set(codes)) != len(codes):
            errors.append(field_error("/needs", "each need may appear once"))
        if errors:
            raise UnprocessableContent("The assessment does not fit the active framework", errors=errors)
        assessed_on = body.assessed_on or today()
        began = await self._check_assessed_on(case, assessed_on, body.backdate_reason, caller)
        members = await self.families.current_members(case.family_id)
        roles = [m.role for m, _ in members]
        rule = eligibility(framework, codes, roles)
        eligible, reasons = rule.eligible, rule.reasons
        assessment = Assessment(
            id=uuid.uuid4(),
            case_id=case.id,
            framework=framework.code,
            framework_version=framework.version,
            needs=needs,
            need_codes=codes,
            strengths=body.strengths,
            family_views=body.family_views,
            child_voice=body.child_voice,
            eligible=eligible,
            eligibility_reasons=reasons,
            assessed_on=assessed_on,
            assessed_by=caller.principal.actor,
        )
        await self.repo.add(assessment)
        await self.repo.touch_case(case, status="plan" if case.status in ("open", "assessment") else case.status)
        people = [
            {
                "person_id": p.id,
                "role": m.role,
                "date_of_birth": p.date_of_birth,
                "nhs_number": p.nhs_number,
                "upn": p.upn,
            }
            for m, p in members
            if p is not None
        ]
        await self.repo.publish(
            "case.assessment_completed",
            case.id,
            {
                "case_id": case.id,
                "family_id": case.family_id,
                "hub": case.hub,
                "framework": framework.code,
                "framework_version": framework.version,
                "needs": codes,
                "assessed_on": assessment.assessed_on,
                "eligible": eligible,
                "people": people,
                "expectant": "unborn" in roles,
            },
        )
        await self.repo.audit(caller.principal, "create", "assessment", [assessment.id], purpose=f"case {case.id}")
        if began is not None:
            await self.repo.audit(
                caller.principal,
                "update",
                "assessment",
                [assessment.id],
                purpose=f"back-dated to {assessed_on} (case {case.id} began {began}): {body.backdate_reason}",
            )
        return assessment

    async def _check_assessed_on(
        self, case: Case, assessed_on: date, backdate_reason: str | None, caller: Caller
    ) -> date | None:
        """An assessment's date sets the baseline of payment-by-results rules, so it is bounded: not in the future,
        not before the case began, unless a hub manager back-dates it with a reason. The case's start when the
        assessment is back-dated (to audit), else None."""
        if assessed_on > today():
            raise UnprocessableContent(
                "The assessment is dated in the future", errors=[field_error("/assessed_on", "after today")]
            )
        began = await self.repo.case_began(case)
        if assessed_on >= began:
            return None
        if backdate_reason is None:
            raise UnprocessableContent(
                "The assessment is dated before the case began",
                errors=[
                    field_error(
                        "/assessed_on",
                        f"before {began}, when the referral was received or the case opened; a hub manager may "
                        "back-date it with backdate_reason",
                        "before_case_began",
                    )
                ],
            )
        if not caller.manages(case.hub):
            raise Forbidden("Only the hub's managers back-date an assessment")
        return began

    # --- the plan -----------------------------------------------------------------------------------------

    async def plan(self, case_id: uuid.UUID, caller: Caller) -> tuple[Plan, list[ReviewRead]]:
        rows = await self.repo.plans_by_case_ids([case_id], caller.viewer)
        if not rows:
            if not await self.repo.is_case_visible(case_id, caller.viewer):
                raise NotFound("No such case")
            raise NotFound("The case has no plan yet")
        await self.repo.audit(caller.principal, "read", "plan", [rows[0][0].id])
        plan, reviews = rows[0]
        return plan, [ReviewRead.model_validate(r) for r in reviews]

    async def plans(self, case_ids: Sequence[uuid.UUID], caller: Caller) -> list[PlanRead]:
        rows = await self.repo.plans_by_case_ids(case_ids, caller.viewer)
        await self.repo.audit(caller.principal, "read", "plan", [p.id for p, _ in rows])
        return [
            PlanRead.model_validate(p, from_attributes=True).model_copy(
                update={"reviews": [ReviewRead.model_validate(r) for r in reviews]}
            )
            for p, reviews in rows
        ]

    async def update_plan(self, case_id: uuid.UUID, body: PlanUpdate, caller: Caller, *, if_match: str | None) -> Plan:
        """Write a new plan version. The case row lock orders writers; `If-Match` catches stale editors."""
        case = await self.casework.visible_case(case_id, caller)
        await self.casework.require_lead_or_manager(case, caller, "Writing the plan")
        self.casework.require_open(case)
        current = await self.repo.active_plan(case.id)
        if current is not None:
            require_current(if_match, plan_etag(current), "Updating a plan", "The plan has changed since you read it")
        elif if_match is not None and if_match.strip() != plan_etag(None):  # `*` needs a current plan
            raise PreconditionFailed("The case has no plan yet", current_etag=plan_etag(None))
        team = await self.repo.team_of(case.id)
        if body.team is not None and {(t.worker_id, t.role) for t in body.team} != {
            (t.worker_id, t.role) for t in team
        }:
            # the team is the case's access list: its own, audited operation (`TeamService`), never a side effect
            raise UnprocessableContent(
                "The team around the family is not changed with the plan", errors=[field_error("/team", TEAM_MOVED)]
            )
        assessment = await self.repo.latest_assessment(case.id)
        if assessment is None:
            raise Conflict("The family needs a whole-family assessment before a plan")
        await self._validate_plan(body, assessment)
        if current is not None:
            await self.repo.retire_plan(current)
        next_review = body.next_review_due or today() + timedelta(weeks=self.review_weeks)
        plan = Plan(
            id=uuid.uuid4(),
            case_id=case.id,
            version=(current.version + 1) if current else 1,
            active=True,
            goals=[g.model_dump(mode="json") for g in body.goals],
            actions=[a.model_dump(mode="json") for a in body.actions],
            team=team_json(team),
            review_dates=[d.isoformat() for d in body.review_dates],
            next_review_due=next_review,
            change_summary=body.change_summary,
            created_by=caller.principal.actor,
        )
        await self.repo.add(plan)
        if case.status in ("open", "assessment"):
            await self.repo.touch_case(case, status="plan")
        await self.repo.publish(
            "plan.updated",
            case.id,
            {
                "case_id": case.id,
                "family_id": case.family_id,
                "plan_id": plan.id,
                "version": plan.version,
                "next_review_due": plan.next_review_due,
                "needs": sorted({g.need for g in body.goals}),
            },
        )
        await self.repo.audit(caller.principal, "update", "plan", [plan.id], purpose=f"case {case.id} v{plan.version}")
        return plan

    async def _validate_plan(self, body: PlanUpdate, assessment: Assessment) -> None:
        review_weeks = self.review_weeks
        needs = set(assessment.need_codes)
        errors = [
            field_error(f"/goals/{i}/need", "not a need identified in the assessment")
            for i, g in enumerate(body.goals)
            if g.need not in needs
        ]
        errors += [
            field_error(f"/actions/{i}/need", "not a need identified in the assessment")
            for i, a in enumerate(body.actions)
            if a.need not in needs
        ]
        workers = {a.owner_worker_id for a in body.actions if a.owner_worker_id}
        known = await self.workforce.existing_worker_ids(list(workers)) if workers else set()
        errors += [
            field_error(f"/actions/{i}/owner_worker_id", "no such worker")
            for i, a in enumerate(body.actions)
            if a.owner_worker_id and a.owner_worker_id not in known
        ]
        if body.next_review_due is not None:
            latest = today() + timedelta(weeks=review_weeks)
            if not today() <= body.next_review_due <= latest:
                errors.append(field_error("/next_review_due", f"must be within {review_weeks} weeks from today"))
        if errors:
            raise UnprocessableContent("The plan is not valid for this case", errors=errors)

    async def record_review(self, case_id: uuid.UUID, body: ReviewCreate, caller: Caller) -> Review:
        review_weeks = self.review_weeks
        case = await self.casework.visible_case(case_id, caller)
        await self.casework.require_lead_or_manager(case, caller, "Recording a plan review")
        self.casework.require_open(case)
        plan = await self.repo.active_plan(case.id)
        if plan is None:
            raise Conflict("A review needs a plan to review")
        reviewed_on = body.reviewed_on or today()
        next_due = body.next_review_due or reviewed_on + timedelta(weeks=review_weeks)
        if next_due > reviewed_on + timedelta(weeks=review_weeks) or next_due < reviewed_on:
            raise UnprocessableContent(
                "The next review is out of range",
                errors=[field_error("/next_review_due", f"within {review_weeks} weeks of the review")],
            )
        review = Review(
            id=uuid.uuid4(),
            case_id=case.id,
            plan_version=plan.version,
            reviewed_on=reviewed_on,
            summary=body.summary,
            progress=body.progress,
            next_review_due=next_due,
            recorded_by=caller.principal.actor,
        )
        await self.repo.add(review)
        await self.repo.touch_case(case, status="review")
        await self.repo.audit(caller.principal, "create", "review", [review.id], purpose=f"case {case.id}")
        return review
