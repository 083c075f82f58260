"""HTTP endpoints of families: thin handlers over `FamiliesService`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from cases.deps import CallerDep, FamiliesServiceDep, Idempotent
from cases.families.schemas import FamilyCreate, FamilyRead, MemberCreate, MemberLeave, RelationshipCreate
from cases.schemas import KeysetPage
from shared.fields import CODE_LENGTH, CURSOR_LENGTH, IDS_LENGTH, NAME_LENGTH
from shared.ids import parse_ids
from shared.pagination import AFTER, BEFORE, FROM_END, Window

router = APIRouter(prefix="/v1", tags=["cases"])


@router.get("/families", summary="Families by id (batch) or filtered, members inline")
async def families(
    families: FamiliesServiceDep,
    caller: CallerDep,
    ids: Annotated[str | None, Query(max_length=IDS_LENGTH)] = None,
    person_ids: Annotated[
        str | None,
        Query(
            max_length=IDS_LENGTH, description="Comma-separated person ids: the families they are current members of"
        ),
    ] = None,
    hub: Annotated[str | None, Query(max_length=NAME_LENGTH)] = None,
    lead_worker_id: uuid.UUID | None = None,
    case_status: Annotated[str | None, Query(max_length=CODE_LENGTH)] = None,
    need: Annotated[str | None, Query(max_length=CODE_LENGTH)] = None,
    eligible: bool | None = None,
    limit: int = Query(50, ge=1, le=100),
    cursor: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=AFTER)] = None,
    before: Annotated[str | None, Query(max_length=CURSOR_LENGTH, description=BEFORE)] = None,
    from_end: Annotated[bool, Query(description=FROM_END)] = False,
) -> KeysetPage[FamilyRead]:
    if ids is not None:
        found = await families.families(parse_ids(ids, "ids"), caller)
        return KeysetPage(items=found, has_previous=False, cursors=[])  # a batch lookup: not a page
    page = await families.list_families(
        caller,
        window=Window.of(limit=limit, after=cursor, before=before, from_end=from_end, parsers=(uuid.UUID,)),
        hub=hub,
        lead_worker_id=lead_worker_id,
        case_status=case_status,
        need=need,
        eligible=eligible,
        person_ids=parse_ids(person_ids, "person_ids") if person_ids is not None else None,
    )
    return KeysetPage(items=page.rows, **page.links(lambda family: (family.id,)))


@router.post("/families", status_code=status.HTTP_201_CREATED, summary="Create a family with its members")
async def create_family(
    body: FamilyCreate, families: FamiliesServiceDep, caller: CallerDep, idempotent: Idempotent
) -> FamilyRead:
    return await idempotent.run(FamilyRead, lambda: families.create_family(body, caller))


@router.get("/families/{family_id}", summary="One family, members inline")
async def family(family_id: uuid.UUID, families: FamiliesServiceDep, caller: CallerDep) -> FamilyRead:
    return await families.family(family_id, caller)


@router.post("/families/{family_id}/members", status_code=status.HTTP_201_CREATED, summary="A member joins")
async def add_member(
    family_id: uuid.UUID, body: MemberCreate, families: FamiliesServiceDep, caller: CallerDep, idempotent: Idempotent
) -> FamilyRead:
    return await idempotent.run(FamilyRead, lambda: families.add_member(family_id, body, caller))


@router.post("/families/{family_id}/members/{member_id}/leave", summary="A member leaves")
async def member_leaves(
    family_id: uuid.UUID, member_id: uuid.UUID, body: MemberLeave, families: FamiliesServiceDep, caller: CallerDep
) -> FamilyRead:
    return await families.member_leaves(family_id, member_id, body, caller)


@router.post(
    "/families/{family_id}/relationships",
    status_code=status.HTTP_201_CREATED,
    summary="Record a relationship",
)
async def add_relationship(
    family_id: uuid.UUID,
    body: RelationshipCreate,
    families: FamiliesServiceDep,
    caller: CallerDep,
    idempotent: Idempotent,
) -> FamilyRead:
    return await idempotent.run(FamilyRead, lambda: families.add_relationship(family_id, body, caller))
