"""HTTP endpoints of the cases service: thin handlers over `cases.service`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

from cases.frameworks import FrameworkClient
from cases.models import Assessment, Worker, idempotency_keys
from cases.schemas import (
    AssessmentCreate,
    AssessmentRead,
    CaseClose,
    CaseCreate,
    CaseloadItem,
    CaseloadRead,
    CaseRead,
    ContactCreate,
    ContactRead,
    FamilyCreate,
    FamilyRead,
    HubPut,
    HubRead,
    LeadWorkerAssign,
    LeadWorkerAssignmentRead,
    MatchRequest,
    MatchResult,
    MemberCreate,
    MemberLeave,
    MergeRead,
    MergeRequest,
    Page,
    PersonCreate,
    PersonRead,
    PlanRead,
    PlanUpdate,
    RelationshipCreate,
    ReviewCreate,
    ReviewRead,
    UnmergeRequest,
    WorkerCreate,
    WorkerRead,
)
from cases.service import Caller, CasesService, plan_etag
from shared.auth import Principal, require_roles
from shared.db import SessionDep
from shared.errors import NotFound, UnprocessableContent, field_error
from shared.idempotency import Idempotency, idempotency

STAFF = ("practitioner", "hub_manager")
MAX_IDS = 100

router = APIRouter(prefix="/v1", tags=["cases"])
Staff = Annotated[Principal, Depends(require_roles(*STAFF))]
# Matching searches the whole index, so it is for triage (hub managers) and the referrals service only: a
# practitioner would otherwise learn identifiers of families outside their caseload.
Matcher = Annotated[Principal, Depends(require_roles("service", "hub_manager", "admin"))]


async def _caller(session: SessionDep, principal: Staff) -> Caller:
    return await CasesService(session).caller(principal)


CallerDep = Annotated[Caller, Depends(_caller)]
Idempotent = Annotated[Idempotency, Depends(idempotency(idempotency_keys))]


def parse_ids(raw: str | None, name: str) -> list[uuid.UUID]:
    """Comma-separated UUIDs (at most 100), as the batch lookups take them."""
    if raw is None:
        return []
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if len(parts) > MAX_IDS:
        raise UnprocessableContent(
            f"At most {MAX_IDS} ids per call",
            errors=[field_error(f"#query/{name}", f"at most {MAX_IDS} ids")],
        )
    try:
        return list(dict.fromkeys(uuid.UUID(p) for p in parts))
    except ValueError as exc:
        raise UnprocessableContent(
            "ids must be UUIDs", errors=[field_error(f"#query/{name}", "comma-separated UUIDs")]
        ) from exc


def parse_cursor(cursor: str | None) -> uuid.UUID | None:
    if cursor is None:
        return None
    try:
        return uuid.UUID(cursor)
    except ValueError as exc:
        raise UnprocessableContent("Bad cursor", errors=[field_error("#query/cursor", "not a cursor")]) from exc


def framework_client(request: Request) -> FrameworkClient:
    client: FrameworkClient = request.app.state.frameworks
    return client


# --- people -----------------------------------------------------------------------------------------------


@router.post("/people/match", summary="Exact and scored candidate matches from the person index")
async def match_people(body: MatchRequest, session: SessionDep, principal: Matcher, request: Request) -> MatchResult:
    limit = request.app.state.settings.match_candidate_limit
    return await CasesService(session).match_people(body, actor=principal, limit=limit)


@router.get("/people", summary="People by id (batch)")
async def people(session: SessionDep, caller: CallerDep, ids: str = Query(...)) -> Page[PersonRead]:
    return Page(items=await CasesService(session).people(parse_ids(ids, "ids"), caller))


@router.post("/people", status_code=status.HTTP_201_CREATED, summary="Add a person to the index")
async def create_person(
    body: PersonCreate, session: SessionDep, caller: CallerDep, idempotent: Idempotent
) -> PersonRead:
    return await idempotent.run(PersonRead, lambda: CasesService(session).create_person(body, caller))


@router.post(
    "/people/{person_id}/merge",
    status_code=status.HTTP_201_CREATED,
    summary="Merge a duplicate into this person",
)
async def merge_person(
    person_id: uuid.UUID, body: MergeRequest, session: SessionDep, caller: CallerDep, idempotent: Idempotent
) -> MergeRead:
    return await idempotent.run(MergeRead, lambda: CasesService(session).merge(person_id, body, caller))


@router.post("/people/merges/{merge_id}/undo", summary="Undo a merge")
async def undo_merge(merge_id: uuid.UUID, body: UnmergeRequest, session: SessionDep, caller: CallerDep) -> MergeRead:
    merge = await CasesService(session).unmerge(merge_id, body, caller)
    return MergeRead.model_validate(merge, from_attributes=True)


@router.get("/people/{person_id}/merges", summary="Merge history of a person")
async def merges(person_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Page[MergeRead]:
    found = await CasesService(session).merges_of(person_id, caller)
    return Page(items=[MergeRead.model_validate(m, from_attributes=True) for m in found])


# --- hubs and workers ---


@router.get("/hubs", summary="The hubs this service serves")
async def hubs(session: SessionDep, caller: CallerDep) -> Page[HubRead]:
    return Page(items=[HubRead(code=h.code, name=h.name) for h in await CasesService(session).hubs()])


@router.put("/hubs/{code}", summary="Define or rename a hub (admin)")
async def put_hub(
    code: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{1,39}$")],
    body: HubPut,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles("admin"))],
) -> HubRead:
    hub = await CasesService(session).put_hub(code, body.name, principal)
    return HubRead(code=hub.code, name=hub.name)


# --- workers ----------------------------------------------------------------------------------------------


@router.get("/workers", summary="Workers by id (batch)")
async def workers(session: SessionDep, caller: CallerDep, ids: str = Query(...)) -> Page[WorkerRead]:
    found = await CasesService(session).workers(parse_ids(ids, "ids"), caller)
    return Page(items=[WorkerRead.model_validate(w, from_attributes=True) for w in found])


@router.get("/workers/me", summary="The caller's own worker record (by token subject)")
async def my_worker(session: SessionDep, caller: CallerDep) -> WorkerRead:
    if caller.worker_id is None:
        raise NotFound("You have no active worker record in this service")
    found = await CasesService(session).workers([caller.worker_id], caller)
    if not found:
        raise NotFound("You have no active worker record in this service")
    return WorkerRead.model_validate(found[0], from_attributes=True)


@router.post("/workers", status_code=status.HTTP_201_CREATED, summary="Add a worker to a hub")
async def create_worker(
    body: WorkerCreate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles("hub_manager", "admin"))],
    idempotent: Idempotent,
) -> WorkerRead:
    service = CasesService(session)

    async def create() -> Worker:
        return await service.create_worker(body, await service.caller(principal))

    return await idempotent.run(WorkerRead, create)


@router.get("/workers/{worker_id}/caseload", summary="A worker's current cases against their cap")
async def caseload(worker_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> CaseloadRead:
    worker, rows = await CasesService(session).caseload(worker_id, caller)
    return CaseloadRead(
        worker_id=worker.id,
        caseload_cap=worker.caseload_cap,
        current=len(rows),
        at_cap=len(rows) >= worker.caseload_cap,
        cases=[
            CaseloadItem(case_id=c.id, family_id=c.family_id, hub=c.hub, status=c.status, assigned_at=a.assigned_at)
            for a, c in rows
        ],
    )


# --- families ---------------------------------------------------------------------------------------------


@router.get("/families", summary="Families by id (batch) or filtered, members inline")
async def families(
    session: SessionDep,
    caller: CallerDep,
    ids: str | None = None,
    person_ids: Annotated[
        str | None, Query(description="Comma-separated person ids: the families they are current members of")
    ] = None,
    hub: str | None = None,
    lead_worker_id: uuid.UUID | None = None,
    case_status: str | None = None,
    need: str | None = None,
    eligible: bool | None = None,
    limit: int = Query(50, ge=1, le=100),
    cursor: str | None = None,
) -> Page[FamilyRead]:
    service = CasesService(session)
    if ids is not None:
        return Page(items=await service.families(parse_ids(ids, "ids"), caller))
    items = await service.list_families(
        caller,
        after=parse_cursor(cursor),
        limit=limit,
        hub=hub,
        lead_worker_id=lead_worker_id,
        case_status=case_status,
        need=need,
        eligible=eligible,
        person_ids=parse_ids(person_ids, "person_ids") if person_ids is not None else None,
    )
    return Page(items=items, next_cursor=str(items[-1].id) if len(items) == limit else None)


@router.post("/families", status_code=status.HTTP_201_CREATED, summary="Create a family with its members")
async def create_family(
    body: FamilyCreate, session: SessionDep, caller: CallerDep, idempotent: Idempotent
) -> FamilyRead:
    return await idempotent.run(FamilyRead, lambda: CasesService(session).create_family(body, caller))


@router.get("/families/{family_id}", summary="One family, members inline")
async def family(family_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> FamilyRead:
    return await CasesService(session).family(family_id, caller)


@router.post("/families/{family_id}/members", status_code=status.HTTP_201_CREATED, summary="A member joins")
async def add_member(
    family_id: uuid.UUID, body: MemberCreate, session: SessionDep, caller: CallerDep, idempotent: Idempotent
) -> FamilyRead:
    return await idempotent.run(FamilyRead, lambda: CasesService(session).add_member(family_id, body, caller))


@router.post("/families/{family_id}/members/{member_id}/leave", summary="A member leaves")
async def member_leaves(
    family_id: uuid.UUID, member_id: uuid.UUID, body: MemberLeave, session: SessionDep, caller: CallerDep
) -> FamilyRead:
    return await CasesService(session).member_leaves(family_id, member_id, body, caller)


@router.post(
    "/families/{family_id}/relationships",
    status_code=status.HTTP_201_CREATED,
    summary="Record a relationship",
)
async def add_relationship(
    family_id: uuid.UUID, body: RelationshipCreate, session: SessionDep, caller: CallerDep, idempotent: Idempotent
) -> FamilyRead:
    return await idempotent.run(FamilyRead, lambda: CasesService(session).add_relationship(family_id, body, caller))


# --- cases ------------------------------------------------------------------------------------------------


@router.get("/cases", summary="Cases by id or by family id (batch)")
async def cases(
    session: SessionDep, caller: CallerDep, ids: str | None = None, family_ids: str | None = None
) -> Page[CaseRead]:
    if (ids is None) == (family_ids is None):
        raise UnprocessableContent("Give ids or family_ids", errors=[field_error("#query/ids", "ids or family_ids")])
    service = CasesService(session)
    if ids is not None:
        return Page(items=await service.cases(caller, ids=parse_ids(ids, "ids")))
    return Page(items=await service.cases(caller, family_ids=parse_ids(family_ids, "family_ids")))


@router.post("/cases", status_code=status.HTTP_201_CREATED, summary="Open a case for a family (hub manager)")
async def open_case(
    body: CaseCreate, session: SessionDep, caller: CallerDep, response: Response, idempotent: Idempotent
) -> CaseRead:
    case = await idempotent.run(CaseRead, lambda: CasesService(session).open_case(body, caller))
    response.headers["ETag"] = f'"case-{case.version}"'
    return case


@router.get("/cases/{case_id}", summary="One case")
async def case(case_id: uuid.UUID, session: SessionDep, caller: CallerDep, response: Response) -> CaseRead:
    found = await CasesService(session).case(case_id, caller)
    response.headers["ETag"] = f'"case-{found.version}"'
    return found


@router.post("/cases/{case_id}/lead-worker", status_code=status.HTTP_201_CREATED, summary="Assign the lead worker")
async def assign_lead_worker(
    case_id: uuid.UUID, body: LeadWorkerAssign, session: SessionDep, caller: CallerDep, idempotent: Idempotent
) -> LeadWorkerAssignmentRead:
    return await idempotent.run(
        LeadWorkerAssignmentRead, lambda: CasesService(session).assign_lead_worker(case_id, body, caller)
    )


@router.get("/cases/{case_id}/lead-worker/history", summary="Lead worker assignments, oldest first")
async def lead_worker_history(
    case_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> Page[LeadWorkerAssignmentRead]:
    found = await CasesService(session).lead_worker_history(case_id, caller)
    return Page(items=[LeadWorkerAssignmentRead.model_validate(a, from_attributes=True) for a in found])


@router.post("/cases/{case_id}/assessment", status_code=status.HTTP_201_CREATED, summary="Whole-family assessment")
async def record_assessment(
    case_id: uuid.UUID,
    body: AssessmentCreate,
    session: SessionDep,
    caller: CallerDep,
    frameworks: Annotated[FrameworkClient, Depends(framework_client)],
    idempotent: Idempotent,
) -> AssessmentRead:
    service = CasesService(session)

    async def record() -> AssessmentRead:
        await service.visible_case(case_id, caller, for_update=False)  # 404 before calling outcomes
        assessment = await service.record_assessment(case_id, body, caller, await frameworks.active())
        return _assessment_read(assessment)

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
async def get_plan(case_id: uuid.UUID, session: SessionDep, caller: CallerDep, response: Response) -> PlanRead:
    plan, reviews = await CasesService(session).plan(case_id, caller)
    response.headers["ETag"] = plan_etag(plan)
    return PlanRead.model_validate(plan, from_attributes=True).model_copy(update={"reviews": reviews})


@router.put("/cases/{case_id}/plan", summary="Write a new version of the plan (If-Match required once a plan exists)")
async def put_plan(
    case_id: uuid.UUID,
    body: PlanUpdate,
    session: SessionDep,
    caller: CallerDep,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> PlanRead:
    weeks = request.app.state.settings.plan_review_weeks
    plan = await CasesService(session).update_plan(case_id, body, caller, if_match=if_match, review_weeks=weeks)
    response.headers["ETag"] = plan_etag(plan)
    return PlanRead.model_validate(plan, from_attributes=True)


@router.get("/plans", summary="Active plans by case id (batch), reviews inline")
async def plans(session: SessionDep, caller: CallerDep, case_ids: str = Query(...)) -> Page[PlanRead]:
    return Page(items=await CasesService(session).plans(parse_ids(case_ids, "case_ids"), caller))


@router.post("/cases/{case_id}/reviews", status_code=status.HTTP_201_CREATED, summary="Record a plan review")
async def record_review(
    case_id: uuid.UUID,
    body: ReviewCreate,
    session: SessionDep,
    caller: CallerDep,
    request: Request,
    idempotent: Idempotent,
) -> ReviewRead:
    weeks = request.app.state.settings.plan_review_weeks

    return await idempotent.run(
        ReviewRead, lambda: CasesService(session).record_review(case_id, body, caller, review_weeks=weeks)
    )


@router.post("/cases/{case_id}/contacts", status_code=status.HTTP_201_CREATED, summary="Record a contact or note")
async def add_contact(
    case_id: uuid.UUID, body: ContactCreate, session: SessionDep, caller: CallerDep, idempotent: Idempotent
) -> ContactRead:
    return await idempotent.run(ContactRead, lambda: CasesService(session).add_contact(case_id, body, caller))


@router.get("/cases/{case_id}/contacts", summary="Contacts of a case (sensitive ones for the lead and managers)")
async def case_contacts(case_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Page[ContactRead]:
    service = CasesService(session)
    await service.visible_case(case_id, caller, for_update=False)  # 404 for a case the caller cannot see
    found = await service.contacts([case_id], caller)
    return Page(items=[ContactRead.model_validate(c, from_attributes=True) for c in found])


@router.get("/contacts", summary="Contacts by case id (batch)")
async def contacts(session: SessionDep, caller: CallerDep, case_ids: str = Query(...)) -> Page[ContactRead]:
    found = await CasesService(session).contacts(parse_ids(case_ids, "case_ids"), caller)
    return Page(items=[ContactRead.model_validate(c, from_attributes=True) for c in found])


@router.post("/cases/{case_id}/close", summary="Close a case with its outcome")
async def close_case(
    case_id: uuid.UUID,
    body: CaseClose,
    session: SessionDep,
    caller: CallerDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> CaseRead:
    closed = await CasesService(session).close_case(case_id, body, caller, if_match=if_match)
    response.headers["ETag"] = f'"case-{closed.version}"'
    return closed
