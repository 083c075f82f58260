"""HTTP endpoints of casework: thin handlers over `CaseworkService` and `PlanningService`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from cases.casework.schemas import (
    AssessmentCreate,
    AssessmentRead,
    CaseClose,
    CaseCreate,
    CaseRead,
    ContactCreate,
    ContactRead,
    LeadWorkerAssign,
    LeadWorkerAssignmentRead,
    PlanRead,
    PlanUpdate,
    ReviewCreate,
    ReviewRead,
    TeamRead,
    TeamUpdate,
)
from cases.casework.service import plan_etag
from cases.deps import CallerDep, CaseworkServiceDep, Idempotent, PlanningServiceDep, TeamServiceDep
from cases.models import Assessment
from cases.schemas import Page
from shared.errors import UnprocessableContent, field_error
from shared.fields import IDS_LENGTH, SHORT_TEXT_LENGTH
from shared.ids import parse_ids

router = APIRouter(prefix="/v1", tags=["cases"])


@router.get("/cases", summary="Cases by id or by family id (batch)")
async def cases(
    casework: CaseworkServiceDep,
    caller: CallerDep,
    ids: Annotated[str | None, Query(max_length=IDS_LENGTH)] = None,
    family_ids: Annotated[str | None, Query(max_length=IDS_LENGTH)] = None,
) -> Page[CaseRead]:
    if (ids is None) == (family_ids is None):
        raise UnprocessableContent("Give ids or family_ids", errors=[field_error("#query/ids", "ids or family_ids")])
    if ids is not None:
        return Page(items=await casework.cases(caller, ids=parse_ids(ids, "ids")))
    return Page(items=await casework.cases(caller, family_ids=parse_ids(family_ids, "family_ids")))


@router.post("/cases", status_code=status.HTTP_201_CREATED, summary="Open a case for a family (hub manager)")
async def open_case(
    body: CaseCreate, casework: CaseworkServiceDep, caller: CallerDep, response: Response, idempotent: Idempotent
) -> CaseRead:
    case = await idempotent.run(CaseRead, lambda: casework.open_case(body, caller))
    response.headers["ETag"] = f'"case-{case.version}"'
    return case


@router.get("/cases/{case_id}", summary="One case")
async def case(case_id: uuid.UUID, casework: CaseworkServiceDep, caller: CallerDep, response: Response) -> CaseRead:
    found = await casework.case(case_id, caller)
    response.headers["ETag"] = f'"case-{found.version}"'
    return found


@router.post("/cases/{case_id}/lead-worker", status_code=status.HTTP_201_CREATED, summary="Assign the lead worker")
async def assign_lead_worker(
    case_id: uuid.UUID,
    body: LeadWorkerAssign,
    casework: CaseworkServiceDep,
    caller: CallerDep,
    idempotent: Idempotent,
) -> LeadWorkerAssignmentRead:
    return await idempotent.run(LeadWorkerAssignmentRead, lambda: casework.assign_lead_worker(case_id, body, caller))


@router.get("/cases/{case_id}/lead-worker/history", summary="Lead worker assignments, oldest first")
async def lead_worker_history(
    case_id: uuid.UUID, casework: CaseworkServiceDep, caller: CallerDep
) -> Page[LeadWorkerAssignmentRead]:
    found = await casework.lead_worker_history(case_id, caller)
    return Page(items=[LeadWorkerAssignmentRead.model_validate(a, from_attributes=True) for a in found])


@router.post("/cases/{case_id}/assessment", status_code=status.HTTP_201_CREATED, summary="Whole-family assessment")
async def record_assessment(
    case_id: uuid.UUID,
    body: AssessmentCreate,
    planning: PlanningServiceDep,
    caller: CallerDep,
    idempotent: Idempotent,
) -> AssessmentRead:
    async def record() -> AssessmentRead:
        return _assessment_read(await planning.record_assessment(case_id, body, caller))

    return await idempotent.run(AssessmentRead, record)


def _assessment_read(assessment: Assessment) -> AssessmentRead:
    return AssessmentRead(
        id=assessment.id,
        case_id=assessment.case_id,
        framework=assessment.framework,
        framework_version=assessment.framework_version,
        needs=assessment.need_codes,
        needs_detail=assessment.needs,
        eligible=assessment.eligible,
        eligibility_reasons=assessment.eligibility_reasons,
        assessed_on=assessment.assessed_on,
        strengths=assessment.strengths,
        family_views=assessment.family_views,
        child_voice=assessment.child_voice,
        assessed_by=assessment.assessed_by,
    )


@router.get("/cases/{case_id}/plan", summary="The active plan (with its ETag)")
async def get_plan(case_id: uuid.UUID, planning: PlanningServiceDep, caller: CallerDep, response: Response) -> PlanRead:
    plan, reviews = await planning.plan(case_id, caller)
    response.headers["ETag"] = plan_etag(plan)
    return PlanRead.model_validate(plan, from_attributes=True).model_copy(update={"reviews": reviews})


@router.put("/cases/{case_id}/plan", summary="Write a new version of the plan (If-Match required once a plan exists)")
async def put_plan(
    case_id: uuid.UUID,
    body: PlanUpdate,
    planning: PlanningServiceDep,
    caller: CallerDep,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=SHORT_TEXT_LENGTH)] = None,
) -> PlanRead:
    plan = await planning.update_plan(case_id, body, caller, if_match=if_match)
    response.headers["ETag"] = plan_etag(plan)
    return PlanRead.model_validate(plan, from_attributes=True)


@router.get("/cases/{case_id}/team", summary="The team around the family (with the case's ETag)")
async def get_team(case_id: uuid.UUID, teams: TeamServiceDep, caller: CallerDep, response: Response) -> TeamRead:
    team, etag = await teams.team(case_id, caller)
    response.headers["ETag"] = etag
    return team


@router.put(
    "/cases/{case_id}/team",
    summary="Replace the team around the family (lead worker or hub manager; audited with its reason; If-Match with "
    "the case's ETag required)",
)
async def put_team(
    case_id: uuid.UUID,
    body: TeamUpdate,
    teams: TeamServiceDep,
    caller: CallerDep,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=SHORT_TEXT_LENGTH)] = None,
) -> TeamRead:
    team, etag = await teams.replace_team(case_id, body, caller, if_match=if_match)
    response.headers["ETag"] = etag
    return team


@router.get("/plans", summary="Active plans by case id (batch), reviews inline")
async def plans(
    planning: PlanningServiceDep, caller: CallerDep, case_ids: str = Query(max_length=IDS_LENGTH)
) -> Page[PlanRead]:
    return Page(items=await planning.plans(parse_ids(case_ids, "case_ids"), caller))


@router.post("/cases/{case_id}/reviews", status_code=status.HTTP_201_CREATED, summary="Record a plan review")
async def record_review(
    case_id: uuid.UUID, body: ReviewCreate, planning: PlanningServiceDep, caller: CallerDep, idempotent: Idempotent
) -> ReviewRead:
    return await idempotent.run(ReviewRead, lambda: planning.record_review(case_id, body, caller))


@router.post("/cases/{case_id}/contacts", status_code=status.HTTP_201_CREATED, summary="Record a contact or note")
async def add_contact(
    case_id: uuid.UUID, body: ContactCreate, casework: CaseworkServiceDep, caller: CallerDep, idempotent: Idempotent
) -> ContactRead:
    return await idempotent.run(ContactRead, lambda: casework.add_contact(case_id, body, caller))


@router.get("/cases/{case_id}/contacts", summary="Contacts of a case (sensitive ones for the lead and managers)")
async def case_contacts(case_id: uuid.UUID, casework: CaseworkServiceDep, caller: CallerDep) -> Page[ContactRead]:
    await casework.visible_case(case_id, caller, for_update=False)  # 404 for a case the caller cannot see
    found = await casework.contacts([case_id], caller)
    return Page(items=[ContactRead.model_validate(c, from_attributes=True) for c in found])


@router.get("/contacts", summary="Contacts by case id (batch)")
async def contacts(
    casework: CaseworkServiceDep, caller: CallerDep, case_ids: str = Query(max_length=IDS_LENGTH)
) -> Page[ContactRead]:
    found = await casework.contacts(parse_ids(case_ids, "case_ids"), caller)
    return Page(items=[ContactRead.model_validate(c, from_attributes=True) for c in found])


@router.post("/cases/{case_id}/close", summary="Close a case with its outcome (If-Match with the case's ETag required)")
async def close_case(
    case_id: uuid.UUID,
    body: CaseClose,
    casework: CaseworkServiceDep,
    caller: CallerDep,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=SHORT_TEXT_LENGTH)] = None,
) -> CaseRead:
    closed = await casework.close_case(case_id, body, caller, if_match=if_match)
    response.headers["ETag"] = f'"case-{closed.version}"'
    return closed
