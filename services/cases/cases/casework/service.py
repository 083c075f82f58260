"""The rules of casework: opening a case, the lead worker, contacts and closure.

One family, one case open at a time, one lead worker: the case row is locked for every change, and partial
unique indexes (see `cases.models`) are the last line of defence. Ids of cases the caller may not see are the
same 404 as unknown ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from cases.access import Caller
from cases.casework.repository import CaseworkRepository
from cases.casework.schemas import (
    AssessmentSummary,
    CaseClose,
    CaseCreate,
    CaseRead,
    CaseStepRead,
    ContactCreate,
    LeadWorkerAssign,
)
from cases.families.repository import FamiliesRepository
from cases.kit import today
from cases.models import Case, CaseStep, Contact, LeadWorkerAssignment, Plan
from cases.workforce.repository import WorkforceRepository
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    UnprocessableContent,
    field_error,
)


def plan_etag(plan: Plan | None) -> str:
    return f'"plan-{plan.version}"' if plan is not None else '"plan-0"'


def case_etag(case: Case) -> str:
    return f'"case-{case.version}"'


def etag_matches(if_match: str, current: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    return "*" in tags or current in tags


def require_current(if_match: str | None, current: str, action: str, changed: str) -> None:
    """The one rule for changing a versioned resource (a case, a plan): `If-Match` with its current ETag is
    required (428 without it), and a stale one is a 412 that names the current ETag."""
    if if_match is None:
        raise PreconditionRequired(
            f"{action} needs If-Match with the current ETag (read it, then send it back)", current_etag=current
        )
    if not etag_matches(if_match, current):
        raise PreconditionFailed(f"{changed}; reload it and apply your change again", current_etag=current)


class CaseworkService:
    def __init__(
        self, repo: CaseworkRepository, *, families: FamiliesRepository, workforce: WorkforceRepository
    ) -> None:
        self.repo = repo
        self.families = families
        self.workforce = workforce

    def case_read(self, case: Case, lead: uuid.UUID | None, assessment: Any, referrals: Any) -> CaseRead:
        return CaseRead(
            id=case.id,
            family_id=case.family_id,
            hub=case.hub,
            status=case.status,
            version=case.version,
            reason=case.reason,
            opened_at=case.opened_at,
            opened_by=case.opened_by,
            referral_ids=list(referrals or []),
            lead_worker_id=lead,
            assessment=AssessmentSummary.model_validate(assessment) if assessment else None,
            closed_on=case.closed_on,
            outcome=case.outcome,
            closure_reason=case.closure_reason,
        )

    async def with_steps(self, reads: list[CaseRead]) -> list[CaseRead]:
        """The cases with their steps up and down (who received the family, and why)."""
        steps = await self.repo.steps_by_case_ids([r.id for r in reads])
        return [
            r.model_copy(
                update={"steps": [CaseStepRead.model_validate(s, from_attributes=True) for s in steps.get(r.id, [])]}
            )
            for r in reads
        ]

    async def cases(
        self,
        caller: Caller,
        *,
        ids: Sequence[uuid.UUID] | None = None,
        family_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[CaseRead]:
        rows = await self.repo.cases_with_summary(caller.viewer, ids=ids, family_ids=family_ids)
        result = await self.with_steps([self.case_read(*row) for row in rows])
        await self.repo.audit(caller.principal, "read", "case", [c.id for c in result])
        return result

    async def case(self, case_id: uuid.UUID, caller: Caller) -> CaseRead:
        found = await self.cases(caller, ids=[case_id])
        if not found:
            raise NotFound("No such case")
        return found[0]

    async def visible_case(self, case_id: uuid.UUID, caller: Caller, *, for_update: bool = True) -> Case:
        """The case, locked for the change, when the caller may work on it (404 otherwise: ids are not disclosed)."""
        case = await self.repo.get_case(case_id, for_update=for_update, viewer=caller.viewer)
        if case is None:
            raise NotFound("No such case")
        return case

    async def require_lead_or_manager(self, case: Case, caller: Caller, what: str) -> None:
        """The lead worker and the hub's managers change the case; the wider team reads it and adds contacts.

        Call after `visible_case`: a caller who cannot see the case has had their 404 already, so this 403
        discloses nothing.
        """
        if caller.manages(case.hub):
            return
        current = await self.repo.current_assignment(case.id)
        if current is None or caller.worker_id is None or current.worker_id != caller.worker_id:
            raise Forbidden(f"{what} is for the case's lead worker and the hub's managers")

    @staticmethod
    def require_open(case: Case) -> None:
        if case.status == "closed":
            raise Conflict("The case is closed")

    async def open_case(self, body: CaseCreate, caller: Caller) -> CaseRead:
        # Whether the caller opens cases at all does not depend on the id (403); whether this family is theirs
        # does, so another hub's family answers exactly like an unknown id (404): ids are not disclosed (F5).
        if not caller.is_manager:
            raise Forbidden("Only the family's hub managers open cases")
        family = await self.families.get_family(body.family_id)
        if family is None or not caller.manages(family.hub):
            raise NotFound("No such family")
        hub = body.hub or family.hub
        if not caller.manages(hub) or not await self.workforce.hub_exists(hub):
            raise UnprocessableContent(
                "Unknown hub or not one you manage", errors=[field_error("/hub", "not your hub")]
            )
        case = Case(
            id=uuid.uuid4(),
            family_id=family.id,
            hub=hub,
            status="open",
            version=1,
            reason=body.reason,
            opened_by=caller.principal.actor,
        )
        if not await self.repo.add_case(case):
            existing = await self.repo.open_case_of_family(family.id)
            raise Conflict("The family already has an open case", case_id=str(existing.id) if existing else None)
        if body.stepped_down_from is not None:
            await self.repo.add_step(
                CaseStep(
                    id=uuid.uuid4(),
                    case_id=case.id,
                    direction="down",
                    on_date=today(),
                    agency=body.stepped_down_from.agency,
                    reason=body.stepped_down_from.reason,
                    recorded_by=caller.principal.actor,
                )
            )
        await self.repo.publish(
            "case.opened",
            case.id,
            {
                "case_id": case.id,
                "family_id": family.id,
                "hub": hub,
                "referral_id": None,
                "opened_at": case.opened_at,
            },
        )
        await self.repo.audit(caller.principal, "create", "case", [case.id], purpose=body.reason)
        return await self.case(case.id, caller)

    # --- the lead worker --------------------------------------------------------------------------------

    async def assign_lead_worker(
        self, case_id: uuid.UUID, body: LeadWorkerAssign, caller: Caller
    ) -> LeadWorkerAssignment:
        """Assign or reassign the lead worker, keeping history.

        The case row is locked first (one assignment per case at a time), then the worker row (one caseload count
        per worker at a time), always in that order; the partial unique index is the last line of defence.
        """
        case = await self.visible_case(case_id, caller)
        self.require_open(case)
        current = await self.repo.current_assignment(case.id)
        is_lead = current is not None and caller.worker_id == current.worker_id
        if not (caller.manages(case.hub) or is_lead):
            raise Forbidden("The lead worker is assigned by the hub's managers (or handed over by the lead worker)")
        if body.override_cap and not caller.manages(case.hub):
            raise Forbidden("Only a hub manager can override a caseload cap")
        worker = await self.workforce.get_worker(body.worker_id, for_update=True)
        if worker is None or not worker.active:
            raise UnprocessableContent(
                "Unknown or inactive worker", errors=[field_error("/worker_id", "no such worker")]
            )
        if current is not None and current.worker_id == worker.id:
            raise Conflict("This worker is already the case's lead worker")
        load = await self.workforce.current_caseload_count(worker.id)
        if load >= worker.caseload_cap and not body.override_cap:
            raise Conflict(
                f"The worker is at their caseload cap ({load} of {worker.caseload_cap})",
                caseload=load,
                caseload_cap=worker.caseload_cap,
            )
        if current is not None:
            await self.repo.end_assignment(current, f"reassigned: {body.reason}")
        assignment = LeadWorkerAssignment(
            id=uuid.uuid4(),
            case_id=case.id,
            worker_id=worker.id,
            reason=body.reason,
            assigned_by=caller.principal.actor,
            cap_overridden=load >= worker.caseload_cap,
        )
        if not await self.repo.add_assignment(assignment):
            raise Conflict("The case's lead worker changed at the same time; reload and try again")
        if case.status == "open":
            await self.repo.touch_case(case, status="assessment")
        else:
            await self.repo.touch_case(case)
        await self.repo.publish(
            "case.lead_worker_assigned",
            case.id,
            {
                "case_id": case.id,
                "family_id": case.family_id,
                "hub": case.hub,
                "worker_id": worker.id,
                "previous_worker_id": current.worker_id if current else None,
                "reason": body.reason,
                "cap_overridden": assignment.cap_overridden,
                "assigned_at": assignment.assigned_at,
            },
        )
        await self.repo.audit(caller.principal, "update", "case", [case.id], purpose="lead worker assigned")
        return assignment

    async def lead_worker_history(self, case_id: uuid.UUID, caller: Caller) -> list[LeadWorkerAssignment]:
        await self.visible_case(case_id, caller, for_update=False)
        await self.repo.audit(caller.principal, "read", "case", [case_id], purpose="lead worker history")
        return await self.repo.assignment_history(case_id)

    async def add_contact(self, case_id: uuid.UUID, body: ContactCreate, caller: Caller) -> Contact:
        case = await self.visible_case(case_id, caller, for_update=False)
        contact = Contact(id=uuid.uuid4(), case_id=case.id, recorded_by=caller.principal.actor, **body.model_dump())
        await self.repo.add(contact)
        await self.repo.audit(caller.principal, "create", "contact", [contact.id], purpose=f"case {case.id}")
        return contact

    async def contacts(self, case_ids: Sequence[uuid.UUID], caller: Caller) -> list[Contact]:
        found = await self.repo.contacts(case_ids, caller.viewer, sensitive_viewer=caller.lead_viewer)
        await self.repo.audit(caller.principal, "read", "contact", [c.id for c in found])
        return found

    # --- closure --------------------------------------------------------------------------------------------

    async def close_case(
        self, case_id: uuid.UUID, body: CaseClose, caller: Caller, *, if_match: str | None
    ) -> CaseRead:
        case = await self.visible_case(case_id, caller)
        self.require_open(case)
        current = await self.repo.current_assignment(case.id)
        if not (caller.manages(case.hub) or (current is not None and current.worker_id == caller.worker_id)):
            raise Forbidden("A case is closed by its lead worker or the hub's managers")
        require_current(if_match, case_etag(case), "Closing a case", "The case has changed since you read it")
        closed_on = body.closed_on or today()
        if closed_on < case.opened_at.date() or closed_on > today():
            raise UnprocessableContent(
                "closed_on is out of range",
                errors=[field_error("/closed_on", "between the opening date and today")],
            )
        if body.step is not None and body.outcome in ("stepped_up", "stepped_down"):
            await self.repo.add_step(
                CaseStep(
                    id=uuid.uuid4(),
                    case_id=case.id,
                    direction="up" if body.outcome == "stepped_up" else "down",
                    on_date=closed_on,
                    agency=body.step.agency,
                    reason=body.step.reason,
                    recorded_by=caller.principal.actor,
                )
            )
        if current is not None:
            await self.repo.end_assignment(current, "case closed")
        await self.repo.touch_case(
            case, status="closed", closed_on=closed_on, outcome=body.outcome, closure_reason=body.reason
        )
        await self.repo.publish(
            "case.closed",
            case.id,
            {
                "case_id": case.id,
                "family_id": case.family_id,
                "closed_on": closed_on,
                "outcome": body.outcome,
            },
        )
        await self.repo.audit(caller.principal, "update", "case", [case.id], purpose=f"closed: {body.outcome}")
        # read without the visibility check: closing ends the lead worker's assignment, and so their access
        return (await self.with_steps([self.case_read(*(await self.repo.cases_with_summary(None, ids=[case.id]))[0])]))[
            0
        ]
